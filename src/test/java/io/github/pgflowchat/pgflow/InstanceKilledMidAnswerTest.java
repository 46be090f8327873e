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
 * The instance that holds a chat and is streaming its answer goes away mid-answer, killed with SIGKILL or stopped with
 * SIGTERM: the task it was running is handed back within seconds, the surviving instance runs it, the run completes,
 * and the answer is stored once. Heartbeats are taken for stale only after two minutes here, so only the killed
 * instance's free lock, or the stopped instance's own hand-back, can explain a quick recovery.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms",
        "gateway.worker.fallback-poll-interval=200ms",
        "gateway.worker.heartbeat-interval=500ms",
        "gateway.worker.dead-worker-after=120s",
        "gateway.worker.stalled-sweep-interval=500ms"
})
class InstanceKilledMidAnswerTest {

    private static final Map<String, String> DOOMED_INSTANCE = Map.of(
            "gateway.llm.offline.token-delay", "300ms",
            "gateway.worker.heartbeat-interval", "500ms",
            "gateway.worker.dead-worker-after", "120s");
    /** Far less than the two minutes after which a silent heartbeat would have the task handed back. */
    private static final Duration HANDED_BACK_WITHIN = Duration.ofSeconds(10);

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
        String runId;
        UUID killedWorker;
        try (ServiceProcess doomed = ServiceProcess.startOn(postgres, DOOMED_INSTANCE)) {
            killedWorker = doomed.workerId();
            AnswerInProgress answer = startAnswer(doomed, "chat-killed");
            runId = answer.runId();

            doomed.kill();

            assertThat(answer.chat()).failsWithin(Duration.ofSeconds(10));
            await().atMost(HANDED_BACK_WITHIN).until(() -> !killedWorker.equals(startedBy(runId, "respond")));
        }

        Map<String, Object> respond = awaitCompletedAndStoredOnce(runId);
        assertThat(respond.get("attempts_count")).as("the killed attempt, then the survivor's").isEqualTo(2);
        assertThat(respond.get("error_message")).isEqualTo("worker " + killedWorker + " is gone: its lock is free");
        assertThat(jdbc.queryForObject("select deprecated_at is null from pgflow.workers where worker_id = ?", Boolean.class, killedWorker))
                .as("killed, not stopped").isTrue();
    }

    @Test
    void answerOfAnInstanceStoppedMidAnswerIsHandedBackBeforeItExitsAndProducedByTheSurvivor() throws Exception {
        String runId;
        UUID stoppedWorker;
        try (ServiceProcess doomed = ServiceProcess.startOn(postgres, DOOMED_INSTANCE)) {
            stoppedWorker = doomed.workerId();
            AnswerInProgress answer = startAnswer(doomed, "chat-stopped");
            runId = answer.runId();

            doomed.terminate();

            await().atMost(HANDED_BACK_WITHIN).until(() -> !stoppedWorker.equals(startedBy(runId, "respond")));
        }

        Map<String, Object> respond = awaitCompletedAndStoredOnce(runId);
        assertThat(respond.get("error_message")).as("handed back by the stopping instance itself, not by a peer")
                .isEqualTo(PgflowWorker.SHUTDOWN_REASON);
        assertThat(respond.get("attempts_count")).as("the handed-back attempt is not counted").isEqualTo(1);
        assertThat(jdbc.queryForObject("select deprecated_at is not null from pgflow.workers where worker_id = ?", Boolean.class, stoppedWorker))
                .as("stopped").isTrue();
    }

    private record AnswerInProgress(String runId, CompletableFuture<ChatClient.StreamResponse> chat) {
    }

    /** Posts a chat to the doomed instance and returns once its answer streams from there. */
    private AnswerInProgress startAnswer(ServiceProcess doomed, String chatId) throws Exception {
        AtomicInteger tokensSeen = new AtomicInteger();
        AtomicReference<String> runId = new AtomicReference<>();
        ChatClient client = new ChatClient(doomed.port());
        CompletableFuture<ChatClient.StreamResponse> chat = CompletableFuture.supplyAsync(() -> {
            try {
                return client.postChat(ChatClient.chatBody(chatId, "How do I run the tests?"), event -> {
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
        assertThat(startedBy(runId.get(), "respond")).as("the answer streams from the instance holding the chat")
                .isEqualTo(doomed.workerId());
        return new AnswerInProgress(runId.get(), chat);
    }

    /** Awaits the run's completion here and checks that its answer is stored once; returns the respond task. */
    private Map<String, Object> awaitCompletedAndStoredOnce(String runId) throws Exception {
        await().atMost(Duration.ofSeconds(45)).until(() -> "completed".equals(
                jdbc.queryForObject("select status from pgflow.runs where run_id = ?::uuid", String.class, runId)));
        List<Map<String, Object>> tasks = jdbc.queryForList("""
                select step_slug, status, attempts_count, last_worker_id, error_message, output
                  from pgflow.step_tasks where run_id = ?::uuid order by step_slug""", runId);
        assertThat(tasks).extracting(t -> t.get("step_slug")).containsExactly("analyze", "respond", "search");
        assertThat(tasks).allSatisfy(t -> {
            assertThat(t.get("status")).isEqualTo("completed");
            assertThat(t.get("output")).isNotNull();
        });
        Map<String, Object> respond = tasks.get(1);
        assertThat(respond.get("last_worker_id")).isEqualTo(worker.workerId());
        String storedAnswer = jdbc.queryForObject("select output ->> 'answer' from pgflow.step_tasks where run_id = ?::uuid and step_slug = 'respond'",
                String.class, runId);
        assertThat(storedAnswer).isNotBlank();
        assertThat(jdbc.queryForObject("select output #>> '{respond,answer}' from pgflow.runs where run_id = ?::uuid", String.class, runId))
                .isEqualTo(storedAnswer);

        ChatClient.JsonResponse status = new ChatClient(port).get("/api/runs/" + runId);
        assertThat(status.body().path("status").asText()).isEqualTo("completed");
        assertThat(status.body().path("steps").get(2).path("output").path("answer").asText()).isEqualTo(storedAnswer);
        return respond;
    }

    /** The worker running the step's task while it is started, else null. */
    private UUID startedBy(String runId, String step) {
        List<UUID> worker = jdbc.queryForList("select last_worker_id from pgflow.step_tasks where run_id = ?::uuid and step_slug = ? and status = 'started'",
                UUID.class, runId, step);
        return worker.isEmpty() ? null : worker.get(0);
    }
}
