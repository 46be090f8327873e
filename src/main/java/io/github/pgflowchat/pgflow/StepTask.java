package io.github.pgflowchat.pgflow;

import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A task claimed with {@code pgflow.start_tasks}: one row of {@code pgflow.step_task_record}, plus the step's
 * effective timeout and attempts so the worker can enforce and report them, when pgflow started the step (as pgflow's
 * events give it) and when this instance claimed it.
 */
public record StepTask(String flowSlug, UUID runId, String stepSlug, int taskIndex, long msgId, JsonNode input,
                       int timeoutSeconds, int attempt, int maxAttempts, String stepStartedAt, long claimedAtNanos) {

    @Override
    public String toString() {
        return stepSlug + "[" + taskIndex + "] of run " + runId + " (attempt " + attempt + "/" + maxAttempts + ")";
    }
}
