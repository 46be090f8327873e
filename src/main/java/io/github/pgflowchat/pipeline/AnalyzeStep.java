package io.github.pgflowchat.pipeline;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.llm.ModelInfo;
import io.github.pgflowchat.llm.Prompts;

/**
 * The {@code analyze} step around the analysis model call: builds the prompt from the question and the search
 * snippets, and checks the model's JSON reply (intent, key terms, which sources to use, summary).
 */
@Component("analyzeStep")
public class AnalyzeStep {

    private final ObjectMapper json;
    private final ModelInfo model;

    public AnalyzeStep(ObjectMapper json, ModelInfo model) {
        this.json = json;
        this.model = model;
    }

    /** A mutable list: camel-langchain4j-chat rewrites the messages in place. */
    public List<ChatMessage> prompt(JsonNode input) {
        String question = input.path("run").path("question").asText();
        return new ArrayList<>(List.of(SystemMessage.from(Prompts.ANALYSIS_SYSTEM),
                UserMessage.from(Prompts.userMessage(question, SearchResults.asSources(input.path("search"), r -> r.path("snippet").asText())))));
    }

    /** A reply that is not the JSON asked for fails the attempt, so pgflow retries it. */
    public Map<String, Object> output(String reply, JsonNode input) {
        JsonNode analysis = readObject(reply);
        int resultCount = input.path("search").path("results").size();
        List<Integer> sources = new ArrayList<>();
        for (JsonNode number : analysis.path("sources")) {
            if (number.canConvertToInt() && number.asInt() >= 1 && number.asInt() <= resultCount && !sources.contains(number.asInt())) {
                sources.add(number.asInt());
            }
        }
        List<String> keyTerms = new ArrayList<>();
        analysis.path("keyTerms").forEach(term -> keyTerms.add(term.asText()));
        Map<String, Object> output = new LinkedHashMap<>();
        output.put("intent", analysis.path("intent").asText("other"));
        output.put("keyTerms", keyTerms);
        output.put("sources", sources);
        output.put("summary", analysis.path("summary").asText(""));
        output.put("model", model.describe());
        return output;
    }

    private JsonNode readObject(String reply) {
        int start = reply == null ? -1 : reply.indexOf('{');
        int end = reply == null ? -1 : reply.lastIndexOf('}');
        if (start < 0 || end < start) {
            throw new IllegalStateException("the analysis model did not reply with a JSON object: " + abbreviate(reply));
        }
        try {
            return json.readTree(reply.substring(start, end + 1));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the analysis model replied with malformed JSON: " + abbreviate(reply), e);
        }
    }

    private static String abbreviate(String text) {
        return text == null ? "(nothing)" : text.length() > 200 ? text.substring(0, 200) + "…" : text;
    }
}
