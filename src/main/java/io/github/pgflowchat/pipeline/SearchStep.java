package io.github.pgflowchat.pipeline;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * The {@code search} step around {@code sql/search_documents.sql}: the question in, ranked results out, each with
 * source, title, snippet, score and the chunk's text (which the respond step quotes).
 */
@Component("searchStep")
public class SearchStep {

    private final int maxResults;

    public SearchStep(@Value("${gateway.search.max-results}") int maxResults) {
        this.maxResults = maxResults;
    }

    /** Named parameters of the search query. */
    public Map<String, Object> parameters(JsonNode input) {
        return Map.of("query", input.path("run").path("question").asText(), "limit", maxResults);
    }

    public Map<String, Object> output(List<Map<String, Object>> rows, String query) {
        List<Map<String, Object>> results = new ArrayList<>();
        for (Map<String, Object> row : rows) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("rank", results.size() + 1);
            result.put("documentId", row.get("id"));
            result.put("source", row.get("source"));
            result.put("title", row.get("title"));
            result.put("snippet", row.get("snippet"));
            result.put("score", ((Number) row.get("score")).doubleValue());
            result.put("content", row.get("content"));
            results.add(result);
        }
        Map<String, Object> output = new LinkedHashMap<>();
        output.put("query", query);
        output.put("results", results);
        return output;
    }
}
