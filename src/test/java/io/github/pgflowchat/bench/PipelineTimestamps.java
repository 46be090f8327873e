package io.github.pgflowchat.bench;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.apache.camel.CamelContext;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.model.BeanDefinition;

import io.github.pgflowchat.chat.ChatStream;
import io.github.pgflowchat.pgflow.StepInvoker;
import io.github.pgflowchat.pgflow.StepTask;

/**
 * {@link System#nanoTime()} at the pipeline's commits and at each step handler's start, taken inside the gateway's
 * routes (woven in with AdviceWith), so that they share one clock with the benchmark's client in the same JVM:
 * when the {@code pgflow:} producer's {@code start_flow} returned (the run and its first task are committed), when a task's {@code complete_task}
 * had returned (its output, its events and the next step's message are committed: the worker's JDBC calls autocommit),
 * when a task was claimed (its {@code start_tasks} row read), when a step route began, and when its handler had ended
 * (complete_task about to be called).
 */
final class PipelineTimestamps {

    record Key(UUID runId, String step) {
    }

    private final Map<UUID, Long> runStarted = new ConcurrentHashMap<>();
    private final Map<Key, Long> taskClaimed = new ConcurrentHashMap<>();
    private final Map<Key, Long> handlerEnded = new ConcurrentHashMap<>();
    private final Map<Key, Long> taskCompleted = new ConcurrentHashMap<>();
    private final Map<Key, Long> handlerStarted = new ConcurrentHashMap<>();

    static PipelineTimestamps weaveInto(CamelContext camel, List<String> steps) throws Exception {
        PipelineTimestamps timestamps = new PipelineTimestamps();
        AdviceWith.adviceWith(camel, "start-run-and-stream", route -> route.weaveByToUri("pgflow:*").after().process(exchange ->
                timestamps.runStarted.put(exchange.getProperty("chatStream", ChatStream.class).runId(), System.nanoTime())));
        // The task's claim time is taken when start_tasks' row is read; the handler has ended when complete_task is sent.
        AdviceWith.adviceWith(camel, "pgflow-execute-task", route -> {
            route.weaveAddFirst().process(exchange -> {
                StepTask task = exchange.getIn().getBody(StepTask.class);
                timestamps.taskClaimed.put(new Key(task.runId(), task.stepSlug()), task.claimedAtNanos());
            });
            route.weaveByToUri("direct:pgflow-complete-task").before().process(exchange -> {
                StepTask task = exchange.getProperty("task", StepTask.class);
                timestamps.handlerEnded.put(new Key(task.runId(), task.stepSlug()), System.nanoTime());
            });
        });
        // complete_task returned: the first processor of the completion route is the worker's call to it.
        AdviceWith.adviceWith(camel, "pgflow-complete-task", route -> route.weaveByType(BeanDefinition.class).selectFirst().after().process(exchange -> {
            StepTask task = exchange.getProperty("task", StepTask.class);
            timestamps.taskCompleted.put(new Key(task.runId(), task.stepSlug()), System.nanoTime());
        }));
        for (String step : steps) {
            AdviceWith.adviceWith(camel, "step-" + step, route -> route.weaveAddFirst().process(exchange ->
                    timestamps.handlerStarted.put(new Key(exchange.getIn().getHeader(io.github.pgflowchat.component.pgflow.PgflowConstants.RUN_ID, UUID.class), step), System.nanoTime())));
        }
        return timestamps;
    }

    long runStarted(UUID runId) throws InterruptedException {
        return await(runStarted, runId, "start_flow of run " + runId);
    }

    long taskClaimed(UUID runId, String step) throws InterruptedException {
        return await(taskClaimed, new Key(runId, step), "the claim of " + step + " in run " + runId);
    }

    long handlerEnded(UUID runId, String step) throws InterruptedException {
        return await(handlerEnded, new Key(runId, step), "the end of the " + step + " handler in run " + runId);
    }

    long taskCompleted(UUID runId, String step) throws InterruptedException {
        return await(taskCompleted, new Key(runId, step), "complete_task of " + step + " in run " + runId);
    }

    long handlerStarted(UUID runId, String step) throws InterruptedException {
        return await(handlerStarted, new Key(runId, step), "the " + step + " handler of run " + runId);
    }

    /**
     * The event path can beat the thread that committed: a chat may have read a step's completion before the worker
     * thread, back from complete_task, has taken its timestamp.
     */
    private static <K> long await(Map<K, Long> timestamps, K key, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        Long nanos = timestamps.get(key);
        while (nanos == null && System.nanoTime() < deadline) {
            Thread.sleep(1);
            nanos = timestamps.get(key);
        }
        if (nanos == null) {
            throw new IllegalStateException("no timestamp for " + what);
        }
        return nanos;
    }
}
