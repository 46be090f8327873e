package io.github.pgflowchat.retention;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.pgflow.PgflowWorker;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;

/**
 * Pruning on real PostgreSQL with pgflow's schema: finished runs past RUN_RETENTION go with their steps, tasks and
 * archived queue messages, the stand-in's broadcasts past EVENTS_RETENTION go, and so do worker rows silent for a
 * day; a running run, recent runs and the live worker stay. A batch of one row makes every delete loop.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.provider=offline",
        "gateway.llm.offline.token-delay=1ms",
        "gateway.retention.batch-size=1"
})
class DataRetentionTest {

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    DataRetention retention;

    @Autowired
    PgflowWorker worker;

    /** The queue archive of the flow version the chats run on. */
    private String archive() {
        return "pgmq.a_" + worker.currentVersion();
    }

    /** The test prunes when it has set the rows up; a scheduled pruning in between would spoil the "before". */
    @BeforeEach
    void stopTheSchedule() {
        if (retention.isRunning()) {
            retention.stop();
        }
    }

    private UUID completedRun(String chatId) throws Exception {
        ChatClient.StreamResponse response = new ChatClient(port).postChat(ChatClient.chatBody(chatId, "How do I run the tests?"));
        assertThat(response.types()).endsWith("finish");
        return UUID.fromString(response.runId());
    }

    private void age(UUID runId, String interval) {
        jdbc.update("update pgflow.runs set started_at = started_at - ?::interval, completed_at = completed_at - ?::interval,"
                + " failed_at = failed_at - ?::interval where run_id = ?", interval, interval, interval, runId);
        jdbc.update("update " + archive() + " set archived_at = archived_at - ?::interval where message->>'run_id' = ?",
                interval, runId.toString());
        jdbc.update("update realtime.messages set inserted_at = inserted_at - ?::interval where topic = ?", interval, "pgflow:run:" + runId);
    }

    private int count(String table, UUID runId) {
        String column = table.startsWith("pgmq.") ? "(message->>'run_id')::uuid" : table.startsWith("realtime.") ? "topic" : "run_id";
        Object key = table.startsWith("realtime.") ? "pgflow:run:" + runId : runId;
        return jdbc.queryForObject("select count(*) from " + table + " where " + column + " = ?", Integer.class, key);
    }

    private List<String> runTables() {
        return List.of("pgflow.runs", "pgflow.step_states", "pgflow.step_tasks", archive());
    }

    @Test
    void oldFinishedRunsTheirRowsOldBroadcastsAndDeadWorkersGoAndNothingElse() throws Exception {
        UUID oldCompleted = completedRun("chat-retention-old-1");
        UUID oldFailed = completedRun("chat-retention-old-2");
        UUID recent = completedRun("chat-retention-recent");
        UUID agedButBroadcastsKept = completedRun("chat-retention-broadcasts");
        jdbc.update("update pgflow.runs set status = 'failed', failed_at = completed_at, completed_at = null where run_id = ?", oldFailed);
        age(oldCompleted, "31 days");
        age(oldFailed, "31 days");
        age(agedButBroadcastsKept, "2 days");
        // A run still running (its flow has no worker) and started long ago is never pruned.
        jdbc.execute("select pgflow.create_flow('retention_probe')");
        jdbc.execute("select pgflow.add_step('retention_probe', 'only')");
        UUID running = jdbc.queryForObject("select run_id from pgflow.start_flow('retention_probe', '{}'::jsonb)", UUID.class);
        jdbc.update("update pgflow.runs set started_at = started_at - interval '90 days' where run_id = ?", running);

        UUID liveWorker = jdbc.queryForObject("select worker_id from pgflow.workers where last_heartbeat_at > now() - interval '1 minute' limit 1", UUID.class);
        UUID deadWorker = UUID.randomUUID();
        UUID deprecatedWorker = UUID.randomUUID();
        UUID quietWorker = UUID.randomUUID();
        jdbc.update("insert into pgflow.workers (worker_id, queue_name, function_name, started_at, last_heartbeat_at) values"
                + " (?, 'chat_pipeline', 'test', now() - interval '3 days', now() - interval '2 days'),"
                + " (?, 'chat_pipeline', 'test', now() - interval '3 days', now() - interval '25 hours'),"
                + " (?, 'chat_pipeline', 'test', now() - interval '3 days', now() - interval '23 hours')", deadWorker, deprecatedWorker, quietWorker);
        jdbc.update("update pgflow.workers set deprecated_at = now() - interval '25 hours' where worker_id = ?", deprecatedWorker);
        // A task of a kept run that last ran on a dead worker keeps its row; only the reference is cleared.
        jdbc.update("update pgflow.step_tasks set last_worker_id = ? where run_id = ?", deadWorker, recent);

        for (UUID run : List.of(oldCompleted, oldFailed, recent)) {
            for (String table : runTables()) {
                assertThat(count(table, run)).as("%s of run %s before", table, run).isPositive();
            }
        }

        retention.prune();

        for (UUID old : List.of(oldCompleted, oldFailed)) {
            for (String table : runTables()) {
                assertThat(count(table, old)).as("%s of old run %s", table, old).isZero();
            }
            assertThat(count("realtime.messages", old)).isZero();
        }
        for (UUID kept : List.of(recent, agedButBroadcastsKept)) {
            for (String table : runTables()) {
                assertThat(count(table, kept)).as("%s of run %s", table, kept).isPositive();
            }
            assertThat(count("realtime.messages", kept)).as("broadcasts younger than EVENTS_RETENTION").isPositive();
        }
        assertThat(count("pgflow.runs", running)).as("a running run stays whatever its age").isOne();
        assertThat(count("pgflow.step_states", running)).isOne();
        assertThat(jdbc.queryForList("select worker_id from pgflow.workers", UUID.class))
                .contains(liveWorker, quietWorker).doesNotContain(deadWorker, deprecatedWorker);
        assertThat(jdbc.queryForList("select last_worker_id from pgflow.step_tasks where run_id = ?", UUID.class, recent))
                .containsOnlyNulls();
    }

    @Test
    void aRealtimeMessagesTableThatIsNotTheStandInsIsLeftAlone() throws Exception {
        UUID run = completedRun("chat-retention-supabase");
        age(run, "4 days");
        String standIn = jdbc.queryForObject("select obj_description('realtime.messages'::regclass, 'pg_class')", String.class);
        // As on Supabase, where realtime.messages is Realtime's own table and Supabase prunes it.
        jdbc.execute("comment on table realtime.messages is 'Supabase Realtime messages'");
        try {
            retention.prune();
        } finally {
            jdbc.execute("comment on table realtime.messages is '" + standIn.replace("'", "''") + "'");
        }

        assertThat(count("realtime.messages", run)).isPositive();
    }

    @Test
    void theIndexesTheDeletesUseExist() {
        assertThat(jdbc.queryForObject("select to_regclass('pgflow.idx_runs_finished_at') is not null", Boolean.class)).isTrue();
        assertThat(jdbc.queryForObject("select to_regclass('realtime.messages_inserted_at_idx') is not null", Boolean.class))
                .as("the stand-in's table is indexed by age").isTrue();
    }
}
