package io.github.pgflowchat.component.pgflow;

import static org.apache.camel.builder.Builder.constant;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import com.zaxxer.hikari.HikariDataSource;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.model.RouteDefinition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

import io.github.pgflowchat.support.OwnDatabase;

/**
 * A step's timeout when its handler runs on the task's own thread: the deadline interrupts the handler, and the task
 * fails as timed out, whether the handler ends at the interrupt or goes on and returns a result too late (which is
 * dropped). Either way the interrupt does not outlive the handler: the task's failure is stored.
 */
class StepDeadlineTest {

    private static final String DATABASE = OwnDatabase.named("step_deadline");

    @BeforeAll
    static void migrated() throws SQLException {
        OwnDatabase.migrated(DATABASE, null);
    }

    @AfterAll
    static void dropped() throws SQLException {
        OwnDatabase.drop(DATABASE);
    }

    @Test
    void aHandlerThatEndsAtTheInterruptFailsItsTaskAsTimedOut() throws Exception {
        assertThat(failedTasks("deadline_heeded", route -> route.process(exchange -> Thread.sleep(60_000))))
                .containsExactly("wait: failed: TimeoutException: step 'wait' timed out after 1 s (output stored: false)");
    }

    @Test
    void aHandlerThatGoesOnPastTheInterruptHasItsLateResultDropped() throws Exception {
        AtomicBoolean interruptSeen = new AtomicBoolean();
        assertThat(failedTasks("deadline_ignored", route -> route.process(exchange -> {
            long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
            while (System.nanoTime() < until) {
                interruptSeen.compareAndSet(false, Thread.currentThread().isInterrupted());
                Thread.onSpinWait();
            }
        }).setBody(constant(Map.of("late", true)))))
                .containsExactly("wait: failed: TimeoutException: step 'wait' timed out after 1 s (output stored: false)");
        assertThat(interruptSeen).as("the handler that went on was interrupted at its deadline").isTrue();
    }

    /** Runs the one-step flow whose step (timeout 1 s, one attempt) does what {@code step} adds; its tasks once it failed. */
    private static List<String> failedTasks(String flow, Consumer<RouteDefinition> step) throws Exception {
        try (HikariDataSource dataSource = OwnDatabase.pooled(DATABASE); CamelContext camel = new DefaultCamelContext()) {
            camel.getRegistry().bind("dataSource", dataSource);
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    step.accept(from("pgflow:" + flow + "/wait?timeout=1&maxAttempts=1").routeId(flow + "-wait"));
                }
            });
            camel.start();
            String run = camel.createProducerTemplate().requestBody("pgflow:" + flow, "{}", String.class);
            JdbcTemplate jdbc = new JdbcTemplate(dataSource);
            await().atMost(Duration.ofSeconds(30)).until(() -> "failed".equals(
                    jdbc.queryForObject("select status from pgflow.runs where run_id = ?::uuid", String.class, run)));
            return jdbc.queryForList("select step_slug || ': ' || status || ': ' || coalesce(error_message, '')"
                    + " || ' (output stored: ' || (output is not null) || ')' from pgflow.step_tasks where run_id = ?::uuid",
                    String.class, run);
        }
    }
}
