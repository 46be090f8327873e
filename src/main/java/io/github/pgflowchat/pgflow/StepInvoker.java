package io.github.pgflowchat.pgflow;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.springframework.stereotype.Component;

/**
 * Runs a claimed task on its step's handler (the {@code pgflow:<flow>/<step>} consumer of the route serving it) and
 * enforces the step's pgflow timeout, which pgflow 0.8.1 itself never does: a handler still running at the deadline is
 * interrupted and the task fails.
 */
@Component
public class StepInvoker {

    /** Run-input field holding step outputs to reuse, by step slug. */
    public static final String REUSE = "reuse";

    private final StepHandlers handlers;
    private final ExecutorService executor;
    private final ExecutorService taskThreads;
    private final ObjectMapper json;
    private final Map<Long, Future<Object>> running = new ConcurrentHashMap<>();
    private volatile boolean stopped;

    public StepInvoker(StepHandlers handlers, ObjectMapper json) {
        this.handlers = handlers;
        this.json = json;
        this.executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("pgflow-step-", 0).factory());
        this.taskThreads = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("pgflow-task-", 0).factory());
    }

    /**
     * Where the worker routes run each claimed task (a virtual thread per task; the worker's slots bound how many): the
     * task's thread waits here for its handler, which runs on a thread of its own so that the step's timeout can
     * interrupt it.
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
        Future<Object> result = executor.submit(() -> handler.handle(task));
        running.put(task.msgId(), result);
        // A task handed to this route after the instance began to shut down was handed back already: it must not start.
        if (stopped) {
            result.cancel(true);
        }
        try {
            return json.valueToTree(result.get(task.timeoutSeconds(), TimeUnit.SECONDS));
        } catch (TimeoutException e) {
            result.cancel(true);
            throw new TimeoutException("step '" + task.stepSlug() + "' timed out after " + task.timeoutSeconds() + " s");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        } finally {
            running.remove(task.msgId());
        }
    }

    /**
     * Interrupts every running handler, and every one started from now on, for an instance that shuts down and has
     * handed their tasks back: each ends in a CancellationException.
     */
    void interruptAll() {
        stopped = true;
        running.values().forEach(handler -> handler.cancel(true));
    }
}
