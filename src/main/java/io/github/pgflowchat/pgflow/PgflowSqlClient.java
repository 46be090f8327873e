package io.github.pgflowchat.pgflow;

import java.sql.Array;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.springframework.jdbc.core.ArgumentPreparedStatementSetter;
import org.springframework.jdbc.core.ConnectionCallback;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * pgflow's worker-side SQL API, one call per method, named as in pgflow's own {@code PgflowSqlClient}:
 * read messages, start tasks, complete or fail a task, start a flow. Every value is a bound parameter.
 */
@Component
public class PgflowSqlClient {

    // The joined step_tasks row is read with the statement's snapshot, taken before start_tasks incremented
    // attempts_count: the attempt now starting is that count + 1. pgflow 0.8.1's start_tasks means to hide each claimed
    // message for its step's timeout + 2 s but does not (issue #656): the same statement hides it for the worker's
    // lease (at most that long), so that starting the tasks and leasing their messages is one round trip, not two.
    private static final String START_TASKS = """
            with started as (
                select t.flow_slug, t.run_id, t.step_slug, t.task_index, t.msg_id, t.input::text as input,
                       coalesce(s.opt_timeout, f.opt_timeout) as timeout_seconds,
                       coalesce(s.opt_max_attempts, f.opt_max_attempts) as max_attempts,
                       st.attempts_count + 1 as attempt, to_jsonb(ss.started_at) #>> '{}' as step_started_at
                  from pgflow.start_tasks(flow_slug => ?, msg_ids => ?::bigint[], worker_id => ?::uuid) t
                  join pgflow.flows f on f.flow_slug = t.flow_slug
                  join pgflow.steps s on s.flow_slug = t.flow_slug and s.step_slug = t.step_slug
                  join pgflow.step_tasks st on st.run_id = t.run_id and st.step_slug = t.step_slug
                                           and st.task_index = t.task_index
                  join pgflow.step_states ss on ss.run_id = t.run_id and ss.step_slug = t.step_slug
            ),
            leased as (
                select count(*) as messages
                  from pgflow.set_vt_batch(?, (select array_agg(msg_id order by msg_id) from started),
                                           (select array_agg(least(?, timeout_seconds + ?) order by msg_id) from started))
            )
            select started.* from started, leased
            """;

    // The same for a run's queued task of one step, found and locked in the same statement: one round trip for a claim
    // that knows the task but not its message. A row another claim has locked is skipped, not waited for.
    private static final String START_QUEUED_TASK = """
            with queued as (
                select q.message_id
                  from pgflow.step_tasks q
                 where q.run_id = ?::uuid and q.step_slug = ? and q.status = 'queued' and q.message_id is not null
                   for update skip locked
            ),
            """ + START_TASKS.replaceFirst("^with started", "started").replace("msg_ids => ?::bigint[]", "msg_ids => (select array_agg(message_id) from queued)");

