package io.github.pgflowchat.events;

import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One coarse pgflow event as broadcast by its SQL: {@code event} is the broadcast name ({@code run:started},
 * {@code step:<slug>:completed}, …) and {@code payload} its JSON (event_type, run_id, step_slug, status, output, …).
 */
public record RunEvent(UUID runId, String event, JsonNode payload) {

    public String eventType() {
        return payload.path("event_type").asText(event);
    }

    public String stepSlug() {
        return payload.path("step_slug").asText(null);
    }
}
