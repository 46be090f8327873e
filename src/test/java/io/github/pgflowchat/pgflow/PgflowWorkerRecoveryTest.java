package io.github.pgflowchat.pgflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.apache.camel.CamelContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.transaction.support.TransactionTemplate;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.QuestionAdvice;

/**
 * What the worker does that pgflow 0.8.1 does not: hide a claimed message for a lease it renews while the task runs,
 * interrupt a step that overruns its timeout, and give back the tasks of a worker that died. Runs on its own embedded
 * PostgreSQL because it changes the flow's options.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.NONE, properties = {
        "gateway.llm.offline.token-delay=0ms",
        "gateway.worker.fallback-poll-interval=200ms",
        "gateway.worker.read-visibility-seconds=30",
        "gateway.worker.heartbeat-interval=500ms",
        "gateway.worker.visibility-lease=2s",
        "gateway.worker.dead-worker-after=2s",
        "gateway.worker.stalled-sweep-interval=500ms"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PgflowWorkerRecoveryTest {

    private static final String SLOW_QUESTION = "an analysis that never ends";

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    TransactionTemplate transaction;

    @Autowired
    CamelContext camel;

    @BeforeAll
    void slowAnalysisAndShortTimeout() throws Exception {
        QuestionAdvice.adviseStep(camel, "step-analyze", Map.of(SLOW_QUESTION, exchange -> Thread.sleep(60_000)));
        jdbc.update("update pgflow.steps set opt_timeout = 3, opt_max_attempts = 2, opt_base_delay = 0 "
                + "where flow_slug = 'chat_pipeline' and step_slug = 'analyze'");
    }

    @Test
    void stepStillRunningAtItsTimeoutIsInterruptedAndRetriedThenFailsTheRun() {
        UUID runId = startRun(SLOW_QUESTION);

        await().atMost(Duration.ofSeconds(5)).until(() -> "started".equals(taskStatus(runId, "analyze")));
        double firstLease = secondsHiddenAfterStart(runId);
        assertThat(firstLease).as("message hidden for the 2 s lease, not the 30 s read visibility").isBetween(1.0, 10.0);
        await().atMost(Duration.ofSeconds(3)).until(() -> secondsHiddenAfterStart(runId) > firstLease);

        await().atMost(Duration.ofSeconds(20)).until(() -> "failed".equals(runStatus(runId)));
        Map<String, Object> analyze = jdbc.queryForMap(
                "select attempts_count, error_message from pgflow.step_tasks where run_id = ? and step_slug = 'analyze'", runId);
        assertThat(analyze.get("attempts_count")).isEqualTo(2);
        assertThat((String) analyze.get("error_message")).contains("timed out after 3 s");
    }

    @Test
    void taskOfAWorkerThatStoppedItsHeartbeatIsHandedBackAndCompletesHere() {
        UUID deadWorker = UUID.randomUUID();
        jdbc.update("insert into pgflow.workers (worker_id, queue_name, function_name, last_heartbeat_at) "
                + "values (?, 'chat_pipeline', 'crashed-instance', now())", deadWorker);

        // The crashed instance claimed the search task in the same transaction that queued it, so this instance's
        // worker never saw it queued; then it died: no heartbeat, no lease renewal.
        UUID runId = transaction.execute(status -> {
            UUID id = startRun("How is a stalled task recovered?");
            List<Long> messages = jdbc.queryForList("select msg_id from pgmq.read('chat_pipeline', 1, 10)", Long.class);
            jdbc.query("select * from pgflow.start_tasks('chat_pipeline', ?::bigint[], ?::uuid)", rs -> { },
                    messages.toArray(Long[]::new), deadWorker);
            return id;
        });
        assertThat(taskStatus(runId, "search")).isEqualTo("started");

        await().atMost(Duration.ofSeconds(20)).until(() -> "completed".equals(runStatus(runId)));
        Map<String, Object> search = jdbc.queryForMap(
                "select attempts_count, last_worker_id from pgflow.step_tasks where run_id = ? and step_slug = 'search'", runId);
        assertThat(search.get("attempts_count")).isEqualTo(2);
        assertThat(search.get("last_worker_id")).isNotEqualTo(deadWorker);
        assertThat(jdbc.queryForObject("select output #>> '{respond,answer}' from pgflow.runs where run_id = ?", String.class, runId))
                .isNotBlank();
    }

    /** How long after the current attempt started its message becomes visible: grows as the lease is renewed. */
    private double secondsHiddenAfterStart(UUID runId) {
        return jdbc.queryForObject("""
                select extract(epoch from q.vt - t.started_at)::float8
                  from pgflow.step_tasks t join pgmq.q_chat_pipeline q on q.msg_id = t.message_id
                 where t.run_id = ? and t.step_slug = 'analyze'""", Double.class, runId);
    }

    private UUID startRun(String question) {
        return jdbc.queryForObject("select run_id from pgflow.start_flow('chat_pipeline', jsonb_build_object("
                + "'chatId', 'recovery', 'userId', 'tester', 'question', ?::text, 'history', '[]'::jsonb))", UUID.class, question);
    }

    private String runStatus(UUID runId) {
        return jdbc.queryForObject("select status from pgflow.runs where run_id = ?", String.class, runId);
    }

    private String taskStatus(UUID runId, String step) {
        List<String> status = jdbc.queryForList("select status from pgflow.step_tasks where run_id = ? and step_slug = ?", String.class, runId, step);
        return status.isEmpty() ? null : status.get(0);
    }
}
