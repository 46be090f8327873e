package io.github.pgflowchat.examples;

import static org.apache.camel.builder.Builder.header;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariDataSource;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.NotifyBuilder;
import org.apache.camel.builder.PredicateBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.springframework.jdbc.core.JdbcTemplate;

import io.github.pgflowchat.component.pgflow.PgflowComponent;
import io.github.pgflowchat.component.pgflow.PgflowConstants;
import io.github.pgflowchat.component.pgflow.PgflowEventConsumer;

/**
 * The pgflow component without the chat gateway: a plain Camel application whose YAML routes are the workers of a
 * flow's steps. It starts one run of the flow with the given input and prints the run's output. The database must
 * have pgflow's SQL and the worker-lock migration (the service's migrations; README, "The pgflow component on its own").
 * <p>
 * Usage: {@code MinimalWorker <jdbc url> <routes file> <flow> <input JSON>}.
 */
public final class MinimalWorker {

    private MinimalWorker() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: MinimalWorker <jdbc url> <routes file> <flow> <input JSON>");
            System.exit(2);
        }
        try (HikariDataSource dataSource = new HikariDataSource()) {
            dataSource.setJdbcUrl(args[0]);
            Map<String, Object> run = run(dataSource, args[1], args[2], args[3], Duration.ofSeconds(30));
            System.out.println("run " + run.get("run_id") + " " + run.get("status") + " on " + run.get("flow_slug") + ": " + run.get("output"));
        }
    }

    /**
     * Starts the routes, runs the flow once and returns its pgflow.runs row once it has ended (or at the timeout), and
     * once the flow's events route, if there is one, has been handed the run's last event.
     */
    public static Map<String, Object> run(HikariDataSource dataSource, String routes, String flow, String input, Duration timeout)
            throws Exception {
        return run(dataSource, routes, flow, input, timeout, new PgflowComponent());
    }

    /** The same with a component configured by the caller (its transport, say). */
    public static Map<String, Object> run(HikariDataSource dataSource, String routes, String flow, String input, Duration timeout,
                                          PgflowComponent pgflow) throws Exception {
        return run(dataSource, routes, flow, input, timeout, pgflow, () -> { });
    }

    /** The same, with {@code beforeRun} called once the routes have started, right before the run is started. */
    public static Map<String, Object> run(HikariDataSource dataSource, String routes, String flow, String input, Duration timeout,
                                          PgflowComponent pgflow, Runnable beforeRun) throws Exception {
        try (CamelContext camel = new DefaultCamelContext()) {
            camel.getRegistry().bind("dataSource", dataSource);
            camel.addComponent("pgflow", pgflow);
            PluginHelper.getRoutesLoader(camel).loadRoutes(ResourceHelper.resolveMandatoryResource(camel, routes));
            camel.start();
            // The run's last event, handed to the flow's events route (if the routes have one) before Camel stops.
            NotifyBuilder lastEvent = new NotifyBuilder(camel).from("pgflow:" + flow)
                    .filter(PredicateBuilder.or(header(PgflowConstants.EVENT_TYPE).isEqualTo("run:completed"),
                            header(PgflowConstants.EVENT_TYPE).isEqualTo("run:failed")))
                    .whenDone(1).create();
            beforeRun.run();
            UUID runId = UUID.fromString(camel.createProducerTemplate().requestBody("pgflow:" + flow, input, String.class));
            Map<String, Object> run = ended(new JdbcTemplate(dataSource), runId, timeout);
            if (camel.getRoutes().stream().anyMatch(route -> route.getConsumer() instanceof PgflowEventConsumer)) {
                lastEvent.matches(timeout.toMillis(), TimeUnit.MILLISECONDS);
            }
            return run;
        }
    }

    private static Map<String, Object> ended(JdbcTemplate jdbc, UUID runId, Duration timeout) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        while (true) {
            Map<String, Object> run = jdbc.queryForMap("select run_id, flow_slug, status, output::text as output from pgflow.runs where run_id = ?", runId);
            if (!"started".equals(run.get("status")) || Instant.now().isAfter(deadline)) {
                return run;
            }
            Thread.sleep(100);
        }
    }
}