    // A worker ends only an attempt that is still its own: started, by it, and not started again since. Another instance
    // may have handed the task back meanwhile (it took this one for gone) and a third may be running it now; pgflow
    // 0.8.1's complete_task and fail_task check only the task's status. The row stays locked until the call is done.
    private static final String STILL_OURS = """
            select t.run_id, t.step_slug, t.task_index
              from pgflow.step_tasks t
             where t.run_id = ?::uuid and t.step_slug = ? and t.task_index = ?
               and t.status = 'started' and t.last_worker_id = ?::uuid and t.attempts_count = ?
               for update
            """;
    // complete_task returns the task as it stored it: the output as jsonb gives it back, and the time it completed, which
    // is the step's too (both are the transaction's now()).
    private static final String COMPLETE_TASK = "with ours as (" + STILL_OURS + """
            )
            select done.output::text as output, to_jsonb(done.completed_at) #>> '{}' as completed_at from ours
             cross join lateral pgflow.complete_task(run_id => ours.run_id, step_slug => ours.step_slug,
                                                     task_index => ours.task_index, output => ?::jsonb) done
            """;
    // What a commit of a followed run also did, read in its round trip: the statements below run in the commit's own
    // transaction (one implicit transaction up to the protocol's Sync), after the call, so they see what it did, and
    // now() is that transaction's time, which pgflow gave every step it started and the run if it completed it.
    private static final String STEPS_STARTED_NOW = """
            select s.step_slug, to_jsonb(s.started_at) #>> '{}' as started_at
              from pgflow.step_states s
              join pgflow.steps st on st.flow_slug = s.flow_slug and st.step_slug = s.step_slug
             where s.run_id = ?::uuid and s.started_at = now()
             order by st.step_index""";
    private static final String RUN_COMPLETED_NOW = """
            select to_jsonb(r.completed_at) #>> '{}' as completed_at, r.output::text as output,
                   (select array_agg(s.step_slug order by s.step_slug) from pgflow.step_states s where s.run_id = r.run_id) as steps
              from pgflow.runs r
             where r.run_id = ?::uuid and r.status = 'completed' and r.completed_at = now()""";
    private static final String START_FLOW = "select run_id from pgflow.start_flow(flow_slug => ?::text, input => ?::jsonb, run_id => ?::uuid)";
    private static final String FAIL_TASK = "with ours as (" + STILL_OURS + """
            )
            select count(*) from ours
             cross join lateral (select count(*) from pgflow.fail_task(run_id => ours.run_id, step_slug => ours.step_slug,
                                                                        task_index => ours.task_index, error_message => ?::text)) done
            """;

    private final JdbcTemplate jdbc;
    private final ObjectMapper json;
    private final TransactionTemplate transaction;

    public PgflowSqlClient(JdbcTemplate jdbc, ObjectMapper json, TransactionTemplate transaction) {
        this.jdbc = jdbc;
        this.json = json;
        this.transaction = transaction;
    }

    /**
     * Reads up to {@code batchSize} visible messages and hides them for {@code visibilityTimeout} seconds. Each comes
     * with the worker of the instance holding its run's chat stream ({@code streamWorkerId} in the run input) if that
     * worker is alive: registered, not stopped, with a heartbeat within {@code aliveWithinSeconds}, and, when
     * {@code trustLocks}, with its lock held if it takes one (decision record 0012).
     */
    public List<QueueMessage> readMessages(String queueName, int visibilityTimeout, int batchSize, long aliveWithinSeconds,
                                           boolean trustLocks) {
        return jdbc.query("""
                        select m.msg_id, m.read_ct, extract(epoch from clock_timestamp() - m.enqueued_at) * 1000 as waited_ms,
                               m.message ->> 'run_id' as run_id, m.message ->> 'step_slug' as step_slug, w.worker_id as stream_worker_id
                          from pgmq.read(queue_name => ?, vt => ?, qty => ?) m
                          left join pgflow.runs r on r.run_id = (m.message ->> 'run_id')::uuid
                          left join pgflow.workers w on w.worker_id::text = r.input ->> 'streamWorkerId'
                                                    and w.deprecated_at is null
                                                    and w.last_heartbeat_at > now() - make_interval(secs => ?)
                                                    and (not ? or public.gateway_worker_lock_held(w.worker_id) is not false)
                        """,
                (rs, i) -> new QueueMessage(rs.getLong("msg_id"), rs.getInt("read_ct"), rs.getDouble("waited_ms"),
                        UUID.fromString(rs.getString("run_id")), rs.getString("step_slug"), rs.getObject("stream_worker_id", UUID.class)),
                queueName, visibilityTimeout, batchSize, aliveWithinSeconds, trustLocks);
    }

    /** Messages in the queue, visible or not (pgmq.metrics). */
    public long queueLength(String queueName) {
        Long length = jdbc.queryForObject("select queue_length from pgmq.metrics(?)", Long.class, queueName);
        return length == null ? 0 : length;
    }

