package io.github.pgflowchat.component.pgflow;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Compiles a {@link FlowShape} into the SQL that creates its version in pgflow 0.8.1: the flow, its steps with
 * explicit options, and the NOTIFY trigger on the version's pgmq queue that wakes the workers.
 *
 * <p>The script may run where the version is already installed: the flow is created only if it is missing, the
 * function and the trigger are created or replaced. It must run in one transaction (Flyway, {@code psql -1},
 * or one JDBC statement in auto-commit), because its advisory locks last until the transaction ends: one on
 * {@link #lockKey(String) the version}, which {@link FlowInstaller} takes too, and one on the shared trigger
 * function, so that versions installed at the same moment do not replace it concurrently.
 */
public final class FlowCompiler {

    /** pgflow's own defaults of {@code pgflow.flows}; every step sets its own options, so these never apply. */
    private static final int FLOW_MAX_ATTEMPTS = 3;
    private static final int FLOW_BASE_DELAY = 1;
    private static final int FLOW_TIMEOUT = 60;

    private static final String NOTIFY_FUNCTION = "public.notify_pgmq_queue";

    private FlowCompiler() {
    }

    public static String sql(FlowShape shape) {
        String version = shape.versionSlug();
        StringBuilder sql = new StringBuilder();
        sql.append("-- Flow ").append(shape.flow()).append(", version ").append(version)
                .append(": compiled from the shape its step routes declare.\n");
        sql.append("-- Steps, in the order they are added:\n");
        for (StepShape step : shape.steps()) {
            sql.append("--   ").append(step.slug()).append(": ")
                    .append(step.dependsOn().isEmpty() ? "no dependencies" : "after " + String.join(", ", step.dependsOn()))
                    .append("; ").append(step.maxAttempts()).append(" attempts, base delay ").append(step.baseDelay())
                    .append(" s, timeout ").append(step.timeout()).append(" s\n");
        }
        sql.append("-- The version is the first 8 hex digits of the sha256 of this canonical form:\n");
        shape.canonicalForm().lines().forEach(line -> sql.append("--   ").append(line).append('\n'));
        sql.append("-- Run it in one transaction: the advisory locks below last until it ends.\n\n");

        sql.append("select pg_advisory_xact_lock(").append(lockKey(version)).append(");\n\n");
        sql.append("do $flow$\nbegin\n");
        sql.append("    if not exists (select 1 from pgflow.flows where flow_slug = ").append(literal(version)).append(") then\n");
        sql.append("        perform pgflow.create_flow(").append(literal(version))
                .append(", max_attempts => ").append(FLOW_MAX_ATTEMPTS)
                .append(", base_delay => ").append(FLOW_BASE_DELAY)
                .append(", timeout => ").append(FLOW_TIMEOUT).append(");\n");
        for (StepShape step : shape.steps()) {
            sql.append("        perform pgflow.add_step(").append(literal(version)).append(", ").append(literal(step.slug()))
                    .append(", deps_slugs => ").append(textArray(step))
                    .append(", max_attempts => ").append(step.maxAttempts())
                    .append(", base_delay => ").append(step.baseDelay())
                    .append(", timeout => ").append(step.timeout()).append(");\n");
        }
        sql.append("    end if;\nend\n$flow$;\n\n");

        sql.append("-- Workers wait for this NOTIFY instead of sleeping between polls. It fires once per statement that enqueues\n");
        sql.append("-- tasks (pgmq.send_batch inside pgflow.start_ready_steps) and is delivered when that transaction commits.\n");
        sql.append("select pg_advisory_xact_lock(").append(lockKey(NOTIFY_FUNCTION)).append(");\n");
        sql.append("create or replace function ").append(NOTIFY_FUNCTION).append("() returns trigger\n");
        sql.append("language plpgsql\nas $$\nbegin\n    perform pg_notify('pgmq_queue', tg_argv[0]);\n    return null;\nend;\n$$;\n\n");
        sql.append("create or replace trigger ").append(version).append("_queue_notify\n");
        sql.append("    after insert on pgmq.q_").append(version).append('\n');
        sql.append("    for each statement execute function ").append(NOTIFY_FUNCTION).append('(').append(literal(version)).append(");\n");
        return sql.toString();
    }

    /**
     * The advisory lock key of a name (a version slug): the first 8 bytes of its sha256 as a signed 64-bit number,
     * so the key is the same in every process and in the compiled SQL.
     */
    public static long lockKey(String name) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(("pgflow flow " + name).getBytes(StandardCharsets.UTF_8));
            return ByteBuffer.wrap(digest).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    private static String textArray(StepShape step) {
        if (step.dependsOn().isEmpty()) {
            return "array[]::text[]";
        }
        StringBuilder array = new StringBuilder("array[");
        for (int i = 0; i < step.dependsOn().size(); i++) {
            array.append(i == 0 ? "" : ", ").append(literal(step.dependsOn().get(i)));
        }
        return array.append("]").toString();
    }

    /** Slugs are checked by FlowShape (letters, digits, _), so this quoting is a second line of defence only. */
    private static String literal(String value) {
        return "'" + value.replace("'", "''") + "'";
    }
}
