package io.github.pgflowchat.pgflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;

/**
 * The rule that keeps an answer's tokens on the instance holding its chat stream, seen from an instance that does not
 * hold it: the respond task of another live instance's stream is read and left alone, again and again, while the
 * steps before it run here; once that instance stops its heartbeat, or its lock is free, the task runs here.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.NONE, properties = {
        "gateway.llm.offline.token-delay=0ms",
        "gateway.worker.fallback-poll-interval=200ms",
        "gateway.worker.heartbeat-interval=500ms",
        "gateway.worker.dead-worker-after=2s",
        "gateway.worker.stalled-sweep-interval=500ms",
        "gateway.worker.stream-handoff=1s"
})
class StreamedStepAffinityTest {

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    PgflowWorker worker;

    @Autowired
    HikariDataSource dataSource;

    @Test
    void respondTaskOfAStreamHeldByAnotherLiveInstanceIsLeftToItUntilThatInstanceDies() {
        UUID otherInstance = UUID.randomUUID();
        jdbc.update("insert into pgflow.workers (worker_id, queue_name, function_name, last_heartbeat_at) "
                + "values (?, 'chat_pipeline', 'other-instance', now() + interval '1 hour')", otherInstance);
        UUID runId = jdbc.queryForObject("select run_id from pgflow.start_flow('chat_pipeline', jsonb_build_object("
                + "'chatId', 'affinity', 'userId', 'tester', 'question', 'How are steps retried?', 'history', '[]'::jsonb, "
                + "'streamWorkerId', ?::text))", UUID.class, otherInstance.toString());

        await().atMost(Duration.ofSeconds(10)).until(() -> "queued".equals(taskStatus(runId, "respond")));
        assertThat(lastWorker(runId, "search")).isEqualTo(worker.workerId());
        assertThat(lastWorker(runId, "analyze")).isEqualTo(worker.workerId());
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4))
                .until(() -> "queued".equals(taskStatus(runId, "respond")));
        assertThat(jdbc.queryForObject("""
                select q.read_ct from pgflow.step_tasks t join pgmq.q_chat_pipeline q on q.msg_id = t.message_id
                 where t.run_id = ? and t.step_slug = 'respond'""", Integer.class, runId))
                .as("read here and left, once per handoff").isGreaterThanOrEqualTo(2);

        jdbc.update("update pgflow.workers set last_heartbeat_at = now() - interval '1 hour' where worker_id = ?", otherInstance);

        await().atMost(Duration.ofSeconds(10)).until(() -> "completed".equals(
                jdbc.queryForObject("select status from pgflow.runs where run_id = ?", String.class, runId)));
        Map<String, Object> respond = jdbc.queryForMap(
                "select attempts_count, last_worker_id, output ->> 'answer' as answer from pgflow.step_tasks where run_id = ? and step_slug = 'respond'", runId);
        assertThat(respond.get("attempts_count")).isEqualTo(1);
        assertThat(respond.get("last_worker_id")).isEqualTo(worker.workerId());
        assertThat((String) respond.get("answer")).isNotBlank();
    }

    @Test
    void respondTaskOfAStreamWhoseHolderHoldsItsLockIsLeftToItAndRunsHereOnceTheLockIsFree() throws Exception {
        UUID otherInstance = UUID.randomUUID();
        // Its heartbeat never goes stale: only the lock can tell that it is gone.
        jdbc.update("insert into pgflow.workers (worker_id, queue_name, function_name, last_heartbeat_at) "
                + "values (?, 'chat_pipeline', 'other-instance', now() + interval '1 hour')", otherInstance);
        jdbc.update("insert into public.gateway_worker_locks (worker_id) values (?)", otherInstance);
        UUID runId;
        try (Connection otherInstancesSession = DriverManager.getConnection(dataSource.getJdbcUrl(), dataSource.getUsername(), dataSource.getPassword())) {
            assertThat(hold(otherInstancesSession, otherInstance)).isTrue();
            runId = jdbc.queryForObject("select run_id from pgflow.start_flow('chat_pipeline', jsonb_build_object("
                    + "'chatId', 'affinity-lock', 'userId', 'tester', 'question', 'How are steps retried?', 'history', '[]'::jsonb, "
                    + "'streamWorkerId', ?::text))", UUID.class, otherInstance.toString());

            await().atMost(Duration.ofSeconds(10)).until(() -> "queued".equals(taskStatus(runId, "respond")));
            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4))
                    .until(() -> "queued".equals(taskStatus(runId, "respond")));
        }

        await().atMost(Duration.ofSeconds(10)).until(() -> "completed".equals(
                jdbc.queryForObject("select status from pgflow.runs where run_id = ?", String.class, runId)));
        assertThat(lastWorker(runId, "respond")).isEqualTo(worker.workerId());
    }

    private static boolean hold(Connection session, UUID workerId) throws Exception {
        try (PreparedStatement statement = session.prepareStatement("select public.gateway_hold_worker_lock(?)")) {
            statement.setObject(1, workerId);
            try (ResultSet rs = statement.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private String taskStatus(UUID runId, String step) {
        List<String> status = jdbc.queryForList("select status from pgflow.step_tasks where run_id = ? and step_slug = ?", String.class, runId, step);
        return status.isEmpty() ? null : status.get(0);
    }

    private UUID lastWorker(UUID runId, String step) {
        return jdbc.queryForObject("select last_worker_id from pgflow.step_tasks where run_id = ? and step_slug = ?", UUID.class, runId, step);
    }
}
