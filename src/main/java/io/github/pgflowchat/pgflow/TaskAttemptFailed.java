package io.github.pgflowchat.pgflow;

import java.util.UUID;

/**
 * A step attempt failed on this instance and was handed to pgflow's fail_task. pgflow broadcasts nothing for an
 * attempt that will be retried, so this (local) event is how an open chat stream learns about it.
 */
public record TaskAttemptFailed(UUID runId, String stepSlug, int attempt, int maxAttempts, String error) {

    public boolean willRetry() {
        return attempt < maxAttempts;
    }
}
