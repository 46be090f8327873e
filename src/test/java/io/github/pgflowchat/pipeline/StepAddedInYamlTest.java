package io.github.pgflowchat.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.CamelContext;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.component.pgflow.PgflowComponent;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.OwnDatabase;

/**
 * A fourth step, rerank, between search and analyze, added with no Java: the service runs with
 * src/test/resources/pipelines/rerank/pipeline.yaml in place of routes/pipeline.yaml (what the README's "Change the
 * pipeline" walkthrough does). The service installs the new shape as a new flow version, chats run it, and a run of the
 * version before it (installed by the migrations) still finishes, on its own three steps. Its database is its own
 * (created afresh, left for the next run to drop): the flow versions it makes are not the other tests' business.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.provider=offline",
        "gateway.llm.offline.token-delay=1ms",
        "gateway.worker.fallback-poll-interval=200ms",
        "gateway.worker.stalled-sweep-interval=500ms",
        "camel.main.routes-include-pattern=classpath:routes/*.yaml,classpath:pipelines/rerank/*.yaml",
        "camel.main.routes-exclude-pattern=**/routes/pipeline.yaml"
})
class StepAddedInYamlTest {

    /** The version routes/pipeline.yaml declares, which supabase/migrations installs. */
    private static final String VERSION_BEFORE = "chat_pipeline_1d6b6613";
    private static final String DATABASE = OwnDatabase.named("step_added");

    @DynamicPropertySource
    static void ownDatabase(DynamicPropertyRegistry registry) throws SQLException {
        OwnDatabase.emptyFor(registry, DATABASE);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    CamelContext camel;

    @Test
    void theChatStreamsFourStepsInOrderAndTheRunShowsFour() throws Exception {
        ChatClient client = new ChatClient(port);
        PgflowComponent pgflow = camel.getComponent("pgflow", PgflowComponent.class);

        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-rerank", "How do I run the tests?"));

        assertThat(response.types()).endsWith("finish");
        assertThat(pgflow.steps("chat_pipeline")).containsExactly("search", "rerank", "analyze", "respond");
        List<String> stepParts = new ArrayList<>();
        response.chunksOfType("data-step").forEach(part -> {
            if (!stepParts.contains(part.path("id").asText())) {
                stepParts.add(part.path("id").asText());
            }
        });
        assertThat(stepParts).containsExactly("step-search", "step-rerank", "step-analyze", "step-respond");
        assertThat(response.chunksOfType("data-step").stream()
                .filter(part -> part.path("id").asText().equals("step-rerank"))
                .map(part -> part.path("data").path("status").asText()))
                .contains("waiting", "started", "completed");

        JsonNode run = client.get("/api/runs/" + response.runId()).body();
        assertThat(run.path("status").asText()).isEqualTo("completed");
        assertThat(run.path("flowSlug").asText()).isEqualTo(pgflow.currentVersion("chat_pipeline")).isNotEqualTo(VERSION_BEFORE);
        List<String> steps = new ArrayList<>();
        run.path("steps").forEach(step -> steps.add(step.path("step").asText()));
        assertThat(steps).containsExactly("search", "rerank", "analyze", "respond");
        JsonNode rerank = run.path("steps").get(1).path("output");
        assertThat(rerank.path("results").size()).isBetween(1, 3);
        assertThat(rerank.path("results").get(0).path("rank").asInt()).isEqualTo(1);
        // The answer drew on the reranked results: its citations are among them.
        List<String> reranked = new ArrayList<>();
        rerank.path("results").forEach(result -> reranked.add(result.path("source").asText()));
        run.path("steps").get(3).path("output").path("citations")
                .forEach(citation -> assertThat(reranked).contains(citation.path("source").asText()));
    }

    @Test
    void aRunOfTheVersionBeforeTheChangeFinishesOnItsOwnThreeSteps() {
        UUID runId = jdbc.queryForObject("select run_id from pgflow.start_flow(?, jsonb_build_object('chatId', 'chat-before',"
                + " 'userId', 'local-user', 'question', 'How do I run the tests?', 'history', '[]'::jsonb))", UUID.class, VERSION_BEFORE);

        await().atMost(Duration.ofSeconds(30)).until(() ->
                !"started".equals(jdbc.queryForObject("select status from pgflow.runs where run_id = ?", String.class, runId)));

        assertThat(jdbc.queryForObject("select status from pgflow.runs where run_id = ?", String.class, runId)).isEqualTo("completed");
        assertThat(jdbc.queryForList("select step_slug from pgflow.step_states where run_id = ? order by step_slug", String.class, runId))
                .containsExactly("analyze", "respond", "search");
        assertThat(jdbc.queryForObject("select output -> 'respond' ->> 'answer' from pgflow.runs where run_id = ?", String.class, runId))
                .isNotBlank();
    }
}
