package io.github.pgflowchat.pgflow;

import java.util.UUID;

/**
 * A message read from a flow's pgmq queue, with the run and step its body names (pgflow's rows say which task it
 * is; the body is read only to decide which instance claims it). {@code waitedMillis}: how long it had been in the
 * queue when it was read (database clock); {@code streamWorkerId}: the live worker of the instance holding the run's
 * chat stream, or null.
 */
public record QueueMessage(long msgId, int readCount, double waitedMillis, UUID runId, String stepSlug, UUID streamWorkerId) {
}
