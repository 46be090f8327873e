package io.github.pgflowchat.examples;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

import com.zaxxer.hikari.HikariDataSource;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.springframework.jdbc.core.JdbcTemplate;

import io.github.pgflowchat.component.pgflow.PgflowComponent;

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

    /** Starts the routes, runs the flow once and returns its pgflow.runs row once it has ended (or at the timeout). */
    public static Map<String, Object> run(HikariDataSource dataSource, String routes, String flow, String input, Duration timeout)
            throws Exception {
        return run(dataSource, routes, flow, input, timeout, new PgflowComponent());
    }

    /** The same with a component configured by the caller (its transport, say). */
    public static Map<String, Object> run(HikariDataSource dataSource, String routes, String flow, String input, Duration timeout,
                                          PgflowComponent pgflow) throws Exception {
        try (CamelContext camel = new DefaultCamelContext()) {
            camel.getRegistry().bind("dataSource", dataSource);
            camel.addComponent("pgflow", pgflow);
            PluginHelper.getRoutesLoader(camel).loadRoutes(ResourceHelper.resolveMandatoryResource(camel, routes));
            camel.start();
            UUID runId = UUID.fromString(camel.createProducerTemplate().requestBody("pgflow:" + flow, input, String.class));
            return ended(new JdbcTemplate(dataSource), runId, timeout);
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
