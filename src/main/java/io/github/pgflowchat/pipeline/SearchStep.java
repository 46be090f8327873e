package io.github.pgflowchat.pipeline;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.documents.Embeddings;

/**
 * The {@code search} step around {@code sql/search_documents.sql}: the question in (with its embedding), ranked
 * results out, each with source, title, plain-text snippet, score, the ranks each half of the search gave it, and the
 * chunk's text (which the respond step quotes).
 */
@Component("searchStep")
public class SearchStep {

    public enum Mode {
        HYBRID, TEXT, VECTOR
    }

    /**
     * @param maxResults results the step returns
     * @param mode       which halves rank: both fused (hybrid), full text or embeddings alone
     * @param candidates chunks each half ranks before fusion
     * @param rrfK         reciprocal rank fusion's k
     * @param textWeight   how much a full-text rank counts in the fusion
     * @param vectorWeight how much a similarity rank counts in the fusion
     * @param seedCorpus   whether an empty database is given the project's documentation to search
     */
    @ConfigurationProperties("gateway.search")
    public record Properties(int maxResults, Mode mode, int candidates, int rrfK, double textWeight, double vectorWeight,
                             boolean seedCorpus) {
        public Properties {
            if (maxResults < 1 || candidates < maxResults || rrfK < 1 || textWeight < 0 || vectorWeight < 0
                    || textWeight + vectorWeight == 0) {
                throw new IllegalArgumentException("gateway.search: max-results must be at least 1, candidates at least max-results, "
                        + "rrf-k at least 1, and the weights not negative nor both 0");
            }
        }
    }

    private final Properties properties;
    private final Embeddings embeddings;

    public SearchStep(Properties properties, Embeddings embeddings) {
        this.properties = properties;
        this.embeddings = embeddings;
    }

    /** Named parameters of the search query. */
    public Map<String, Object> parameters(JsonNode input) {
        String question = input.path("run").path("question").asText();
        Map<String, Object> parameters = new HashMap<>();
        parameters.put("query", question);
        parameters.put("limit", properties.maxResults());
        parameters.put("candidates", properties.candidates());
        parameters.put("rrfK", properties.rrfK());
        parameters.put("textWeight", properties.mode() == Mode.VECTOR ? 0 : properties.textWeight());
        parameters.put("vectorWeight", properties.mode() == Mode.TEXT ? 0 : properties.vectorWeight());
        // No embedding is computed when only full text ranks: an empty vector matches nothing.
        parameters.put("embedding", properties.mode() == Mode.TEXT ? "{}" : Embeddings.sqlArray(embeddings.embed(question)));
        return parameters;
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
            result.put("score", round(((Number) row.get("score")).doubleValue()));
            result.put("textRank", row.get("text_rank"));
            result.put("vectorRank", row.get("vector_rank"));
            result.put("similarity", row.get("similarity") == null ? null : round(((Number) row.get("similarity")).doubleValue()));
            result.put("content", row.get("content"));
            results.add(result);
        }
        Map<String, Object> output = new LinkedHashMap<>();
        output.put("query", query);
        output.put("results", results);
        return output;
    }

    private static double round(double value) {
        return Double.parseDouble(String.format(Locale.ROOT, "%.4f", value));
    }
}
