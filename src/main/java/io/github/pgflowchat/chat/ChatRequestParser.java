package io.github.pgflowchat.chat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.chat.ChatRequest.ChatTurn;
import io.github.pgflowchat.web.ApiException;
import io.github.pgflowchat.web.JsonContentType;
import io.github.pgflowchat.web.JsonObjectBody;

/**
 * Reads and checks a {@code POST /api/chat} body. Unknown fields, part types and metadata are ignored as the AI SDK
 * adds them freely; anything the pipeline cannot run on is refused before a run exists. Every message counts toward
 * the per-message limit, and only as much of the conversation as fits the context limit is kept for the model.
 */
@Component("chatRequestParser")
public class ChatRequestParser {

    private static final Set<String> TRIGGERS = Set.of("submit-message", "regenerate-message");
    private static final Set<String> ROLES = Set.of("system", "user", "assistant");
    private static final int MAX_ID_LENGTH = 200;
    /** Turns before the question the model gets at most. */
    static final int MAX_HISTORY_TURNS = 10;

    private final JsonObjectBody bodies;
    private final int maxMessageChars;
    private final int maxContextChars;
    private final int maxMessages;

    public ChatRequestParser(ObjectMapper json, @Value("${gateway.chat.max-message-chars}") int maxMessageChars,
                             @Value("${gateway.chat.max-context-chars}") int maxContextChars,
                             @Value("${gateway.chat.limits.max-messages}") int maxMessages) {
        if (maxContextChars < maxMessageChars) {
            throw new IllegalArgumentException("gateway.chat.max-context-chars (" + maxContextChars + ") must be at least "
                    + "gateway.chat.max-message-chars (" + maxMessageChars + "), so that any accepted question fits");
        }
        this.bodies = new JsonObjectBody(json);
        this.maxMessageChars = maxMessageChars;
        this.maxContextChars = maxContextChars;
        this.maxMessages = maxMessages;
    }

