package io.github.pgflowchat.chat;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What the gateway takes from the body {@code DefaultChatTransport} sends: the chat id, the trigger, and the
 * conversation reduced to text. Only the last user message starts work; earlier turns are context. The question is
 * kept as sent too ({@code questionMessage}), to be stored in its conversation.
 */
public record ChatRequest(String chatId, String trigger, String messageId, ChatTurn question, List<ChatTurn> history,
                          JsonNode questionMessage) {

    public record ChatTurn(String id, String role, String text) {
    }
}
