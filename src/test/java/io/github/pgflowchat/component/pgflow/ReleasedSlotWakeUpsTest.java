package io.github.pgflowchat.component.pgflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

import io.github.pgflowchat.support.OwnDatabase;

/**
 * When a finished task wakes the worker's claim. New messages wake it by NOTIFY; a released slot wakes it only after a
 * claim left messages behind for want of a slot, so a worker with slots to spare does not read the queue after every
 * task (issue 13, item 6), and one whose pool was full still takes what waited. The fallback poll is an hour here, so
 * that it cannot be what moves a run along.
 */
class ReleasedSlotWakeUpsTest {

    private static final String DATABASE = OwnDatabase.named("slot_wake_ups");
    private static final String FLOW = "tally";

    private HikariDataSource dataSource;
    private SimpleMeterRegistry meters;

    @BeforeAll
    static void migrated() throws SQLException {
        OwnDatabase.migrated(DATABASE, null);
    }

    @AfterAll
    static void dropped() throws SQLException {
        OwnDatabase.drop(DATABASE);
    }

    @BeforeEach
    void connected() {
        dataSource = OwnDatabase.pooled(DATABASE);
        meters = new SimpleMeterRegistry();
    }

    @AfterEach
    void closed() {
        dataSource.close();
    }

    @Test
    void aPoolOfOneTakesEveryQueuedTaskAsItsSlotIsReleased() throws Exception {
        try (CamelContext camel = worker(1)) {
            ProducerTemplate producer = camel.createProducerTemplate();
            List<String> runs = new ArrayList<>();
            // One step: once the runs are queued no other message comes, so only released slots can wake the claims.
            for (int i = 0; i < 6; i++) {
                runs.add(producer.requestBody("pgflow:" + FLOW, "{\"n\": " + i + "}", String.class));
            }
            JdbcTemplate jdbc = new JdbcTemplate(dataSource);
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(jdbc.queryForList(
                    "select status from pgflow.runs where run_id = any(?::uuid[])", String.class, (Object) runs.toArray(String[]::new)))
                    .hasSize(6).containsOnly("completed"));
        }
    }

    @Test
    void aTaskThatEndsWithSlotsToSpareReadsNothing() throws Exception {
        try (CamelContext camel = worker(16)) {
            JdbcTemplate jdbc = new JdbcTemplate(dataSource);
            // The fallback poll's first run, at start (it reads nothing if it comes before the flow's version is known).
            Thread.sleep(500);
            double readsBefore = reads();
            String run = camel.createProducerTemplate().requestBody("pgflow:" + FLOW, "{\"n\": 1}", String.class);
            await().atMost(Duration.ofSeconds(30)).until(() -> "completed".equals(
                    jdbc.queryForObject("select status from pgflow.runs where run_id = ?::uuid", String.class, run)));
            // The run's task was read once, on its queue's NOTIFY, and its end read nothing (it used to read once more).
            Thread.sleep(500);
            assertThat(reads() - readsBefore).isEqualTo(1);
        }
    }

    private double reads() {
        return meters.counter("gateway.worker.queue.reads").count();
    }

    private CamelContext worker(int concurrency) throws Exception {
        CamelContext camel = new DefaultCamelContext();
        camel.getRegistry().bind("dataSource", dataSource);
        camel.getRegistry().bind("meters", meters);
        PgflowComponent pgflow = new PgflowComponent();
        pgflow.setConcurrency(concurrency);
        pgflow.setPollInterval(Duration.ofHours(1));
        camel.addComponent("pgflow", pgflow);
        camel.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("pgflow:" + FLOW + "/count").routeId("tally-count")
                        .process(exchange -> Thread.sleep(50))
                        .setBody(constant(Map.of("counted", true)));
            }
        });
        camel.start();
        return camel;
    }
}
