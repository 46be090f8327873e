package io.github.pgflowchat.pgflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariDataSource;
import org.apache.camel.CamelContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.transaction.support.TransactionTemplate;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.QuestionAdvice;

/**
 * What the worker does that pgflow 0.8.1 does not: hide a claimed message for a lease it renews while the task runs,
 * interrupt a step that overruns its timeout, give back the tasks of a worker that died (its lock free, or its heartbeat
 * stale), keep its own lock and heartbeat whatever else the application schedules. Runs on its own embedded
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
    private static final String HANDED_BACK_QUESTION = "an analysis handed back while it runs";

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

    @Autowired
    PgflowWorker worker;

    @Autowired
    TaskScheduler taskScheduler;

    @Autowired
    WorkerHealth workerHealth;

    @Autowired
    HikariDataSource dataSource;

    final CountDownLatch handedBackAnalysisMayEnd = new CountDownLatch(1);

    @BeforeAll
    void slowAnalysisAndShortTimeout() throws Exception {
        QuestionAdvice.adviseStep(camel, "step-analyze", Map.of(SLOW_QUESTION, exchange -> Thread.sleep(60_000),
                HANDED_BACK_QUESTION, exchange -> handedBackAnalysisMayEnd.await()));
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

        UUID runId = startRunWithSearchClaimedBy(deadWorker, "How is a stalled task recovered?");

        await().atMost(Duration.ofSeconds(20)).until(() -> "completed".equals(runStatus(runId)));
        assertSearchRanTwiceAndTheRunCompleted(runId, deadWorker);
    }

    @Test
    void taskOfAWorkerWhoseLockIsFreeIsHandedBackThoughItsHeartbeatIsFresh() {
        UUID deadWorker = UUID.randomUUID();
        // A heartbeat that never goes stale and a record saying the worker holds a lock, which no session holds.
        jdbc.update("insert into pgflow.workers (worker_id, queue_name, function_name, last_heartbeat_at) "
                + "values (?, 'chat_pipeline', 'crashed-instance', now() + interval '1 hour')", deadWorker);
        jdbc.update("insert into public.gateway_worker_locks (worker_id) values (?)", deadWorker);

        UUID runId = startRunWithSearchClaimedBy(deadWorker, "How is a dead instance noticed?");

        await().atMost(Duration.ofSeconds(20)).until(() -> "completed".equals(runStatus(runId)));
        assertSearchRanTwiceAndTheRunCompleted(runId, deadWorker);
        assertThat(jdbc.queryForObject("select error_message from pgflow.step_tasks where run_id = ? and step_slug = 'search'",
                String.class, runId)).isEqualTo("worker " + deadWorker + " is gone: its lock is free");
    }

    @Test
    void attemptHandedBackWhileItRunsHereIsNotCompletedFromHere() {
        UUID otherWorker = UUID.randomUUID();
        jdbc.update("insert into pgflow.workers (worker_id, queue_name, function_name, last_heartbeat_at) "
                + "values (?, 'chat_pipeline', 'other-instance', now() + interval '1 hour')", otherWorker);
        UUID runId = startRun(HANDED_BACK_QUESTION);
        await().atMost(Duration.ofSeconds(5)).until(() -> "started".equals(taskStatus(runId, "analyze")));

        // A peer took this instance for gone and handed the task back, and another worker started it again.
        transaction.executeWithoutResult(status -> {
            jdbc.query("select 1 from pgflow.fail_task(?, 'analyze', 0, 'taken for gone')", rs -> { }, runId);
            jdbc.query("select 1 from pgflow.start_tasks('chat_pipeline', array(select message_id from pgflow.step_tasks "
                    + "where run_id = ? and step_slug = 'analyze'), ?::uuid)", rs -> { }, runId, otherWorker);
        });
        handedBackAnalysisMayEnd.countDown();

        await().atMost(Duration.ofSeconds(5)).until(() -> worker.inFlight() == 0);
        Map<String, Object> analyze = jdbc.queryForMap(
                "select status, attempts_count, last_worker_id from pgflow.step_tasks where run_id = ? and step_slug = 'analyze'", runId);
        assertThat(analyze.get("status")).as("the other worker's attempt is not completed by this one").isEqualTo("started");
        assertThat(analyze.get("attempts_count")).isEqualTo(2);
        assertThat(analyze.get("last_worker_id")).isEqualTo(otherWorker);
    }

    @Test
    void lockIsTakenAgainWhenItsConnectionIsTerminatedAndHealthSaysWhileItIsLost() throws Exception {
        Integer holder = lockHolder();
        assertThat(holder).as("a session holds this worker's lock").isNotNull();
        assertThat(workerHealth.health().getDetails()).containsEntry("lock", "held");

        try (Connection intruder = DriverManager.getConnection(dataSource.getJdbcUrl(), dataSource.getUsername(), dataSource.getPassword())) {
            // The worker finds its connection dead at its next check, up to a second later: the lock is free
            // meanwhile, and another session takes it (should the worker's check come first, again).
            await().atMost(Duration.ofSeconds(10)).until(() -> terminateHolderAndTakeTheLock(intruder));
            await().atMost(Duration.ofSeconds(5)).until(() -> "lost".equals(workerHealth.health().getDetails().get("lock")));
            assertThat(workerHealth.health().getStatus()).isEqualTo(Status.DOWN);
        }

        await().atMost(Duration.ofSeconds(10)).until(() -> {
            Integer now = lockHolder();
            return now != null && !now.equals(holder) && worker.holdsLock();
        });
        assertThat(workerHealth.health().getDetails()).containsEntry("lock", "held");
    }

    @Test
    void heartbeatGoesOnWhileSpringsSchedulerIsBusy() throws Exception {
        // Spring's scheduler runs each job on a virtual thread of its own, so no number of busy jobs exhausts it; this
        // many is far more than its platform pool ever had (4 threads), in case virtual threads are turned off.
        int threads = 64;
        CountDownLatch busy = new CountDownLatch(threads);
        CountDownLatch release = new CountDownLatch(1);
        try {
            for (int i = 0; i < threads; i++) {
                taskScheduler.schedule(() -> {
                    busy.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, Instant.now());
            }
            assertThat(busy.await(10, TimeUnit.SECONDS)).as("every job is blocked").isTrue();
            Timestamp before = lastHeartbeat();
            await().atMost(Duration.ofSeconds(5)).until(() -> lastHeartbeat().after(before));
        } finally {
            release.countDown();
        }
    }

    /**
     * The crashed instance claimed the search task in the same transaction that queued it, so this instance's worker
     * never saw it queued; then it died: no lease renewal, and no heartbeat unless the test says otherwise.
     */
    private UUID startRunWithSearchClaimedBy(UUID deadWorker, String question) {
        UUID runId = transaction.execute(status -> {
            UUID id = startRun(question);
            List<Long> messages = jdbc.queryForList("select msg_id from pgmq.read('chat_pipeline', 1, 10)", Long.class);
            jdbc.query("select * from pgflow.start_tasks('chat_pipeline', ?::bigint[], ?::uuid)", rs -> { },
                    messages.toArray(Long[]::new), deadWorker);
            return id;
        });
        assertThat(taskStatus(runId, "search")).isEqualTo("started");
        return runId;
    }

    private void assertSearchRanTwiceAndTheRunCompleted(UUID runId, UUID deadWorker) {
        Map<String, Object> search = jdbc.queryForMap(
                "select attempts_count, last_worker_id from pgflow.step_tasks where run_id = ? and step_slug = 'search'", runId);
        assertThat(search.get("attempts_count")).isEqualTo(2);
        assertThat(search.get("last_worker_id")).isNotEqualTo(deadWorker);
        assertThat(jdbc.queryForObject("select output #>> '{respond,answer}' from pgflow.runs where run_id = ?", String.class, runId))
                .isNotBlank();
    }

    private boolean terminateHolderAndTakeTheLock(Connection intruder) throws Exception {
        Integer holder = lockHolder();
        if (holder != null) {
            jdbc.queryForObject("select pg_terminate_backend(?, 5000)", Boolean.class, holder);
        }
        try (Statement statement = intruder.createStatement();
             ResultSet taken = statement.executeQuery("select pg_try_advisory_lock(1885824631, lock_key) from public.gateway_worker_locks "
                     + "where worker_id = '" + worker.workerId() + "'")) {
            return taken.next() && taken.getBoolean(1);
        }
    }

    /** The backend pid of the session holding this worker's lock (decision record 0012), if any. */
    private Integer lockHolder() {
        List<Integer> pids = jdbc.queryForList("""
                select l.pid from pg_locks l join public.gateway_worker_locks k on l.objid = k.lock_key::oid
                 where l.locktype = 'advisory' and l.granted and l.classid = 1885824631 and l.objsubid = 2 and k.worker_id = ?""",
                Integer.class, worker.workerId());
        return pids.isEmpty() ? null : pids.get(0);
    }

    private Timestamp lastHeartbeat() {
        return jdbc.queryForObject("select last_heartbeat_at from pgflow.workers where worker_id = ?", Timestamp.class, worker.workerId());
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
