package io.github.pgflowchat.pipeline;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.langchain4j.data.message.ChatMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.llm.ModelInfo;
import io.github.pgflowchat.llm.Prompts;
import io.github.pgflowchat.logging.LogSafe;

/**
 * The {@code analyze} step around the analysis model call: builds the prompt from the question and the search
 * snippets, and reads the model's JSON reply (intent, key terms, which sources to use, summary).
 */
@Component("analyzeStep")
public class AnalyzeStep {

    private static final Logger log = LoggerFactory.getLogger(AnalyzeStep.class);
    /** A degraded analysis's summary is the reply; the client shows it as one line under the question. */
    static final int MAX_SUMMARY_CHARS = 500;

    private final ObjectMapper json;
    private final ModelInfo model;
    private final Prompts prompts;

    public AnalyzeStep(ObjectMapper json, ModelInfo model, Prompts prompts) {
        this.json = json;
        this.model = model;
        this.prompts = prompts;
    }

    /**
     * The prompt from the run's input and the ranked results the analysis reads ({@code {"query", "results"}}, as the
     * search step writes them; the route says which dependency's output they are). A mutable list:
     * camel-langchain4j-chat rewrites the messages in place.
     */
    public List<ChatMessage> prompt(JsonNode run, JsonNode results) {
        String question = run.path("question").asText();
        return new ArrayList<>(List.of(prompts.analysisSystem(),
                prompts.analysisUser(question, SearchResults.asSources(results, r -> r.path("snippet").asText()))));
    }

    /**
     * A reply that is not the JSON object asked for (many models answer in prose, whatever the prompt says) is not
     * worth a retry, which would most likely get prose again: it becomes a degraded analysis whose summary is the
     * reply, with no key terms and no choice of sources, so the answer uses all of them.
     */
    public Map<String, Object> output(String reply, JsonNode results) {
        Optional<JsonNode> parsed = readObject(reply);
        if (parsed.isEmpty()) {
            log.warn("The analysis model {} did not reply with a JSON object; its reply becomes the summary: {}",
                    model.describeAnalysis(), LogSafe.prefix(reply));
        }
        JsonNode analysis = parsed.orElse(MissingNode.getInstance());
        int resultCount = results.path("results").size();
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
        output.put("summary", parsed.isPresent() ? analysis.path("summary").asText("") : abbreviate(reply));
        output.put("model", model.describeAnalysis());
        if (parsed.isEmpty()) {
            output.put("degraded", true);
        }
        return output;
    }

    private Optional<JsonNode> readObject(String reply) {
        int start = reply == null ? -1 : reply.indexOf('{');
        int end = reply == null ? -1 : reply.lastIndexOf('}');
        if (start < 0 || end < start) {
            return Optional.empty();
        }
        try {
            return Optional.of(json.readTree(reply.substring(start, end + 1))).filter(JsonNode::isObject);
        } catch (JsonProcessingException e) {
            return Optional.empty();
        }
    }

    private static String abbreviate(String reply) {
        String text = reply == null ? "" : reply.strip();
        return text.length() <= MAX_SUMMARY_CHARS ? text
                : text.substring(0, text.offsetByCodePoints(0, text.codePointCount(0, MAX_SUMMARY_CHARS - 1))) + "…";
    }
}