    /**
     * Claims the tasks behind the messages and hides each claimed message for {@code leaseSeconds}, or its step's
     * timeout + {@code marginSeconds} if that is shorter. Messages whose task is not queued any more (started
     * elsewhere, run failed) return no row and must be left alone.
     */
    public List<StepTask> startTasks(String flowSlug, List<Long> msgIds, UUID workerId, int leaseSeconds, int marginSeconds) {
        return jdbc.execute((ConnectionCallback<List<StepTask>>) connection -> {
            Array ids = connection.createArrayOf("bigint", msgIds.toArray());
            try {
                return jdbc.query(START_TASKS, (rs, i) -> toStepTask(rs), flowSlug, ids, workerId, flowSlug, leaseSeconds, marginSeconds);
            } finally {
                ids.free();
            }
        });
    }

    /**
     * Claims a run's queued task of one step, in a flow version known to the caller, as {@link #startTasks} does; an
     * empty list when it is not queued (not ready yet, or claimed already).
     */
    public List<StepTask> startQueuedTask(String flowSlug, UUID runId, String stepSlug, UUID workerId, int leaseSeconds, int marginSeconds) {
        return jdbc.query(START_QUEUED_TASK, (rs, i) -> toStepTask(rs), runId, stepSlug, flowSlug, workerId, flowSlug, leaseSeconds, marginSeconds);
    }

    /**
     * The message of a run's queued task of one step, if it is still queued: what an instance passes to start_tasks
     * to claim, without reading the queue, a task it must run itself.
     */
    public Optional<QueuedTask> queuedMessage(UUID runId, String stepSlug) {
        return jdbc.query("select flow_slug, message_id from pgflow.step_tasks where run_id = ? and step_slug = ? and status = 'queued'",
                (rs, i) -> new QueuedTask(rs.getString("flow_slug"), rs.getLong("message_id")), runId, stepSlug).stream().findFirst();
    }

    /** A queued task's message, in the queue of its flow version. */
    public record QueuedTask(String flowSlug, long msgId) {
    }

    /**
     * Completes the attempt if it is still this worker's, and returns the task as pgflow stored it; empty when it is not
     * this worker's any more (the result is then dropped). With {@code whatItStarted}, the same round trip reads the
     * steps the completion started and the run if it completed it.
     */
    public Optional<CompletedTask> completeTask(StepTask task, UUID workerId, JsonNode output, boolean whatItStarted) {
        if (!whatItStarted) {
            return jdbc.query(COMPLETE_TASK, (rs, i) -> new CompletedTask(rs.getString("output"), rs.getString("completed_at"), List.of(), null),
                    task.runId(), task.stepSlug(), task.taskIndex(), workerId, task.attempt(), writeJson(output)).stream().findFirst();
        }
        String text = writeJson(output);
        return jdbc.execute((ConnectionCallback<Optional<CompletedTask>>) connection -> {
            try (PreparedStatement statement = connection.prepareStatement(COMPLETE_TASK + ";\n" + STEPS_STARTED_NOW + ";\n" + RUN_COMPLETED_NOW)) {
                new ArgumentPreparedStatementSetter(new Object[] {task.runId(), task.stepSlug(), task.taskIndex(), workerId, task.attempt(), text,
                        task.runId(), task.runId()}).setValues(statement);
                statement.execute();
                String stored = null;
                String completedAt = null;
                boolean ours;
                try (ResultSet rs = statement.getResultSet()) {
                    ours = rs.next();
                    if (ours) {
                        stored = rs.getString("output");
                        completedAt = rs.getString("completed_at");
                    }
                }
                List<StepStart> started = nextStepsStarted(statement);
                RunCompletion run = null;
                statement.getMoreResults();
                try (ResultSet rs = statement.getResultSet()) {
                    if (rs.next()) {
                        run = new RunCompletion(rs.getString("completed_at"), rs.getString("output"),
                                List.of((String[]) rs.getArray("steps").getArray()));
                    }
                }
                return ours ? Optional.of(new CompletedTask(stored, completedAt, started, run)) : Optional.empty();
            }
        });
    }

    /**
     * A task pgflow has completed: its output as stored (JSON text) and when it completed; when asked for, the steps
     * the completion started and the run's completion (null if the run goes on).
     */
    public record CompletedTask(String output, String completedAt, List<StepStart> started, RunCompletion run) {
    }

    /** A step pgflow started, and when ({@code started_at} as JSON text). */
    public record StepStart(String stepSlug, String startedAt) {
    }

