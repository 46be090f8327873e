package io.github.pgflowchat.retention;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Deletes what the service no longer needs, in batches so no statement holds its locks for long: finished runs older
 * than {@code RUN_RETENTION} with their step states and tasks (questions and answers are personal data), the queue's
 * archived messages as old, the {@code realtime.send} stand-in's broadcasts older than {@code EVENTS_RETENTION}, and
 * pgflow worker rows whose heartbeat stopped long ago (one is left behind by every start). Runs on a thread of its
 * own, so a long pruning never delays the worker's heartbeat.
 */
@Component
@EnableConfigurationProperties(RetentionProperties.class)
public class DataRetention implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(DataRetention.class);
    /** Lets the application finish starting before the first pruning; instances that restart often still prune. */
    private static final Duration FIRST_RUN_AFTER = Duration.ofMinutes(1);
    /** A live worker's heartbeat is seconds old; a row silent for less than this may still belong to a paused JVM. */
    private static final Duration MIN_DEAD_WORKER_AGE = Duration.ofHours(1);

    /**
     * Runs with their tasks and step states in one statement: the foreign keys are checked at its end, when all three
     * are gone. Rows another instance is deleting at the same moment are skipped, not waited for.
     */
    private static final String DELETE_RUNS = """
            with doomed as (
                select run_id from pgflow.runs
                where status in ('completed', 'failed') and coalesce(completed_at, failed_at) < now() - ?::interval
                limit ? for update skip locked),
            tasks as (delete from pgflow.step_tasks t using doomed where t.run_id = doomed.run_id),
            states as (delete from pgflow.step_states s using doomed where s.run_id = doomed.run_id)
            delete from pgflow.runs r using doomed where r.run_id = doomed.run_id""";
    private static final String DELETE_WORKERS = """
            delete from pgflow.workers where worker_id in (
                select worker_id from pgflow.workers where last_heartbeat_at < now() - ?::interval limit ? for update skip locked)""";
    /** Only the stand-in's table: on Supabase, realtime.messages is Realtime's own, and Supabase prunes it. */
    private static final String STAND_IN_MESSAGES = """
            select coalesce(obj_description(to_regclass('realtime.messages'), 'pg_class') like '%pgflow chat gateway stand-in%', false)""";
    private static final String DELETE_MESSAGES = """
            delete from realtime.messages where id in (
                select id from realtime.messages where inserted_at < now() - ?::interval limit ? for update skip locked)""";

    private final JdbcTemplate jdbc;
    private final RetentionProperties properties;
    private final Duration eventsRetention;
    private final String flowSlug;
    private ScheduledExecutorService scheduler;

    public DataRetention(JdbcTemplate jdbc, RetentionProperties properties,
                         @Value("${gateway.events.retention}") Duration eventsRetention,
                         @Value("${gateway.flow-slug}") String flowSlug) {
        if (!flowSlug.matches("[a-zA-Z_][a-zA-Z0-9_]*")) {
            throw new IllegalStateException("gateway.flow-slug must be a pgflow slug, not '" + flowSlug + "'");
        }
        if (properties.runs().isNegative()) {
            throw new IllegalStateException("RUN_RETENTION cannot be negative (0 keeps runs for ever), not " + properties.runs());
        }
        // The stand-in keeps broadcasts as Supabase's realtime.messages does, for whoever relays them; none go at once.
        if (eventsRetention.isNegative() || eventsRetention.isZero()) {
            throw new IllegalStateException("EVENTS_RETENTION must be positive, not " + eventsRetention);
        }
        if (properties.batchSize() < 1 || properties.interval().isNegative() || properties.interval().isZero()) {
            throw new IllegalStateException("gateway.retention.batch-size and RETENTION_INTERVAL must be positive");
        }
        if (properties.deadWorkers().compareTo(MIN_DEAD_WORKER_AGE) < 0) {
            throw new IllegalStateException("WORKER_ROW_RETENTION (gateway.retention.dead-workers) must be at least "
                    + MIN_DEAD_WORKER_AGE + ", not " + properties.deadWorkers());
        }
        this.jdbc = jdbc;
        this.properties = properties;
        this.eventsRetention = eventsRetention;
        this.flowSlug = flowSlug;
    }

    /** One pruning, batch after batch until each kind has fewer old rows left than a batch. */
    public void prune() {
        long runs = 0;
        long archived = 0;
        if (!properties.runs().isZero()) {
            runs = deleteInBatches(DELETE_RUNS, properties.runs());
            // Each version of the flow has its queue, and so its archive.
            for (String version : flowVersions()) {
                String archiveTable = "pgmq.a_" + version;
                archived += deleteInBatches("delete from " + archiveTable + " where msg_id in (select msg_id from " + archiveTable
                        + " where archived_at < now() - ?::interval limit ? for update skip locked)", properties.runs());
            }
        }
        long workers = deleteInBatches(DELETE_WORKERS, properties.deadWorkers());
        long messages = Boolean.TRUE.equals(jdbc.queryForObject(STAND_IN_MESSAGES, Boolean.class))
                ? deleteInBatches(DELETE_MESSAGES, eventsRetention) : 0;
        if (runs + archived + workers + messages > 0) {
            log.info("Pruned {} finished run(s), {} archived queue message(s), {} dead worker row(s), {} broadcast(s)",
                    runs, archived, workers, messages);
        }
    }

    /** The flow's versions: its own slug and its slug with a shape hash; each name is a checked pgflow slug. */
    private java.util.List<String> flowVersions() {
        return jdbc.queryForList("""
                select flow_slug from pgflow.flows
                 where (flow_slug = ? or flow_slug ~ ('^' || ? || '_[0-9a-f]{8}$'))
                   and to_regclass('pgmq.a_' || flow_slug) is not null
                """, String.class, flowSlug, flowSlug);
    }

    private long deleteInBatches(String sql, Duration olderThan) {
        String interval = olderThan.toSeconds() + " seconds";
        long total = 0;
        int deleted;
        do {
            deleted = jdbc.update(sql, interval, properties.batchSize());
            total += deleted;
        } while (deleted >= properties.batchSize());
        return total;
    }

    private void pruneAndLog() {
        try {
            prune();
        } catch (RuntimeException e) {
            // The next interval tries again; an outage must not end the schedule.
            log.warn("Pruning old data failed: {}", e.toString());
        }
    }

    @Override
    public void start() {
        scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "retention");
            thread.setDaemon(true);
            return thread;
        });
        scheduler.scheduleWithFixedDelay(this::pruneAndLog, FIRST_RUN_AFTER.toMillis(), properties.interval().toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void stop() {
        scheduler.shutdownNow();
        scheduler = null;
    }

    @Override
    public boolean isRunning() {
        return scheduler != null;
    }
}
