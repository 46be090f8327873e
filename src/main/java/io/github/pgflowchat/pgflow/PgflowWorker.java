package io.github.pgflowchat.pgflow;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.InitializingBean;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.logging.LogSafe;

/**
 * The state of this instance's pgflow worker: its registration in {@code pgflow.workers}, its lock and heartbeat, the
 * free task slots, and the compensation pgflow 0.8.1 leaves to workers (message visibility per step timeout,
 * recovery of tasks whose worker died, handing tasks back on shutdown). The flow through it is declared in
 * {@link PgflowWorkerRoutes}.
 */
@Component
public class PgflowWorker implements InitializingBean, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(PgflowWorker.class);
    /** Most messages one read takes: a worker with thousands of free streamed slots reads in batches of this size. */
    private static final int MAX_READ = 500;
    private static final int MAX_CLAIMED_ON_COMPLETION = 10_000;
    /** The run input's field naming the worker of the instance that holds the run's chat stream. */
    static final String STREAM_WORKER_ID = "streamWorkerId";

    /** Seconds past the step timeout that pgflow means a claimed message to stay hidden (timeout + 2). */
    static final int VISIBILITY_MARGIN_SECONDS = 2;
    /** Seconds past the step timeout before the sweeper takes a task from a live but stuck worker. */
    static final int STALLED_GRACE_SECONDS = 10;

    /** Why a task goes back to pgflow when the instance running it shuts down; it is stored as the task's error. */
    static final String SHUTDOWN_REASON = "handed back: the instance running it shut down";

    // A started task is stalled when the session lock of the worker that claimed it is free (its process or its
    // connection is gone: decision record 0012), when that worker stopped its heartbeat (it died or lost the database,
    // or takes no lock), was stopped, is unknown, or when the task has outlived its step timeout by the grace period.
    // Message visibility cannot tell this: any worker's read hides a visible message again. This worker never takes
    // itself for dead: after an outage its sweep may run before its heartbeat, while it still holds its tasks.
    private static final String REQUEUE_STALLED = """
            with stalled as (
                select t.run_id, t.step_slug, t.task_index,
                       case when c.timed_out then 'timed out: no result within ' || c.timeout_seconds || ' s'
                            when c.lock_free then 'worker ' || t.last_worker_id || ' is gone: its lock is free'
                            else 'worker ' || coalesce(t.last_worker_id::text, '(deleted)') || ' stopped responding'
                       end as reason
                  from pgflow.step_tasks t
                  join pgflow.runs r on r.run_id = t.run_id and r.status = 'started'
                  join pgflow.steps s on s.flow_slug = t.flow_slug and s.step_slug = t.step_slug
                  join pgflow.flows f on f.flow_slug = t.flow_slug
                  left join pgflow.workers w on w.worker_id = t.last_worker_id
                 cross join lateral (select coalesce(s.opt_timeout, f.opt_timeout) as timeout_seconds) o
                 cross join lateral (select t.started_at < now() - make_interval(secs => o.timeout_seconds + ?) as timed_out,
                                            o.timeout_seconds,
                                            w.worker_id <> ? and ? and public.gateway_worker_lock_held(w.worker_id) = false as lock_free) c
                 where t.flow_slug = any(string_to_array(?, ','))
                   and t.status = 'started'
                   and (c.timed_out
                        or c.lock_free
                        or w.worker_id is null
                        or w.deprecated_at is not null
                        or (w.worker_id <> ? and w.last_heartbeat_at < now() - make_interval(secs => ?)))
                   for update of t skip locked
            )
            select stalled.run_id, stalled.step_slug, stalled.reason
              from stalled,
                   lateral pgflow.fail_task(stalled.run_id, stalled.step_slug, stalled.task_index, stalled.reason)
            """;

    private final PgflowSqlClient pgflow;
    private final JdbcTemplate jdbc;
    private final WorkerProperties properties;
    private final String flowSlug;
    /** The flow's own slug, or that slug and the 8 hex digits of a shape's hash. */
    private final Pattern versionOfFlow;
    private final StepInvoker invoker;
    private final StepHandlers handlers;
    private final UUID workerId = UUID.randomUUID();
    private final WorkerLock lock;
    // Each periodic job on a thread of its own: a slow sweep (or anyone's slow @Scheduled job) must not delay the
    // heartbeat or the lock check, or peers would take this live instance for gone.
    private final ScheduledExecutorService heartbeats = singleThread("pgflow-heartbeat");
    private final ScheduledExecutorService sweeps = singleThread("pgflow-stalled-sweep");
    private final ScheduledExecutorService lockChecks = singleThread("pgflow-worker-lock");
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final Map<Long, StepTask> inFlight = new ConcurrentHashMap<>();
    /** "runId/stepSlug" of streamed tasks claimed when their dependency completed here, until their start event comes. */
    private final Set<String> claimedOnCompletion = ConcurrentHashMap.newKeySet();
    private final AtomicLong queueDepth = new AtomicLong();
    /**
     * Set when a claim may have left messages in the queue for want of a free slot: the next slot released wakes a
     * claim. Without it a released slot wakes none, since new messages wake the worker by NOTIFY.
     */
    private final AtomicBoolean shortOfSlots = new AtomicBoolean();
    private final AtomicLong releases = new AtomicLong();
    /** The version of the flow new runs start on: null until the flow's step routes are installed. */
    private volatile String currentVersion;
    /** The flow's versions that still have runs to finish, newest first (the current one is skipped where it is). */
    private volatile List<String> olderVersions = List.of();
    private final Timer dispatchLatency;
    private final Counter tasksLeftToStreams;
    private final Counter queueReads;
    private final MeterRegistry meters;
    private volatile boolean registered;
    private volatile CommittedSteps committedSteps = CommittedSteps.NONE;

    public PgflowWorker(PgflowSqlClient pgflow, JdbcTemplate jdbc, DataSource dataSource, WorkerProperties properties,
                        @Value("${gateway.flow-slug}") String flowSlug, StepInvoker invoker, StepHandlers handlers,
                        MeterRegistry meters) {
        this.pgflow = pgflow;
        this.jdbc = jdbc;
        this.properties = properties;
        this.flowSlug = flowSlug;
        this.versionOfFlow = Pattern.compile(Pattern.quote(flowSlug) + "(_[0-9a-f]{8})?");
        this.invoker = invoker;
        this.handlers = handlers;
        this.meters = meters;
        this.lock = new WorkerLock(dataSource, workerId);
        Gauge.builder("gateway.worker.tasks.in.flight", inFlight, Map::size)
                .description("Step tasks this instance is running")
                .register(meters);
        this.dispatchLatency = Timer.builder("gateway.worker.dispatch.latency")
                .description("From a task's message being queued to this worker reading it (first reads)")
                .publishPercentiles(0.5, 0.99)
                .register(meters);
        this.tasksLeftToStreams = Counter.builder("gateway.worker.tasks.left.to.stream")
                .description("Streamed steps' messages read here and left to the instance holding the run's chat stream")
                .register(meters);
        this.queueReads = Counter.builder("gateway.worker.queue.reads")
                .description("Reads of the flow's pgmq queues by this worker (a NOTIFY, the fallback poll, or a slot freed after a claim ran short)")
                .register(meters);
        Gauge.builder("gateway.queue.depth", queueDepth, AtomicLong::get)
                .description("Messages in the flow's pgmq queue, as of the last heartbeat")
                .register(meters);
    }

    public UUID workerId() {
        return workerId;
    }

    /** The flow this worker serves: every version of it (a pgflow flow cannot change once created). */
    public String flow() {
        return flowSlug;
    }

    /** The version new runs start on, from now on; its tasks are claimed first. */
    public void serveCurrentVersion(String versionSlug) {
        // Each step route's start says so: only a change is news.
        if (versionSlug.equals(currentVersion)) {
            return;
        }
        log.info("pgflow worker {} serves {} as the current version of flow {}", workerId, versionSlug, flowSlug);
        currentVersion = versionSlug;
        try {
            refreshOlderVersions();
        } catch (RuntimeException e) {
            log.warn("Could not read the versions of flow {} with runs to finish (the next sweep will): {}", flowSlug, e.getMessage());
        }
    }

    public String currentVersion() {
        return currentVersion;
    }

    /** The queues this worker reads: the current version, then the flow's other versions that have runs to finish. */
    public List<String> servedQueues() {
        String current = currentVersion;
        List<String> queues = new ArrayList<>(olderVersions.size() + 1);
        if (current != null) {
            queues.add(current);
        }
        olderVersions.stream().filter(version -> !version.equals(current)).forEach(queues::add);
        return queues;
    }

    /** Whether a queue is one of the flow's versions: the flow's own slug, or that slug and an 8-hex shape hash. */
    public boolean isVersionOfFlow(String queue) {
        return versionOfFlow.matcher(queue).matches();
    }

    /**
     * A queue of the flow got messages: if it is a version this worker does not serve yet, the versions it serves are
     * read again (it serves it from now on if it has started runs and is not newer than the current version).
     */
    public void queueNotified(String queue) {
        if (isVersionOfFlow(queue) && !queue.equals(currentVersion) && !olderVersions.contains(queue)) {
            refreshOlderVersions();
        }
    }

    /**
     * Finds the flow's versions that have started runs and were created no later than the current one; the sweep does
     * this every time it runs. A newer version belongs to a newer deployment, whose routes this instance does not
     * have: it leaves those runs to the instances that do.
     */
    synchronized void refreshOlderVersions() {
        String current = currentVersion;
        // Until the step routes have installed theirs, no version is known not to be newer than this deployment's.
        olderVersions = current == null ? List.of() : List.copyOf(pgflow.versionsWithStartedRuns(flowSlug, current));
    }

    public int inFlight() {
        return inFlight.size();
    }

    public boolean isRegistered() {
        return registered;
    }

    /** Whether this instance holds its session lock, i.e. peers can see that it is alive. */
    public boolean holdsLock() {
        return lock.isHeld();
    }

    /**
     * start_tasks records the worker id in a foreign key, so the worker row must exist before the first claim; the
     * lock is taken before the first claim too.
     */
    @Override
    public void afterPropertiesSet() throws SQLException {
        jdbc.update("insert into pgflow.workers (worker_id, queue_name, function_name, last_heartbeat_at) values (?, ?, ?, now())",
                workerId, flowSlug, "pgflow-chat-gateway");
        lock.register();
        registered = true;
        every(heartbeats, properties.heartbeatInterval(), properties.heartbeatInterval(), this::heartbeat);
        // At once: an instance restarted after a crash finds its predecessor's tasks while its routes still start.
        every(sweeps, Duration.ZERO, properties.stalledSweepInterval(), this::requeueStalledTasks);
        every(lockChecks, WorkerLock.CHECK_INTERVAL, WorkerLock.CHECK_INTERVAL, lock::check);
        log.info("pgflow worker {} registered for queue {} ({} tasks at once of the steps sharing its pool, {} of each streamed step)",
                workerId, flowSlug, properties.concurrency(), properties.streamedConcurrency());
    }

    /**
     * Stops claiming, hands every task in flight back to pgflow at once without counting its attempt (a live
     * instance takes it up after base_delay), interrupts their handlers, and marks the worker row stopped. The
     * handlers end in a fail_task that finds the task no longer this worker's and changes nothing.
     */
    public void stop() {
        if (!stopping.compareAndSet(false, true)) {
            return;
        }
        synchronized (this) {
            registered = false;
        }
        heartbeats.shutdown();
        sweeps.shutdown();
        for (StepTask task : List.copyOf(inFlight.values())) {
            try {
                if (pgflow.handBack(task, workerId, SHUTDOWN_REASON)) {
                    log.info("Handed {} back to pgflow: this instance shuts down", task);
                    record(task, "handed_back");
                }
            } catch (RuntimeException e) {
                log.warn("Could not hand {} back ({}); a peer takes it up once this instance's lock is free", task, e.getMessage());
            }
        }
        invoker.interruptAll();
        try {
            jdbc.update("update pgflow.workers set deprecated_at = now() where worker_id = ?", workerId);
        } catch (RuntimeException e) {
            log.warn("Could not mark pgflow worker {} stopped: {}", workerId, e.getMessage());
        }
    }

    /** Closing the lock's session frees the lock: the last thing this worker does. */
    @Override
    public void destroy() {
        stop();
        lockChecks.shutdown();
        lock.close();
    }

    /**
     * Reads as many messages as there are free slots and claims their tasks. pgflow 0.8.1's start_tasks means to
     * hide each claimed message for its step's timeout + 2 s but does not (issue #656); the worker hides it for a
     * lease and renews the lease with every heartbeat while the task runs, so that no worker keeps re-reading the
     * message of a running task.
     */
    public synchronized List<StepTask> claimTasks() {
        if (!mayClaim()) {
            return List.of();
        }
        List<StepTask> claimed = new ArrayList<>();
        long releasesBefore;
        do {
            releasesBefore = releases.get();
            if (!claimFromQueues(claimed)) {
                break;
            }
            shortOfSlots.set(true);
            // A slot released while this claim ran may have found the flag unset, and woken no claim: claim again.
        } while (releases.get() != releasesBefore && shortOfSlots.compareAndSet(true, false));
        return claimed;
    }

    /** One pass over the served queues; true when it may have left messages behind for want of a free slot. */
    private boolean claimFromQueues(List<StepTask> claimed) {
        Map<String, int[]> stepSlots = freeSlotsByStep();
        boolean leftForSlots = false;
        // The current version first; older ones only while they have runs to finish.
        for (String queue : servedQueues()) {
            while (true) {
                int free = Math.min(totalFree(stepSlots), MAX_READ);
                if (free == 0) {
                    leftForSlots = true;
                    break;
                }
                queueReads.increment();
                List<QueueMessage> messages = pgflow.readMessages(queue, properties.readVisibilitySeconds(), free,
                        properties.deadWorkerAfter().toSeconds(), lock.trustsPeersLocks());
                // First reads only: a retried message waited for its backoff on purpose.
                messages.stream().filter(m -> m.readCount() == 1)
                        .forEach(m -> dispatchLatency.record(Duration.ofNanos((long) (m.waitedMillis() * 1_000_000))));
                Sorted sorted = returnWhatThisInstanceCannotRun(queue, messages, stepSlots);
                leftForSlots |= sorted.leftForSlots();
                List<Long> claimable = leaveStreamedTasksToTheirStreams(queue, sorted.runnable());
                if (!claimable.isEmpty()) {
                    claimed.addAll(start(queue, claimable));
                }
                // A full read may have left more behind; one that returned messages would only read them again.
                if (messages.size() < free || sorted.runnable().size() < messages.size()) {
                    break;
                }
            }
        }
        return leftForSlots;
    }

    /**
     * Free slots of each step this instance serves. The steps without a pool of their own share one counter (the
     * worker's concurrency); a streamed step gets the streamed concurrency, a step whose route sets a concurrency gets
     * that. Tasks in flight of a step no route serves any more count against the shared pool.
     */
    private Map<String, int[]> freeSlotsByStep() {
        int[] shared = {properties.concurrency()};
        Map<String, int[]> free = new HashMap<>();
        handlers.all().forEach((slug, handler) -> free.put(slug, handler.concurrency() > 0 ? new int[] {handler.concurrency()}
                : handler.streamed() ? new int[] {properties.streamedConcurrency()} : shared));
        inFlight.values().forEach(task -> free.getOrDefault(task.stepSlug(), shared)[0]--);
        return free;
    }

    /** The free slots of all pools, each shared pool counted once. */
    private static int totalFree(Map<String, int[]> stepSlots) {
        Set<int[]> pools = Collections.newSetFromMap(new IdentityHashMap<>());
        pools.addAll(stepSlots.values());
        long free = pools.stream().mapToLong(pool -> Math.max(0, pool[0])).sum();
        return (int) Math.min(Integer.MAX_VALUE, free);
    }

    /**
     * Messages of steps that no route here serves, or whose pool is full, are made visible again at once for another
     * worker (or this one: a slot released after a claim that ran short wakes another).
     */
    private Sorted returnWhatThisInstanceCannotRun(String queue, List<QueueMessage> messages, Map<String, int[]> stepSlots) {
        List<QueueMessage> runnable = new ArrayList<>();
        List<Long> returned = new ArrayList<>();
        boolean leftForSlots = false;
        for (QueueMessage message : messages) {
            int[] slots = stepSlots.get(message.stepSlug());
            if (slots != null && slots[0] > 0) {
                slots[0]--;
                runnable.add(message);
            } else {
                leftForSlots |= slots != null;
                returned.add(message.msgId());
            }
        }
        if (!returned.isEmpty()) {
            pgflow.setVisibility(queue, returned, Collections.nCopies(returned.size(), 0));
        }
        return new Sorted(runnable, leftForSlots);
    }

    /** The messages of a read this instance runs, and whether it gave back any for want of a free slot. */
    private record Sorted(List<QueueMessage> runnable, boolean leftForSlots) {
    }

    /**
     * Claims a streamed step's task of a run whose chat stream this instance holds, as soon as pgflow queued it: the
     * event that says so arrives here, and another instance that read the message first has left it alone.
     */
    public synchronized List<StepTask> claimForStream(UUID runId, String stepSlug) {
        // Claimed already when the step it waited for completed here: its start event needs no look at the database.
        if (claimedOnCompletion.remove(runId + "/" + stepSlug)) {
            return List.of();
        }
        return claimQueued(runId, stepSlug);
    }

    private List<StepTask> claimQueued(UUID runId, String stepSlug) {
        if (!hasStreamedSlot(stepSlug)) {
            return List.of();
        }
        return pgflow.queuedMessage(runId, stepSlug).map(queued -> start(queued.flowSlug(), List.of(queued.msgId()))).orElse(List.of());
    }

    /** The same as {@link #claimQueued} in one round trip, for a caller that knows the run's flow version. */
    private List<StepTask> claimQueuedOf(String queue, UUID runId, String stepSlug) {
        if (!hasStreamedSlot(stepSlug)) {
            return List.of();
        }
        List<StepTask> tasks = pgflow.startQueuedTask(queue, runId, stepSlug, workerId, (int) properties.visibilityLease().toSeconds(),
                VISIBILITY_MARGIN_SECONDS);
        started(tasks);
        return tasks;
    }

    /**
     * Whether this worker may claim a task of the streamed step now. A task left queued for want of a slot is claimed
     * by the read that the next released slot wakes.
     */
    private boolean hasStreamedSlot(String stepSlug) {
        int[] slots = mayClaim() && handlers.isStreamed(stepSlug) ? freeSlotsByStep().get(stepSlug) : null;
        if (slots != null && slots[0] <= 0) {
            shortOfSlots.set(true);
        }
        return slots != null && slots[0] > 0;
    }

    /** Peers hand back at once what a worker without its lock starts, so such a worker claims nothing. */
    private boolean mayClaim() {
        return registered && lock.isHeld();
    }

    private List<StepTask> start(String queue, List<Long> msgIds) {
        List<StepTask> tasks = pgflow.startTasks(queue, msgIds, workerId, (int) properties.visibilityLease().toSeconds(),
                VISIBILITY_MARGIN_SECONDS);
        started(tasks);
        return tasks;
    }

    private void started(List<StepTask> tasks) {
        for (StepTask task : tasks) {
            inFlight.put(task.msgId(), task);
            committedSteps.started(task, handlers.find(task.stepSlug()).map(StepHandler::dependsOn).orElse(List.of()));
        }
    }

    /**
     * Where the steps this worker starts and completes are reported as it commits them (the pgflow component's runs
     * followed here); nothing by default.
     */
    public void reportCommittedSteps(CommittedSteps committedSteps) {
        this.committedSteps = committedSteps;
    }

    /**
     * A streamed step's tokens must come from the instance holding the run's chat stream. Its messages read here for
     * runs whose stream another live instance holds are hidden for the handoff and left to that instance; the rest
     * are returned to claim. A stream's instance that died is not waited for: its runs' tasks run here.
     */
    private List<Long> leaveStreamedTasksToTheirStreams(String queue, List<QueueMessage> messages) {
        if (messages.isEmpty()) {
            return List.of();
        }
        List<Long> left = new ArrayList<>();
        List<Long> claimable = new ArrayList<>();
        for (QueueMessage message : messages) {
            boolean heldElsewhere = message.streamWorkerId() != null && !message.streamWorkerId().equals(workerId);
            (heldElsewhere && handlers.isStreamed(message.stepSlug()) ? left : claimable).add(message.msgId());
        }
        if (!left.isEmpty()) {
            pgflow.setVisibility(queue, left, Collections.nCopies(left.size(), (int) properties.streamHandoff().toSeconds()));
            tasksLeftToStreams.increment(left.size());
        }
        return claimable;
    }

    /** A message stays hidden for the lease, or up to its step's timeout + 2 s if that comes first. */
    private void renewLeases(Collection<StepTask> tasks) {
        if (tasks.isEmpty()) {
            return;
        }
        tasks.stream().collect(Collectors.groupingBy(StepTask::flowSlug)).forEach((queue, running) ->
                pgflow.setVisibility(queue, running.stream().map(StepTask::msgId).toList(), running.stream().map(this::leaseSeconds).toList()));
    }

    private int leaseSeconds(StepTask task) {
        return (int) Math.min(properties.visibilityLease().toSeconds(), task.timeoutSeconds() + VISIBILITY_MARGIN_SECONDS);
    }

    /** Completes the task; false when it was not this worker's any more (what it produced is dropped). */
    public boolean completeTask(StepTask task, JsonNode output) {
        CommittedSteps reports = committedSteps;
        boolean followed = reports.follows(task.runId());
        try (CommittedSteps.Commit commit = followed ? reports.committing(task.runId()) : CommittedSteps.Commit.NONE) {
            Optional<PgflowSqlClient.CompletedTask> completed = pgflow.completeTask(task, workerId, output, followed);
            if (completed.isEmpty()) {
                handedBackMeanwhile(task);
                return false;
            }
            PgflowSqlClient.CompletedTask done = completed.get();
            reports.completed(task, done.completedAt(), done.output());
            if (!done.started().isEmpty()) {
                reports.stepsStarted(task.runId(), done.started().stream()
                        .map(step -> new CommittedSteps.StartedStep(step.stepSlug(), step.startedAt(),
                                handlers.find(step.stepSlug()).map(StepHandler::dependsOn).orElse(null)))
                        .toList());
            }
            if (done.run() != null) {
                reports.runCompleted(task.runId(), done.run().completedAt(), done.run().output(), done.run().steps());
            }
        }
        record(task, "completed");
        log.debug("completed {}", task);
        return true;
    }

    /**
     * Right after a task completed here, in a run whose chat stream this instance holds: claims the streamed steps
     * that the completion made ready (complete_task queued them in its transaction), without waiting for their start
     * event to come back from the database. Anything that goes wrong here is left to that event and to the queue's
     * reads, which claim the task as before.
     */
    public List<StepTask> claimStreamedStepsReadyAfter(StepTask completed) {
        if (!workerId.toString().equals(completed.input().path("run").path(STREAM_WORKER_ID).asText(null))) {
            return List.of();
        }
        List<StepTask> claimed = new ArrayList<>();
        try {
            for (String step : handlers.streamedStepsReadyAfter(completed.stepSlug())) {
                List<StepTask> tasks;
                synchronized (this) {
                    tasks = claimQueuedOf(completed.flowSlug(), completed.runId(), step);
                    if (!tasks.isEmpty()) {
                        if (claimedOnCompletion.size() >= MAX_CLAIMED_ON_COMPLETION) {
                            // Start events that never came (an outage of the event path): forget them, at worst a look each.
                            claimedOnCompletion.clear();
                        }
                        claimedOnCompletion.add(completed.runId() + "/" + step);
                    }
                }
                claimed.addAll(tasks);
            }
        } catch (RuntimeException e) {
            log.debug("Could not claim the streamed steps after {} at once ({}); their start event will", completed, e.getMessage());
        }
        return claimed;
    }

    public void failTask(StepTask task, Throwable error) {
        String message = StepFailures.describe(error);
        boolean cancelled = StepFailures.isCancellation(error);
        boolean ended = cancelled ? pgflow.failTaskWithoutRetry(task, workerId, message)
                : pgflow.failTaskAndAnnounceRetry(task, workerId, message);
        if (!ended) {
            handedBackMeanwhile(task);
            return;
        }
        log.warn("{} {}: {}", task, cancelled ? "cancelled" : "failed", LogSafe.prefix(message, 200));
        record(task, !cancelled && task.attempt() < task.maxAttempts() ? "retried" : "failed");
    }

    /** The task went back to pgflow while it ran here (this instance shut down, or a peer took it for gone). */
    private void handedBackMeanwhile(StepTask task) {
        log.info("{} was handed back to pgflow while it ran here; what it produced here is dropped", task);
        record(task, "dropped");
    }

    private void record(StepTask task, String outcome) {
        Timer.builder("gateway.worker.task.duration")
                .description("Time from claiming a step task to ending it")
                .tag("step", task.stepSlug())
                .tag("outcome", outcome)
                .register(meters)
                .record(Duration.ofNanos(System.nanoTime() - task.claimedAtNanos()));
    }

    /**
     * Frees the task's slot. True when a claim has run short of slots since the last release, so that the caller should
     * wake a claim; otherwise everything queued was read, and new messages wake the worker by NOTIFY.
     */
    public boolean releaseSlot(StepTask task) {
        inFlight.remove(task.msgId());
        releases.incrementAndGet();
        return shortOfSlots.getAndSet(false);
    }

    void heartbeat() {
        if (!registered) {
            return;
        }
        renewLeases(inFlight.values());
        queueDepth.set(servedQueues().stream().mapToLong(pgflow::queueLength).sum());
        Boolean deprecated = jdbc.queryForObject(
                "update pgflow.workers set last_heartbeat_at = clock_timestamp() where worker_id = ? returning deprecated_at is not null",
                Boolean.class, workerId);
        if (Boolean.TRUE.equals(deprecated)) {
            log.warn("pgflow worker {} was marked deprecated; it stops claiming tasks", workerId);
            registered = false;
        }
    }

    /**
     * pgflow 0.8.1 has no stalled-task recovery: fail_task requeues such a task with backoff or fails the run. Peers'
     * locks are trusted only once this worker's own lock has been held a while (see {@link WorkerLock#trustsPeersLocks}).
     */
    void requeueStalledTasks() {
        refreshOlderVersions();
        jdbc.query(REQUEUE_STALLED, rs -> {
            log.warn("Handed task {} of run {} back to pgflow: {}", rs.getString("step_slug"), rs.getString("run_id"), rs.getString("reason"));
        }, STALLED_GRACE_SECONDS, workerId, lock.trustsPeersLocks(), String.join(",", servedQueues()), workerId,
                properties.deadWorkerAfter().toSeconds());
    }

    /** Runs a job with a fixed delay; a failed run is logged and the next one comes as planned. */
    private static void every(ScheduledExecutorService scheduler, Duration first, Duration interval, Runnable job) {
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                job.run();
            } catch (RuntimeException e) {
                log.warn("{} failed: {}", Thread.currentThread().getName(), e.getMessage());
            }
        }, first.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static ScheduledExecutorService singleThread(String name) {
        return Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        });
    }
}