    /** A run pgflow completed: when, its output (JSON text) and the slugs of all its steps. */
    public record RunCompletion(String completedAt, String output, List<String> steps) {
    }

    /** Fails the attempt (pgflow retries it while attempts remain) if it is still this worker's. */
    public boolean failTask(StepTask task, UUID workerId, String errorMessage) {
        return counted(jdbc.queryForObject(FAIL_TASK, Long.class,
                task.runId(), task.stepSlug(), task.taskIndex(), workerId, task.attempt(), errorMessage));
    }

    /**
     * Fails an attempt and, when pgflow queued the task again, broadcasts {@code step:retrying} on the run's topic in
     * the same transaction: pgflow 0.8.1 broadcasts nothing for a retry, and the chat stream showing the run may be
     * on another instance. The event name carries the attempt, so every retry is an event of its own.
     */
    public boolean failTaskAndAnnounceRetry(StepTask task, UUID workerId, String errorMessage) {
        return Boolean.TRUE.equals(transaction.execute(status -> {
            if (!failTask(task, workerId, errorMessage)) {
                return false;
            }
            jdbc.query("""
                    select realtime.send(
                               jsonb_build_object('event_type', 'step:retrying', 'run_id', t.run_id, 'step_slug', t.step_slug,
                                                  'status', 'retrying', 'attempt', t.attempts_count + 1,
                                                  'max_attempts', ?::int, 'error_message', t.error_message),
                               concat('step:', t.step_slug, ':retrying:', t.attempts_count + 1),
                               concat('pgflow:run:', t.run_id),
                               false)
                      from pgflow.step_tasks t
                     where t.run_id = ?::uuid and t.step_slug = ? and t.task_index = ? and t.status = 'queued'
                    """, rs -> { }, task.maxAttempts(), task.runId(), task.stepSlug(), task.taskIndex());
            return true;
        }));
    }

    /**
     * Fails a task with no retry, for a step stopped on purpose. pgflow 0.8.1's fail_task retries while attempts
     * remain and has no other way to fail a run, so the task's attempts are first counted as used up, in the same
     * transaction (decision record 0006).
     */
    public boolean failTaskWithoutRetry(StepTask task, UUID workerId, String errorMessage) {
        return changeAttemptsThenFail(task, workerId, """
                update pgflow.step_tasks t
                   set attempts_count = greatest(t.attempts_count, coalesce(s.opt_max_attempts, f.opt_max_attempts))
                  from pgflow.steps s, pgflow.flows f
                 where t.run_id = ?::uuid and t.step_slug = ? and t.task_index = ?
                   and s.flow_slug = t.flow_slug and s.step_slug = t.step_slug and f.flow_slug = t.flow_slug
                """, errorMessage);
    }

    /**
     * Gives a running task back to pgflow without counting the attempt, for an instance that shuts down: the attempt
     * is uncounted first, so fail_task queues the task again (after base_delay × 2^attempts, as for any retry) even
     * if it was the last, and the next attempt has the same number (decision record 0012). False when the task was
     * not this worker's any more.
     */
    public boolean handBack(StepTask task, UUID workerId, String reason) {
        return changeAttemptsThenFail(task, workerId, """
                update pgflow.step_tasks t
                   set attempts_count = t.attempts_count - 1
                 where t.run_id = ?::uuid and t.step_slug = ? and t.task_index = ?
                """, reason);
    }

    /** In one transaction: lock the attempt if it is still this worker's, change its attempt count, then fail it. */
    private boolean changeAttemptsThenFail(StepTask task, UUID workerId, String updateAttempts, String errorMessage) {
        return Boolean.TRUE.equals(transaction.execute(status -> {
            if (jdbc.queryForList(STILL_OURS, task.runId(), task.stepSlug(), task.taskIndex(), workerId, task.attempt()).isEmpty()) {
                return false;
            }
            jdbc.update(updateAttempts, task.runId(), task.stepSlug(), task.taskIndex());
            jdbc.query("select 1 from pgflow.fail_task(run_id => ?::uuid, step_slug => ?::text, task_index => ?::int, error_message => ?::text)",
                    rs -> { }, task.runId(), task.stepSlug(), task.taskIndex(), errorMessage);
            return true;
        }));
    }

