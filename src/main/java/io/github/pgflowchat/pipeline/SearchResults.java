package io.github.pgflowchat.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.pgflowchat.llm.Prompts;

/** The search step's results as the numbered sources of a prompt; a source's number is its search rank. */
final class SearchResults {

    private SearchResults() {
    }

    static List<Prompts.Source> asSources(JsonNode searchOutput, Function<JsonNode, String> text) {
        List<Prompts.Source> sources = new ArrayList<>();
        for (JsonNode result : searchOutput.path("results")) {
            sources.add(new Prompts.Source(result.path("rank").asInt(), result.path("title").asText(),
                    result.path("source").asText(), result.path("score").asDouble(), text.apply(result)));
        }
        return sources;
    }
}
