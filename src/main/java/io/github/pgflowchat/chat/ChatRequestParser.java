package io.github.pgflowchat.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.chat.ChatRequest.ChatTurn;
import io.github.pgflowchat.web.ApiException;
import io.github.pgflowchat.web.JsonContentType;

/**
 * Reads and checks a {@code POST /api/chat} body. Unknown fields, part types and metadata are ignored as the AI SDK
 * adds them freely; anything the pipeline cannot run on is refused before a run exists.
 */
@Component("chatRequestParser")
public class ChatRequestParser {

    private static final Set<String> TRIGGERS = Set.of("submit-message", "regenerate-message");
    private static final Set<String> ROLES = Set.of("system", "user", "assistant");
    private static final int MAX_ID_LENGTH = 200;
    private static final int MAX_HISTORY_TURNS = 10;

    private final ObjectMapper json;
    private final int maxMessageChars;
    private final int maxMessages;

    public ChatRequestParser(ObjectMapper json, @Value("${gateway.chat.max-message-chars}") int maxMessageChars,
                             @Value("${gateway.chat.limits.max-messages}") int maxMessages) {
        this.json = json;
        this.maxMessageChars = maxMessageChars;
        this.maxMessages = maxMessages;
    }

    public ChatRequest parse(String contentType, String body) {
        if (!JsonContentType.matches(contentType)) {
            throw new ApiException(415, "unsupported_media_type", "Send the chat request as JSON with Content-Type: application/json.");
        }
        JsonNode root = readJson(body);
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
        if (question.text().codePointCount(0, question.text().length()) > maxMessageChars) {
            throw new ApiException(413, "message_too_long", "The message has more than " + maxMessageChars + " characters.");
        }
        List<ChatTurn> history = turns.subList(Math.max(0, questionIndex - MAX_HISTORY_TURNS), questionIndex).stream()
                .filter(t -> !t.text().isBlank())
                .toList();
        return new ChatRequest(chatId, trigger, messageId, question, history);
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
        String id = message.path("id").isTextual() ? message.path("id").asText() : null;
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

    private JsonNode readJson(String body) {
        if (body == null || body.isBlank()) {
            throw ApiException.badRequest("invalid_json", "The request body is empty; send the chat request as JSON.");
        }
        try {
            JsonNode root = json.readTree(body);
            if (root == null || !root.isObject()) {
                throw ApiException.badRequest("invalid_json", "The request body must be a JSON object.");
            }
            return root;
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("invalid_json", "The request body is not valid JSON: " + e.getOriginalMessage());
        }
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
        String value = textField(root, field);
        if (value.isBlank() || value.length() > MAX_ID_LENGTH || value.chars().anyMatch(Character::isISOControl)) {
            throw ApiException.badRequest("invalid_" + field.toLowerCase(), field + " must be 1 to " + MAX_ID_LENGTH + " printable characters.");
        }
        return value;
    }
}
