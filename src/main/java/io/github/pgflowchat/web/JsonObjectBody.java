package io.github.pgflowchat.web;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;

/**
 * Reads a request body that must be exactly one JSON object. Anything after the object ({@code {...} x},
 * {@code {...}{...}}) is refused rather than ignored: what the client meant is not clear, so nothing is done.
 */
public final class JsonObjectBody {

    private final ObjectReader reader;

    public JsonObjectBody(ObjectMapper json) {
        this.reader = json.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    }

    /** The body's object, or 400 {@code invalid_json}. */
    public JsonNode parse(String body) {
        if (body == null || body.isBlank()) {
            throw ApiException.badRequest("invalid_json", "The request body is empty; send a JSON object.");
        }
        JsonNode root;
        try {
            root = reader.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("invalid_json", "The request body is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw ApiException.badRequest("invalid_json", "The request body must be a JSON object.");
        }
        return root;
    }
}
