package io.github.pgflowchat.chat;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The chunks of the AI SDK UI message stream (v1) this gateway sends, built in one place so their field names
 * match what the {@code ai} package validates ({@code ui-message-chunks.ts}).
 */
public final class UiChunks {

    private UiChunks() {
    }

    public static Map<String, Object> start(String messageId, Map<String, Object> metadata) {
        return chunk("start", "messageId", messageId, "messageMetadata", metadata);
    }

    /** A data part; parts with the same name and id are replaced in place on the client. */
    public static Map<String, Object> data(String name, String id, Object data) {
        return chunk("data-" + name, "id", id, "data", data);
    }

    /** The start of one answer attempt: the client adds a {@code step-start} part to the message. */
    public static Map<String, Object> startStep() {
        return chunk("start-step");
    }

    public static Map<String, Object> finishStep() {
        return chunk("finish-step");
    }

    /** A document the answer draws on; {@code providerMetadata} is keyed by provider, then by field. */
    public static Map<String, Object> sourceDocument(String sourceId, String mediaType, String title, String filename,
                                                     Map<String, Map<String, Object>> providerMetadata) {
        return chunk("source-document", "sourceId", sourceId, "mediaType", mediaType, "title", title, "filename", filename,
                "providerMetadata", providerMetadata);
    }

    public static Map<String, Object> textStart(String id) {
        return chunk("text-start", "id", id);
    }

    public static Map<String, Object> textDelta(String id, String delta) {
        return chunk("text-delta", "id", id, "delta", delta);
    }

    public static Map<String, Object> textEnd(String id) {
        return chunk("text-end", "id", id);
    }

    public static Map<String, Object> finish(String finishReason, Map<String, Object> metadata) {
        return chunk("finish", "finishReason", finishReason, "messageMetadata", metadata);
    }

    public static Map<String, Object> error(String errorText) {
        return chunk("error", "errorText", errorText);
    }

    private static Map<String, Object> chunk(String type, Object... fields) {
        Map<String, Object> chunk = new LinkedHashMap<>();
        chunk.put("type", type);
        for (int i = 0; i < fields.length; i += 2) {
            if (fields[i + 1] != null) {
                chunk.put((String) fields[i], fields[i + 1]);
            }
        }
        return chunk;
    }
}
