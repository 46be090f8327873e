package io.github.pgflowchat.component.pgflow;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;

import io.github.pgflowchat.examples.MinimalWorker;
import io.github.pgflowchat.support.LocalPostgres;
import io.github.pgflowchat.support.OwnDatabase;
import io.github.pgflowchat.support.PhoenixTestServer;

/**
 * The component in a plain Camel application, with no Spring and none of the gateway's beans: the README's minimal
 * worker (src/test/resources/examples/greeting.yaml run by {@link MinimalWorker}) on a database of its own.
 */
class PgflowComponentOnItsOwnTest {

    private static final String DATABASE = OwnDatabase.named("component_alone");

    @BeforeAll
    static void migrated() throws SQLException {
        OwnDatabase.migrated(DATABASE, null);
    }

    @AfterAll
    static void dropped() throws SQLException {
        OwnDatabase.drop(DATABASE);
    }

    @Test
    void yamlRoutesAreTheWorkersOfAFlowTheyDeclare() throws Exception {
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.start();
        Logger eventsLog = (Logger) LoggerFactory.getLogger("greeting-events");
        eventsLog.addAppender(events);
        try (HikariDataSource dataSource = OwnDatabase.pooled(DATABASE)) {

            Map<String, Object> run = MinimalWorker.run(dataSource, "classpath:examples/greeting.yaml", "greeting",
                    "{\"name\": \"ada\"}", Duration.ofSeconds(30));

            assertThat(run.get("status")).isEqualTo("completed");
            assertThat(run.get("output")).isEqualTo("{\"exclaim\": {\"text\": \"ADA!\"}}");
            JdbcTemplate jdbc = new JdbcTemplate(dataSource);
            // The shape the routes declare became a flow version: two steps, exclaim after shout, with their options.
            String version = (String) run.get("flow_slug");
            assertThat(version).matches("greeting_[0-9a-f]{8}");
            assertThat(jdbc.queryForList("select step_slug, deps_count, opt_max_attempts, opt_timeout from pgflow.steps"
                    + " where flow_slug = ? order by step_index", version))
                    .containsExactly(Map.of("step_slug", "shout", "deps_count", 0, "opt_max_attempts", 2, "opt_timeout", 10),
                            Map.of("step_slug", "exclaim", "deps_count", 1, "opt_max_attempts", 3, "opt_timeout", 60));
            // The worker the component built registered, took its lock, and on Camel's stop marked itself stopped.
            assertThat(jdbc.queryForList("select w.deprecated_at is not null as stopped from pgflow.workers w"
                    + " join public.gateway_worker_locks k using (worker_id) where w.queue_name = 'greeting'", Boolean.class))
                    .containsExactly(true);
        } finally {
            eventsLog.detachAppender(events);
        }
        // The events route got the run's events one by one, in pgflow's order.
        List<String> logged = events.list.stream().map(ILoggingEvent::getFormattedMessage)
                .map(line -> line.replaceFirst("^run \\S+: ", "")).toList();
        assertThat(logged).containsSubsequence("step:started shout", "step:completed shout", "step:started exclaim",
                "step:completed exclaim", "run:completed ");
    }

    @Test
    void withTransportRealtimeTheEventsComeOverSupabaseRealtime() throws Exception {
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.start();
        Logger eventsLog = (Logger) LoggerFactory.getLogger("greeting-events");
        eventsLog.addAppender(events);
        AtomicBoolean runStarting = new AtomicBoolean();
        try (PhoenixTestServer realtime = new PhoenixTestServer("anon-key", "anon-key");
             // A broadcast sent before the run's channel is joined reaches no one (as on Supabase), and a run this
             // short could end before the join: once the run is being started, the next connection (start_flow's)
             // waits until the server has the join.
             HikariDataSource dataSource = new HikariDataSource() {
                 @Override
                 public Connection getConnection() throws SQLException {
                     if (runStarting.get()) {
                         awaitJoin(realtime);
                         // Once: the channel is left again when the run has ended.
                         runStarting.set(false);
                     }
                     return super.getConnection();
                 }
             }) {
            realtime.start();
            dataSource.setJdbcUrl(OwnDatabase.url(DATABASE));
            dataSource.setUsername(LocalPostgres.USER);
            dataSource.setPassword(LocalPostgres.PASSWORD);
            // As Supabase does: the database's realtime.send broadcasts reach the channels of the server.
            realtime.relayFrom(OwnDatabase.url(DATABASE), LocalPostgres.USER, LocalPostgres.PASSWORD);
            PgflowComponent pgflow = new PgflowComponent();
            pgflow.setTransport("realtime");
            pgflow.setRealtimeUrl(realtime.url());
            pgflow.setRealtimeApiKey("anon-key");
            // So that only Realtime, not the timer, can move the run along within the test's time.
            pgflow.setReconcileInterval(Duration.ofMinutes(5));

            Map<String, Object> run = MinimalWorker.run(dataSource, "classpath:examples/greeting.yaml", "greeting",
                    "{\"name\": \"grace\"}", Duration.ofSeconds(30), pgflow, () -> runStarting.set(true));

            assertThat(run.get("status")).isEqualTo("completed");
            assertThat(run.get("output")).isEqualTo("{\"exclaim\": {\"text\": \"GRACE!\"}}");
            // One channel joined for the run, and its broadcasts relayed: with the reconcile timer at 5 minutes, only they
            // could have brought the events route its events within the test's 30 seconds.
            assertThat(realtime.joins()).hasSize(1);
            assertThat(realtime.broadcastsSent()).isPositive();
        } finally {
            eventsLog.detachAppender(events);
        }
        assertThat(events.list.stream().map(ILoggingEvent::getFormattedMessage).map(line -> line.replaceFirst("^run \\S+: ", "")))
                .containsSubsequence("step:started shout", "step:completed shout", "step:started exclaim");
    }

    private static void awaitJoin(PhoenixTestServer realtime) throws SQLException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (realtime.joinedTopics().isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new SQLException("the run's channel was not joined within 10 s");
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SQLException("interrupted while waiting for the join", e);
            }
        }
    }
}
