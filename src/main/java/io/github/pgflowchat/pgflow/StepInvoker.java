package io.github.pgflowchat.pgflow;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.springframework.stereotype.Component;

/**
 * Runs a claimed task on its step's handler (the {@code pgflow:<flow>/<step>} consumer of the route serving it) and
 * enforces the step's pgflow timeout, which pgflow 0.8.1 itself never does: a handler still running at the deadline is
 * interrupted and the task fails.
 * <p>
 * The handler runs on the task's own thread, which the deadline interrupts; a handler must therefore end when
 * interrupted (a blocking wait, the model's HTTP call and the answer's stream all do). One that goes on regardless
 * keeps its slot until it returns, and its late result is dropped: the task fails as timed out then, or at the latest
 * when the stalled-task sweep hands it back (its step timeout plus a grace period).
 */
@Component
public class StepInvoker {

    /** Run-input field holding step outputs to reuse, by step slug. */
    public static final String REUSE = "reuse";

    private static final String TIMED_OUT = "timed out";
    private static final String SHUT_DOWN = "shut down";

    private final StepHandlers handlers;
    private final ExecutorService taskThreads;
    private final ScheduledThreadPoolExecutor deadlines;
    private final ObjectMapper json;
    private final Map<Long, Running> running = new ConcurrentHashMap<>();
    private volatile boolean stopped;

    public StepInvoker(StepHandlers handlers, ObjectMapper json) {
        this.handlers = handlers;
        this.json = json;
        this.taskThreads = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("pgflow-task-", 0).factory());
        this.deadlines = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().name("pgflow-step-deadlines").daemon().factory());
        // Nearly every task ends before its deadline: a cancelled deadline leaves the queue at once.
        this.deadlines.setRemoveOnCancelPolicy(true);
    }

    /**
     * Where the worker routes run each claimed task (a virtual thread per task; the worker's slots bound how many): the
     * task's handler runs on it, then its completion.
     */
    public ExecutorService taskThreads() {
        return taskThreads;
    }

    public JsonNode invoke(StepTask task) throws Exception {
        // A retried run carries the outputs its failed predecessor completed: those steps are not computed again.
        JsonNode reused = task.input().path("run").path(REUSE).get(task.stepSlug());
        if (reused != null) {
            return reused;
        }
        StepHandler handler = handlers.find(task.stepSlug()).orElseThrow(() -> new IllegalStateException(
                "no route consumes pgflow:" + task.flowSlug() + "/" + task.stepSlug() + " on this instance"));
        Running run = new Running(Thread.currentThread());
        running.put(task.msgId(), run);
        // A task handed to this route after the instance began to shut down was handed back already: it must not start.
        if (stopped) {
            run.stop(SHUT_DOWN);
        }
        ScheduledFuture<?> deadline = deadlines.schedule(() -> run.stop(TIMED_OUT), task.timeoutSeconds(), TimeUnit.SECONDS);
        Object result = null;
        Exception failure = null;
        String stoppedBy;
        try {
            result = run.stoppedBefore() ? null : handler.handle(task);
        } catch (Exception e) {
            failure = e;
        } finally {
            deadline.cancel(false);
            running.remove(task.msgId());
            // Also when the handler threw an Error: no interrupt of this task's outlives its handler.
            stoppedBy = run.end();
        }
        if (TIMED_OUT.equals(stoppedBy)) {
            TimeoutException timedOut = new TimeoutException("step '" + task.stepSlug() + "' timed out after " + task.timeoutSeconds() + " s");
            timedOut.initCause(failure);
            throw timedOut;
        }
        if (SHUT_DOWN.equals(stoppedBy)) {
            CancellationException cancelled = new CancellationException("the instance shuts down");
            cancelled.initCause(failure);
            throw cancelled;
        }
        if (failure != null) {
            throw failure;
        }
        return json.valueToTree(result);
    }

    /**
     * Interrupts every running handler, and every one started from now on, for an instance that shuts down and has
     * handed their tasks back: each ends in a CancellationException.
     */
    void interruptAll() {
        stopped = true;
        running.values().forEach(run -> run.stop(SHUT_DOWN));
    }

    /**
     * A handler running on its task's thread. Its deadline or the instance's shutdown interrupts that thread only while
     * the handler runs: once it has ended, nothing interrupts the thread, which goes on to complete or fail the task.
     */
    private static final class Running {

        private final Thread thread;
        private String stoppedBy;
        private boolean ended;

        Running(Thread thread) {
            this.thread = thread;
        }

        synchronized void stop(String reason) {
            if (!ended && stoppedBy == null) {
                stoppedBy = reason;
                thread.interrupt();
            }
        }

        synchronized boolean stoppedBefore() {
            return stoppedBy != null;
        }

        /** On the task's thread, once the handler has ended: why it was stopped, if it was, with the interrupt cleared. */
        synchronized String end() {
            ended = true;
            if (stoppedBy != null) {
                Thread.interrupted();
            }
            return stoppedBy;
        }
    }
}
