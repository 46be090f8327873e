package io.github.pgflowchat.db;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * JSON the gateway reads back from PostgreSQL (jsonb selected as text, NOTIFY payloads). It was written as JSON, so
 * text that does not parse is a broken invariant, not bad input.
 */
public final class StoredJson {

    private StoredJson() {
    }

    public static JsonNode read(ObjectMapper json, String text, String what) {
        try {
            return json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(what + " is not JSON", e);
        }
    }
}
