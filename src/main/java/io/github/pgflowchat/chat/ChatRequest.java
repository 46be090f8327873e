package io.github.pgflowchat.chat;

import java.util.List;

/**
 * What the gateway takes from the body {@code DefaultChatTransport} sends: the chat id, the trigger, and the
 * conversation reduced to text. Only the last user message starts work; earlier turns are context.
 */
public record ChatRequest(String chatId, String trigger, String messageId, ChatTurn question, List<ChatTurn> history) {

    public record ChatTurn(String id, String role, String text) {
    }
}
