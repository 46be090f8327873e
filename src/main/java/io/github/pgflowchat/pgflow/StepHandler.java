package io.github.pgflowchat.pgflow;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What runs the tasks of one step: the {@code pgflow:<flow>/<step>} consumer of the route that serves it. Its result
 * is the step's output (complete_task); its exception fails the attempt (fail_task).
 */
public interface StepHandler {

    /** Runs a claimed task on the calling thread; the worker interrupts it at the step's timeout. */
    Object handle(StepTask task) throws Exception;

    /** Whether the step streams into the run's chat stream, so its task runs where that stream is (decision record 0007). */
    boolean streamed();

    /**
     * How many of this step's tasks may run at once on this instance, in a pool of its own; 0 when it has none: the
     * step then shares the worker's pool with the others without one or, when streamed, gets the streamed pool.
     */
    int concurrency();

    /** The slugs of the steps this one depends on (its flow shape's dependsOn). */
    default List<String> dependsOn() {
        return List.of();
    }
}
