package io.github.pgflowchat.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * What every successful chat must look like, on the wire and in the database, whichever PostgreSQL or event source
 * carried it: the UI message stream in order, progress parts updated in place, the streamed text equal to the answer
 * pgflow stored, and the run and all its steps completed.
 */
public final class CompletedChat {

    private static final List<String> STEPS = List.of("search", "analyze", "respond");

    private CompletedChat() {
    }

    public static void assertCompleted(ChatClient.StreamResponse response, ChatClient client, JdbcTemplate jdbc) throws Exception {
        assertThat(response.status()).isEqualTo(200);
        assertThat(response.header("content-type")).startsWith("text/event-stream");
        assertThat(response.header("x-vercel-ai-ui-message-stream")).isEqualTo("v1");
        assertThat(response.header("cache-control")).isEqualTo("no-cache");
        assertThat(response.header("x-accel-buffering")).isEqualTo("no");
        assertThat(response.header("x-content-type-options")).as("Spring Security's headers").isEqualTo("nosniff");

        List<SseEvent> events = response.events();
        assertThat(events.get(events.size() - 1).data()).isEqualTo("[DONE]");
        List<SseEvent> chunks = events.subList(0, events.size() - 1);
        for (int i = 0; i < chunks.size(); i++) {
            assertThat(chunks.get(i).id()).as("SSE id of event %d", i).isEqualTo(response.runId().substring(0, 8) + "-" + (i + 1));
        }

        List<String> types = response.types();
        String trace = response.chunks().stream()
                .map(c -> c.path("type").asText() + (c.path("data").has("status") ? "/" + c.path("data").path("step").asText() + ":" + c.path("data").path("status").asText() : ""))
                .toList().toString();
        assertThat(types.get(0)).isEqualTo("start");
        assertThat(types.get(1)).isEqualTo("data-run");
        assertThat(types.get(types.size() - 1)).isEqualTo("finish");
        assertThat(types).doesNotContain("error");
        assertThat(types.indexOf("data-search")).as("chunk order %s", trace).isGreaterThan(1).isLessThan(types.indexOf("data-analysis"));
        assertThat(types.indexOf("data-analysis")).as("chunk order %s", trace).isLessThan(types.indexOf("text-start"));
        assertThat(types.indexOf("text-start")).as("chunk order %s", trace).isLessThan(types.indexOf("text-delta"));
        assertThat(types.lastIndexOf("text-delta")).as("chunk order %s", trace).isLessThan(types.indexOf("text-end"));
        assertThat(response.chunksOfType("text-delta").size()).as("the answer arrives token by token").isGreaterThan(3);

        String runId = response.runId();
        assertThat(response.chunks().get(0).path("messageMetadata").path("runId").asText()).isEqualTo(runId);
        assertThat(response.chunksOfType("finish").get(0).path("messageMetadata").path("runId").asText()).isEqualTo(runId);
        assertThat(response.header("x-pgflow-run-id")).isEqualTo(runId);

        Map<String, List<String>> statusesByStep = new LinkedHashMap<>();
        for (JsonNode part : response.chunksOfType("data-step")) {
            String step = part.path("data").path("step").asText();
            assertThat(part.path("id").asText()).isEqualTo("step-" + step);
            statusesByStep.computeIfAbsent(step, s -> new ArrayList<>()).add(part.path("data").path("status").asText());
        }
        assertThat(statusesByStep.keySet()).containsExactlyElementsOf(STEPS);
        statusesByStep.forEach((step, statuses) ->
                assertThat(statuses).as("progress of %s", step).containsExactly("waiting", "started", "completed"));

        JsonNode search = response.chunksOfType("data-search").get(0).path("data");
        assertThat(search.path("results").size()).isGreaterThan(0);
        for (JsonNode result : search.path("results")) {
            assertThat(result.path("source").asText()).isNotBlank();
            assertThat(result.path("title").asText()).isNotBlank();
            assertThat(result.path("snippet").asText()).isNotBlank();
            assertThat(result.path("score").asDouble()).isPositive();
        }
        JsonNode analysis = response.chunksOfType("data-analysis").get(0).path("data");
        assertThat(analysis.path("intent").asText()).isNotBlank();
        assertThat(analysis.path("keyTerms").size()).isPositive();

        JsonNode run = client.get("/api/runs/" + runId).body();
        assertThat(run.path("status").asText()).isEqualTo("completed");
        assertThat(run.path("steps")).hasSize(3);
        for (int i = 0; i < STEPS.size(); i++) {
            JsonNode step = run.path("steps").get(i);
            assertThat(step.path("step").asText()).isEqualTo(STEPS.get(i));
            assertThat(step.path("status").asText()).isEqualTo("completed");
            assertThat(step.path("attempts").asInt()).isEqualTo(1);
            assertThat(step.path("output").isObject()).isTrue();
        }
        String storedAnswer = run.path("steps").get(2).path("output").path("answer").asText();
        assertThat(response.text()).isEqualTo(storedAnswer).isNotBlank();

        Matcher citation = Pattern.compile("\\[(\\d+)]").matcher(storedAnswer);
        assertThat(citation.find()).as("the answer cites a source: %s", storedAnswer).isTrue();
        int cited = Integer.parseInt(citation.group(1));
        assertThat(search.path("results").findValuesAsText("rank")).contains(String.valueOf(cited));

        assertThat(jdbc.queryForObject("select status from pgflow.runs where run_id = ?::uuid", String.class, runId)).isEqualTo("completed");
        assertThat(jdbc.queryForList("select status from pgflow.step_states where run_id = ?::uuid", String.class, runId))
                .containsOnly("completed").hasSize(3);
        assertThat(jdbc.queryForObject("select output #>> '{respond,answer}' from pgflow.runs where run_id = ?::uuid", String.class, runId))
                .isEqualTo(storedAnswer);
    }
}