    private static boolean counted(Long rows) {
        return rows != null && rows > 0;
    }

    /**
     * The versions of a flow that have started runs, newest first: the flow's own slug (an unversioned flow, as the
     * first chat_pipeline migration made) and every {@code <flow>_<8 hex>}, created no later than {@code notAfter}
     * (a version slug; null for no bound). A worker serves these so runs in flight finish.
     */
    public List<String> versionsWithStartedRuns(String flow, String notAfter) {
        return jdbc.queryForList("""
                        select f.flow_slug
                          from pgflow.flows f
                         where (f.flow_slug = ? or f.flow_slug ~ ('^' || ? || '_[0-9a-f]{8}$'))
                           and exists (select 1 from pgflow.runs r where r.flow_slug = f.flow_slug and r.status = 'started')
                           and (?::text is null
                                or f.created_at <= (select c.created_at from pgflow.flows c where c.flow_slug = ?::text))
                         order by f.created_at desc, f.flow_slug desc
                        """,
                String.class, flow, flow, notAfter, notAfter);
    }

    /** Starts a run with a run id chosen by the caller, so the caller can subscribe to its events first. */
    public UUID startFlow(String flowSlug, JsonNode input, UUID runId) {
        return jdbc.queryForObject(START_FLOW, UUID.class, flowSlug, writeJson(input), runId);
    }

    /** {@link #startFlow}, and in the same round trip the steps the start started (the flow's roots). */
    public List<StepStart> startFlowReadingStartedSteps(String flowSlug, JsonNode input, UUID runId) {
        String text = writeJson(input);
        return jdbc.execute((ConnectionCallback<List<StepStart>>) connection -> {
            try (PreparedStatement statement = connection.prepareStatement(START_FLOW + ";\n" + STEPS_STARTED_NOW)) {
                new ArgumentPreparedStatementSetter(new Object[] {flowSlug, text, runId, runId}).setValues(statement);
                statement.execute();
                return nextStepsStarted(statement);
            }
        });
    }

    /** The next result of a statement sent with {@link #STEPS_STARTED_NOW} after it. */
    private static List<StepStart> nextStepsStarted(PreparedStatement statement) throws SQLException {
        statement.getMoreResults();
        List<StepStart> started = new ArrayList<>();
        try (ResultSet rs = statement.getResultSet()) {
            while (rs.next()) {
                started.add(new StepStart(rs.getString("step_slug"), rs.getString("started_at")));
            }
        }
        return List.copyOf(started);
    }

    /** pgflow 0.8.1's start_tasks does not apply the step timeout to the message (issue #656); the worker does. */
    public void setVisibility(String queueName, List<Long> msgIds, List<Integer> offsetsSeconds) {
        jdbc.execute((ConnectionCallback<Void>) connection -> {
            Array ids = connection.createArrayOf("bigint", msgIds.toArray());
            Array offsets = connection.createArrayOf("integer", offsetsSeconds.toArray());
            try {
                jdbc.query("select 1 from pgflow.set_vt_batch(?, ?::bigint[], ?::int[])", rs -> { }, queueName, ids, offsets);
            } finally {
                ids.free();
                offsets.free();
            }
            return null;
        });
    }

    private StepTask toStepTask(ResultSet rs) throws SQLException {
        try {
            return new StepTask(rs.getString("flow_slug"), rs.getObject("run_id", UUID.class), rs.getString("step_slug"),
                    rs.getInt("task_index"), rs.getLong("msg_id"), json.readTree(rs.getString("input")),
                    rs.getInt("timeout_seconds"), rs.getInt("attempt"), rs.getInt("max_attempts"), rs.getString("step_started_at"),
                    System.nanoTime());
        } catch (JsonProcessingException e) {
            throw new SQLException("pgflow returned task input that is not JSON", e);
        }
    }

    private String writeJson(JsonNode node) {
        try {
            return json.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot serialise JSON", e);
        }
    }
}
