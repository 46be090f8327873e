package io.github.pgflowchat.pgflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.ServiceProcess;

/**
 * kill -9 of the instance that holds a chat and is streaming its answer: the task it was running is handed back once
 * its heartbeat stops, the surviving instance runs it, the run completes, and the answer is stored once.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms",
        "gateway.worker.fallback-poll-interval=200ms",
        "gateway.worker.heartbeat-interval=500ms",
        "gateway.worker.dead-worker-after=2s",
        "gateway.worker.stalled-sweep-interval=500ms"
})
class InstanceKilledMidAnswerTest {

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    EmbeddedPostgres postgres;

    @Autowired
    PgflowWorker worker;

    @Test
    void answerOfAKilledInstanceIsProducedByTheSurvivorAndStoredOnce() throws Exception {
        AtomicInteger tokensSeen = new AtomicInteger();
        AtomicReference<String> runId = new AtomicReference<>();
        UUID killedWorker;
        try (ServiceProcess doomed = ServiceProcess.startOn(postgres, Map.of(
                "gateway.llm.offline.token-delay", "150ms",
                "gateway.worker.heartbeat-interval", "500ms",
                "gateway.worker.dead-worker-after", "2s"))) {
            killedWorker = doomed.workerId();
            ChatClient client = new ChatClient(doomed.port());
            CompletableFuture<ChatClient.StreamResponse> chat = CompletableFuture.supplyAsync(() -> {
                try {
                    return client.postChat(ChatClient.chatBody("chat-killed", "How do I run the tests?"), event -> {
                        if (event.json() == null) {
                            return;
                        }
                        String type = event.json().path("type").asText();
                        if (type.equals("data-run")) {
                            runId.set(event.json().path("data").path("runId").asText());
                        } else if (type.equals("text-delta")) {
                            tokensSeen.incrementAndGet();
                        }
                    });
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            await().atMost(Duration.ofSeconds(30)).until(() -> tokensSeen.get() >= 3);
            assertThat(lastWorker(runId.get(), "respond")).as("the answer streams from the instance holding the chat").isEqualTo(killedWorker);

            doomed.kill();

            assertThat(chat).failsWithin(Duration.ofSeconds(10));
        }

        await().atMost(Duration.ofSeconds(45)).until(() -> "completed".equals(
                jdbc.queryForObject("select status from pgflow.runs where run_id = ?::uuid", String.class, runId.get())));
        List<Map<String, Object>> tasks = jdbc.queryForList("""
                select step_slug, status, attempts_count, last_worker_id, output
                  from pgflow.step_tasks where run_id = ?::uuid order by step_slug""", runId.get());
        assertThat(tasks).extracting(t -> t.get("step_slug")).containsExactly("analyze", "respond", "search");
        assertThat(tasks).allSatisfy(t -> {
            assertThat(t.get("status")).isEqualTo("completed");
            assertThat(t.get("output")).isNotNull();
        });
        Map<String, Object> respond = tasks.get(1);
        assertThat(respond.get("attempts_count")).as("the killed attempt, then the survivor's").isEqualTo(2);
        assertThat(respond.get("last_worker_id")).isEqualTo(worker.workerId());
        String storedAnswer = jdbc.queryForObject("select output ->> 'answer' from pgflow.step_tasks where run_id = ?::uuid and step_slug = 'respond'",
                String.class, runId.get());
        assertThat(storedAnswer).isNotBlank();
        assertThat(jdbc.queryForObject("select output #>> '{respond,answer}' from pgflow.runs where run_id = ?::uuid", String.class, runId.get()))
                .isEqualTo(storedAnswer);
        assertThat(jdbc.queryForObject("select deprecated_at is null and last_heartbeat_at < now() - interval '2 seconds' "
                + "from pgflow.workers where worker_id = ?", Boolean.class, killedWorker)).as("killed, not stopped").isTrue();

        ChatClient.JsonResponse status = new ChatClient(port).get("/api/runs/" + runId.get());
        assertThat(status.body().path("status").asText()).isEqualTo("completed");
        assertThat(status.body().path("steps").get(2).path("output").path("answer").asText()).isEqualTo(storedAnswer);
    }

    private UUID lastWorker(String runId, String step) {
        return jdbc.queryForObject("select last_worker_id from pgflow.step_tasks where run_id = ?::uuid and step_slug = ?", UUID.class, runId, step);
    }
}
