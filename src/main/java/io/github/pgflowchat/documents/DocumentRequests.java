package io.github.pgflowchat.documents;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.web.ApiException;
import io.github.pgflowchat.web.JsonContentType;
import io.github.pgflowchat.web.JsonObjectBody;

/**
 * {@code POST /api/documents}: {@code {"source", "title"?, "content"}} with Markdown or plain text content. The
 * document is chunked by section and replaces an earlier version from the same source. {@code GET
 * /api/documents/{documentId}}: one of those sections, as a search result cites it.
 */
@Component("documentRequests")
public class DocumentRequests {

    static final int MAX_SOURCE_CHARS = 300;
    static final int MAX_CONTENT_CHARS = 1_000_000;

    private final JsonObjectBody bodies;
    private final DocumentIndex index;

    public DocumentRequests(ObjectMapper json, DocumentIndex index) {
        this.bodies = new JsonObjectBody(json);
        this.index = index;
    }

    public Map<String, Object> index(String contentType, String body) {
        if (!JsonContentType.matches(contentType)) {
            throw new ApiException(415, "unsupported_media_type", "Send the document as JSON with Content-Type: application/json.");
        }
        JsonNode document = bodies.parse(body);
        String source = text(document, "source", MAX_SOURCE_CHARS);
        String title = document.hasNonNull("title") ? text(document, "title", MAX_SOURCE_CHARS) : source;
        String content = text(document, "content", MAX_CONTENT_CHARS);
        int chunks = index.index(source, title, content);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("source", source);
        result.put("chunks", chunks);
        return result;
    }

    /** A search result's {@code documentId}: the row id of one section. */
    public long documentId(String documentId) {
        try {
            return Long.parseLong(documentId);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("invalid_document_id", "The document id must be a number, as in a search result's documentId.");
        }
    }

    /** The section as plain text: where it comes from, its title, then its content. */
    public String section(Map<String, Object> row, long documentId) {
        if (row == null) {
            throw ApiException.notFound("document_not_found", "No document section " + documentId + " is indexed.");
        }
        return row.get("source") + " — " + row.get("title") + "\n\n" + row.get("content");
    }

    private static String text(JsonNode document, String field, int maxChars) {
        JsonNode value = document.get(field);
        if (value == null || !value.isTextual() || value.asText().isBlank()) {
            throw ApiException.badRequest("missing_" + field, "'" + field + "' must be a non-empty string.");
        }
        String text = value.asText();
        if (text.length() > maxChars) {
            throw new ApiException(413, field + "_too_long", "'" + field + "' has more than " + maxChars + " characters.");
        }
        if (text.indexOf('\u0000') >= 0) {
            throw ApiException.badRequest("invalid_" + field, "'" + field + "' contains a NUL character, which cannot be stored.");
        }
        return text;
    }
}
