package io.github.pgflowchat.support;

import com.fasterxml.jackson.databind.JsonNode;

/** One SSE event as received: its id (null for [DONE]), its raw data, and the data parsed as JSON (null for [DONE]). */
public record SseEvent(String id, String data, JsonNode json) {

    public String type() {
        return json == null ? data : json.path("type").asText();
    }
}