    public ChatRequest parse(String contentType, String body) {
        if (!JsonContentType.matches(contentType)) {
            throw new ApiException(415, "unsupported_media_type", "Send the chat request as JSON with Content-Type: application/json.");
        }
        JsonNode root = bodies.parse(body);
        String chatId = requiredId(root, "id", "chat id");
        String trigger = root.hasNonNull("trigger") ? textField(root, "trigger") : "submit-message";
        if (!TRIGGERS.contains(trigger)) {
            throw ApiException.badRequest("invalid_trigger", "trigger must be one of " + TRIGGERS + ", got '" + trigger + "'.");
        }
        String messageId = root.hasNonNull("messageId") ? requiredId(root, "messageId", "message id") : null;
        JsonNode messages = root.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiException.badRequest("missing_messages", "messages must be a non-empty array of chat messages.");
        }
        if (messages.size() > maxMessages) {
            throw new ApiException(413, "too_many_messages", "The request has " + messages.size() + " messages; at most "
                    + maxMessages + " are accepted.");
        }
        List<ChatTurn> turns = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            turns.add(turn(messages.get(i), i));
        }
        ChatTurn question = null;
        int questionIndex = turns.size() - 1;
        for (; questionIndex >= 0; questionIndex--) {
            if ("user".equals(turns.get(questionIndex).role())) {
                question = turns.get(questionIndex);
                break;
            }
        }
        if (question == null || question.text().isBlank()) {
            throw ApiException.badRequest("missing_user_text", "The last user message has no text to answer.");
        }
        return new ChatRequest(chatId, trigger, messageId, question, fitting(question, turns.subList(0, questionIndex)),
                messages.get(questionIndex));
    }

    /**
     * The turns before the question that the model gets: the last {@value #MAX_HISTORY_TURNS} with text, as many of
     * the latest as fit the context limit beside the question.
     */
    public List<ChatTurn> fitting(ChatTurn question, List<ChatTurn> before) {
        List<ChatTurn> earlier = before.subList(Math.max(0, before.size() - MAX_HISTORY_TURNS), before.size()).stream()
                .filter(t -> !t.text().isBlank())
                .toList();
        return fittingHistory(question, earlier);
    }

    /** The latest of {@code earlier} turns that fit the context limit beside the question, oldest dropped first. */
    private List<ChatTurn> fittingHistory(ChatTurn question, List<ChatTurn> earlier) {
        int left = maxContextChars - characters(question.text());
        Deque<ChatTurn> kept = new ArrayDeque<>();
        for (int i = earlier.size() - 1; i >= 0 && characters(earlier.get(i).text()) <= left; i--) {
            left -= characters(earlier.get(i).text());
            kept.addFirst(earlier.get(i));
        }
        return List.copyOf(kept);
    }

    /** Characters as a user counts them: code points, so an emoji is one. */
    private static int characters(String text) {
        return text.codePointCount(0, text.length());
    }

    private ChatTurn turn(JsonNode message, int index) {
        String where = "messages[" + index + "]";
        if (!message.isObject()) {
            throw ApiException.badRequest("invalid_message", where + " must be an object.");
        }
        JsonNode role = message.get("role");
        if (role == null || !role.isTextual() || !ROLES.contains(role.asText())) {
            throw ApiException.badRequest("invalid_message", where + ".role must be one of " + ROLES + ".");
        }
        JsonNode parts = message.get("parts");
        if (parts == null || !parts.isArray()) {
            throw ApiException.badRequest("invalid_message", where + ".parts must be an array.");
        }
        StringBuilder text = new StringBuilder();
        for (JsonNode part : parts) {
            if (part.isObject() && "text".equals(part.path("type").asText()) && part.get("text") != null) {
                if (!part.get("text").isTextual()) {
                    throw ApiException.badRequest("invalid_message", where + " has a text part whose text is not a string.");
                }
                if (part.get("text").asText().indexOf('\u0000') >= 0) {
                    throw ApiException.badRequest("invalid_message", where + " contains a NUL character, which cannot be stored.");
                }
                if (hasUnpairedSurrogate(part.get("text").asText())) {
                    // UTF-8 cannot encode half a surrogate pair: stored, it would silently become '?'.
                    throw ApiException.badRequest("invalid_message", where + " contains an unpaired UTF-16 surrogate (\\ud800-\\udfff), which is not text.");
                }
                text.append(part.get("text").asText());
            }
        }
        if (characters(text.toString()) > maxMessageChars) {
            throw new ApiException(413, "message_too_long", where + " has more than " + maxMessageChars + " characters.");
        }
        String id = message.hasNonNull("id") ? checkedId(message, "id", where + ".id", "invalid_message") : null;
        return new ChatTurn(id, role.asText(), text.toString());
    }

    private static boolean hasUnpairedSurrogate(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    private static String textField(JsonNode root, String field) {
        JsonNode value = root.get(field);
        if (!value.isTextual()) {
            throw ApiException.badRequest("invalid_field", field + " must be a string.");
        }
        return value.asText();
    }

    private static String requiredId(JsonNode root, String field, String what) {
        if (!root.hasNonNull(field)) {
            throw ApiException.badRequest("missing_" + field.toLowerCase(), "The request has no " + what + " ('" + field + "').");
        }
        return checkedId(root, field, field, "invalid_" + field.toLowerCase());
    }

    /** Ids are stored and echoed in headers and SSE: printable text only, no control characters, no half pairs. */
    private static String checkedId(JsonNode node, String field, String where, String code) {
        JsonNode value = node.get(field);
        if (!value.isTextual()) {
            throw ApiException.badRequest("invalid_field", where + " must be a string.");
        }
        if (value.asText().isBlank() || value.asText().length() > MAX_ID_LENGTH
                || value.asText().chars().anyMatch(Character::isISOControl) || hasUnpairedSurrogate(value.asText())) {
            throw ApiException.badRequest(code, where + " must be a string of 1 to " + MAX_ID_LENGTH + " printable characters.");
        }
        return value.asText();
    }
}
