package io.github.pgflowchat.pgflow;

import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A task claimed with {@code pgflow.start_tasks}: one row of {@code pgflow.step_task_record}, plus the step's
 * effective timeout so the worker can enforce it.
 */
public record StepTask(String flowSlug, UUID runId, String stepSlug, int taskIndex, long msgId, JsonNode input,
                       int timeoutSeconds, int attempt, int maxAttempts) {

    @Override
    public String toString() {
        return stepSlug + "[" + taskIndex + "] of run " + runId + " (attempt " + attempt + "/" + maxAttempts + ")";
    }
}
