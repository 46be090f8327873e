package io.github.pgflowchat.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import io.github.pgflowchat.llm.ModelInfo;
import io.github.pgflowchat.llm.Prompts;

class AnalyzeStepTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final AnalyzeStep step = new AnalyzeStep(JSON, new ModelInfo("openai-compatible", "answerer", "analyser"),
            Prompts.bundled());

    private static JsonNode input() throws Exception {
        return JSON.readTree("{\"query\":\"q\",\"results\":[{\"rank\":1},{\"rank\":2}]}");
    }

    @Test
    void aJsonReplyIsReadWithItsSourcesCheckedAgainstTheResults() throws Exception {
        Map<String, Object> output = step.output(
                "Sure: {\"intent\":\"lookup\",\"keyTerms\":[\"a\"],\"sources\":[2, 7, 2],\"summary\":\"Wants a.\"}", input());

        assertThat(output).containsEntry("intent", "lookup").containsEntry("sources", List.of(2))
                .containsEntry("summary", "Wants a.").containsEntry("model", "openai-compatible:analyser")
                .doesNotContainKey("degraded");
    }

    @Test
    void proseBecomesADegradedAnalysisWhoseSummaryIsTheReply() throws Exception {
        Map<String, Object> output = step.output("  The user wants to know how to run the tests.\n", input());

        assertThat(output).containsEntry("intent", "other").containsEntry("keyTerms", List.of())
                .containsEntry("sources", List.of()).containsEntry("summary", "The user wants to know how to run the tests.")
                .containsEntry("model", "openai-compatible:analyser").containsEntry("degraded", true);
    }

    @Test
    void malformedJsonAndNonObjectsAndLongRepliesDegradeToo() throws Exception {
        assertThat(step.output("{\"intent\": \"how-to\", oops}", input())).containsEntry("degraded", true)
                .containsEntry("summary", "{\"intent\": \"how-to\", oops}");
        assertThat(step.output("[1, 2]", input())).containsEntry("degraded", true);
        assertThat(step.output(null, input())).containsEntry("degraded", true).containsEntry("summary", "");

        String summary = (String) step.output("word ".repeat(1000), input()).get("summary");
        assertThat(summary).hasSize(AnalyzeStep.MAX_SUMMARY_CHARS).endsWith("…");
    }
}
