package io.github.pgflowchat.pgflow;

/**
 * A message read from a flow's pgmq queue; pgflow's rows, not the message body, say which task it is.
 * {@code waitedMillis}: how long it had been in the queue when it was read (database clock).
 */
public record QueueMessage(long msgId, int readCount, double waitedMillis) {
}
