package io.github.pgflowchat.chat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

/**
 * A resumed stream served from another instance's copy in Redis: the events after the reader's position, as the
 * holder sent them (same bytes, same ids), handed over by {@link SharedStreams}' loop, then {@code [DONE]}. An event
 * whose number is not the next one ends the reader with an error chunk (the copy has a gap); one already read is
 * skipped. Keep-alive comments while it waits, as a local reader sends them.
 */
final class RemoteReader extends InputStream {

    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);

    private final SharedStreams owner;
    private final String key;
    private final UUID runId;
    private final long keepAliveMillis;
    private final long deadlineNanos;
    private final BooleanSupplier runEnded;
    private final Runnable onClose;
    private final ArrayDeque<byte[]> pending = new ArrayDeque<>();
    private long position;
    private boolean finished;
    private boolean closed;
    private boolean endedAtLastCheck;
    private byte[] current = new byte[0];
    private int offset;

    RemoteReader(SharedStreams owner, String key, UUID runId, long afterEvent, Duration keepAliveInterval, Duration maxDuration,
                 BooleanSupplier runEnded, Runnable onClose) {
        this.owner = owner;
        this.key = key;
        this.runId = runId;
        this.position = afterEvent;
        this.keepAliveMillis = keepAliveInterval.toMillis();
        this.deadlineNanos = System.nanoTime() + maxDuration.toNanos();
        this.runEnded = runEnded;
        this.onClose = onClose;
    }

    String key() {
        return key;
    }

    UUID runId() {
        return runId;
    }

    /** The number of the last event this reader has been given (its entry id in the copy is {@code 0-<position>}). */
    synchronized long position() {
        return position;
    }

    /** Entry {@code number} of the copy: an event's bytes, or null for the end. */
    synchronized void offer(long number, byte[] event) {
        if (finished || closed || number <= position) {
            return;
        }
        if (number != position + 1) {
            fail("Events " + (position + 1) + " to " + (number - 1) + " of this stream did not reach Redis, so it cannot go on here; "
                    + "run " + runId + " goes on: read its steps and answer from GET /api/runs/" + runId + ".");
            return;
        }
        position = number;
        pending.add(event == null ? DONE : event);
        finished = event == null;
        notifyAll();
    }

    /** Ends the reader with an error chunk (no id: ids are the holder's) and {@code [DONE]}. */
    synchronized void fail(String errorText) {
        if (finished) {
            return;
        }
        String chunk = "{\"type\":\"error\",\"errorText\":\"" + new String(JsonStringEncoder.getInstance().quoteAsString(errorText)) + "\"}";
        pending.add(("data: " + chunk + "\n\n").getBytes(StandardCharsets.UTF_8));
        pending.add(DONE);
        finished = true;
        notifyAll();
    }

    void shutDown() {
        fail("The service is shutting down; run " + runId + " goes on: read its steps and answer from GET /api/runs/" + runId
                + ", or resume this stream again.");
    }

    private synchronized byte[] next() throws InterruptedException {
        while (pending.isEmpty()) {
            if (finished) {
                return null;
            }
            long now = System.nanoTime();
            if (now >= deadlineNanos) {
                fail("The answer took longer than this stream may stay open; run " + runId
                        + " goes on and its steps and answer can be read from GET /api/runs/" + runId + ".");
                continue;
            }
            wait(Math.min(keepAliveMillis, (deadlineNanos - now) / 1_000_000 + 1));
            if (pending.isEmpty() && !finished && System.nanoTime() - now >= keepAliveMillis * 1_000_000) {
                return KEEP_ALIVE;
            }
        }
        return pending.poll();
    }

    /**
     * Idle for a whole keep-alive interval: a run that has ended in the database twice in a row while its copy shows no
     * end had a holder that stopped before writing it (it died, say). The stored run is what is left to read.
     */
    private void checkRunEnded() {
        boolean ended = runEnded.getAsBoolean();
        synchronized (this) {
            if (ended && endedAtLastCheck && pending.isEmpty()) {
                fail("The instance that streamed this answer stopped before its end; run " + runId
                        + " has ended: read its steps and answer from GET /api/runs/" + runId + ".");
            }
            endedAtLastCheck = ended;
        }
    }

    @Override
    public int read(byte[] buffer, int off, int length) throws IOException {
        if (length == 0) {
            return 0;
        }
        if (offset == current.length) {
            byte[] next;
            try {
                next = next();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the next chat event", e);
            }
            if (next == null) {
                return -1;
            }
            if (next == KEEP_ALIVE) {
                checkRunEnded();
            }
            current = next;
            offset = 0;
        }
        int count = Math.min(length, current.length - offset);
        System.arraycopy(current, offset, buffer, off, count);
        offset += count;
        return count;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        owner.closed(this);
        onClose.run();
    }
}
