package io.github.pgflowchat.pgflow;

/** A message read from a flow's pgmq queue; pgflow's rows, not the message body, say which task it is. */
public record QueueMessage(long msgId, int readCount) {
}
