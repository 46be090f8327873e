package io.github.pgflowchat.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

import io.github.pgflowchat.support.OwnDatabase;

/**
 * What {@link FollowedRuns} counts as the database fallback: events its timer found for a run no hint had come for,
 * against events handed on after a hint. Real pgflow runs in a database of the test's own.
 */
class FollowedRunsFallbackCountTest {

    private static final String DATABASE = OwnDatabase.named("followed_runs");
    private static JdbcTemplate jdbc;

    @BeforeAll
    static void migrated() throws SQLException {
        jdbc = new JdbcTemplate(OwnDatabase.migrated(DATABASE, null));
        jdbc.queryForList("select pgflow.create_flow('fallback_count')");
        jdbc.queryForList("select pgflow.add_step('fallback_count', 'only')");
    }

    @AfterAll
    static void drop() throws SQLException {
        OwnDatabase.drop(DATABASE);
    }

    @Test
    void eventsOnlyTheTimerFoundAreTheFallback() {
        FollowedRuns runs = new FollowedRuns(new RunStates(jdbc, new ObjectMapper()), Duration.ofMillis(200));
        try {
            List<String> events = new CopyOnWriteArrayList<>();
            UUID runId = UUID.randomUUID();
            runs.follow(runId, event -> events.add(event.event()));
            jdbc.queryForList("select run_id from pgflow.start_flow('fallback_count', '{}'::jsonb, ?::uuid)", runId.toString());

            await().atMost(Duration.ofSeconds(5)).until(() -> events.contains("step:only:started"));
            assertThat(events).containsExactly("step:only:started");
            assertThat(runs.eventsDeliveredOnTimer()).isEqualTo(1);
            assertThat(runs.eventsDeliveredOnHint()).isZero();
        } finally {
            runs.destroy();
        }
    }

    @Test
    void eventsAHintBroughtAreNotTheFallbackAndNoneIsDeliveredTwice() throws Exception {
        FollowedRuns runs = new FollowedRuns(new RunStates(jdbc, new ObjectMapper()), Duration.ofMinutes(10));
        try {
            List<String> events = new CopyOnWriteArrayList<>();
            UUID runId = UUID.randomUUID();
            runs.follow(runId, event -> events.add(event.event()));
            jdbc.queryForList("select run_id from pgflow.start_flow('fallback_count', '{}'::jsonb, ?::uuid)", runId.toString());

            runs.hint(runId);
            await().atMost(Duration.ofSeconds(5)).until(() -> events.contains("step:only:started"));
            runs.hint(runId);
            runs.hintAll();
            Thread.sleep(500);

            assertThat(events).containsExactly("step:only:started");
            assertThat(runs.eventsDeliveredOnHint()).isEqualTo(1);
            assertThat(runs.eventsDeliveredOnTimer()).isZero();
        } finally {
            runs.destroy();
        }
    }
}
