package io.github.pgflowchat.chat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds the assistant's UIMessage from the chunks of its stream, part by part, the way the AI SDK's client does
 * ({@code process-ui-message-stream.ts}): {@code start-step} adds a {@code step-start} part, text chunks make a text
 * part (state {@code streaming} until its end), a data part with an id replaces the earlier one of that type and id,
 * a {@code source-document} becomes a part of its own, and the metadata of {@code start}, {@code message-metadata}
 * and {@code finish} merge. This is what is stored when the stream ends, so a chat read back equals what was streamed.
 */
final class UiMessageAssembler {

    private String id;
    private final Map<String, Object> metadata = new LinkedHashMap<>();
    private final List<Map<String, Object>> parts = new ArrayList<>();
    private final Map<String, Map<String, Object>> openTexts = new HashMap<>();
    private String error;

    @SuppressWarnings("unchecked")
    void accept(Map<String, Object> chunk) {
        String type = (String) chunk.get("type");
        switch (type) {
            case "start" -> {
                id = (String) chunk.get("messageId");
                mergeMetadata(chunk);
            }
            case "start-step" -> parts.add(new LinkedHashMap<>(Map.of("type", "step-start")));
            case "text-start" -> {
                Map<String, Object> text = new LinkedHashMap<>();
                text.put("type", "text");
                text.put("text", new StringBuilder());
                text.put("state", "streaming");
                parts.add(text);
                openTexts.put((String) chunk.get("id"), text);
            }
            case "text-delta" -> {
                Map<String, Object> text = openTexts.get((String) chunk.get("id"));
                if (text != null) {
                    ((StringBuilder) text.get("text")).append((String) chunk.get("delta"));
                }
            }
            case "text-end" -> {
                Map<String, Object> text = openTexts.remove((String) chunk.get("id"));
                if (text != null) {
                    text.put("state", "done");
                }
            }
            case "source-document" -> {
                Map<String, Object> part = new LinkedHashMap<>(chunk);
                parts.add(part);
            }
            case "message-metadata", "finish" -> mergeMetadata(chunk);
            case "error" -> error = (String) chunk.get("errorText");
            default -> {
                if (type.startsWith("data-") && !Boolean.TRUE.equals(chunk.get("transient"))) {
                    data(type, (String) chunk.get("id"), chunk.get("data"));
                }
            }
        }
    }

    private void data(String type, String partId, Object data) {
        if (partId != null) {
            for (Map<String, Object> part : parts) {
                if (type.equals(part.get("type")) && partId.equals(part.get("id"))) {
                    part.put("data", data);
                    return;
                }
            }
        }
        Map<String, Object> part = new LinkedHashMap<>();
        part.put("type", type);
        if (partId != null) {
            part.put("id", partId);
        }
        part.put("data", data);
        parts.add(part);
    }

    @SuppressWarnings("unchecked")
    private void mergeMetadata(Map<String, Object> chunk) {
        Object more = chunk.get("messageMetadata");
        if (more instanceof Map<?, ?> map) {
            metadata.putAll((Map<String, Object>) map);
        }
    }

    /** The message as it stands: id, role, metadata (with the stream's error text, if it ended with one) and parts. */
    Map<String, Object> message() {
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("id", id);
        message.put("role", "assistant");
        Map<String, Object> meta = new LinkedHashMap<>(metadata);
        if (error != null) {
            meta.put("error", error);
        }
        if (!meta.isEmpty()) {
            message.put("metadata", meta);
        }
        List<Map<String, Object>> copies = new ArrayList<>();
        for (Map<String, Object> part : parts) {
            Map<String, Object> copy = new LinkedHashMap<>(part);
            if (copy.get("text") instanceof StringBuilder text) {
                copy.put("text", text.toString());
            }
            copies.add(copy);
        }
        message.put("parts", copies);
        return message;
    }
}
