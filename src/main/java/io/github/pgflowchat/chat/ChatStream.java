package io.github.pgflowchat.chat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.github.pgflowchat.web.ApiException;

/**
 * The one place that writes a chat's response stream. Chunks from any thread (step events, the respond step's
 * tokens, the HTTP route) are appended in order as SSE events and kept, so any number of readers can replay the
 * stream from any event and then follow it live. Event ids are {@code <first 8 hex digits of the run id>-<n>}, so a
 * {@code Last-Event-ID} names an event of one stream only. A reader that waits longer than the keep-alive interval
 * gets an SSE comment; a stream that outlives its maximum duration ends with an {@code error} chunk (when a reader or
 * the registry's sweeper notices).
 */
public final class ChatStream {

    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] EXPIRED = new byte[0];
    private static final byte[] DATA_FIELD = "data: ".getBytes(StandardCharsets.UTF_8);
    private static final TypeReference<Map<String, Object>> CHUNK = new TypeReference<>() { };

    private final UUID runId;
    private final String idPrefix;
    private final String chatId;
    private final String userId;
    private final ObjectMapper json;
    private final Duration keepAliveInterval;
    private final Instant expiresAt;
    private final long createdAtNanos = System.nanoTime();
    private final List<byte[]> events = new ArrayList<>();
    private final Map<String, Map<String, Object>> steps = new LinkedHashMap<>();
    private long nextEventId = 1;
    private boolean ended;
    private String openTextId;
    private boolean textSent;
    private Runnable onEnd = () -> { };
    private Runnable beforeEnd = () -> { };
    private Runnable onDetached = () -> { };
    private Runnable onStarted = () -> { };
    private boolean startedOnce;
    private int openReaders;
    private volatile String cancelReason;
    private Runnable cancelAnswer;
    private StreamMirror mirror = StreamMirror.NONE;

    ChatStream(UUID runId, String chatId, String userId, ObjectMapper json, Duration keepAliveInterval, Duration maxDuration) {
        this.runId = runId;
        this.idPrefix = eventIdPrefix(runId);
        this.chatId = chatId;
        this.userId = userId;
        this.json = json;
        this.keepAliveInterval = keepAliveInterval;
        this.expiresAt = Instant.now().plus(maxDuration);
    }

    public UUID runId() {
        return runId;
    }

    public String chatId() {
        return chatId;
    }

    public String userId() {
        return userId;
    }

    /** When the chat request opened this stream ({@link System#nanoTime()}), for time-to-first-token. */
    public long createdAtNanos() {
        return createdAtNanos;
    }

    public String messageId() {
        return "msg-" + runId;
    }

    /** Where every event is copied as it is appended (Redis, for readers on other instances); set before the first. */
    void mirrorTo(StreamMirror mirror) {
        this.mirror = mirror;
    }

    /**
     * Runs once, under the stream's lock, just before it ends (after its last chunk, before {@code [DONE]}): what a
     * reader that got the whole stream can then read back was stored first. It must not throw.
     */
    void beforeEnd(Runnable action) {
        this.beforeEnd = action;
    }

    /** Adds an action to run once when the stream ends, after those added before it. */
    synchronized void onEnd(Runnable action) {
        Runnable before = this.onEnd;
        this.onEnd = () -> {
            before.run();
            action.run();
        };
    }

    /** Called once, when the run has been started or could not be: the stream's turn to start is over. */
    void onStarted(Runnable action) {
        this.onStarted = action;
    }

    /** The run was started (or failed to start); runs the start action the first time only. */
    void started() {
        Runnable action;
        synchronized (this) {
            if (startedOnce) {
                return;
            }
            startedOnce = true;
            action = onStarted;
        }
        action.run();
    }

    /** Called when the last reader closes before the stream ended: the client went away (it may come back). */
    void onDetached(Runnable action) {
        this.onDetached = action;
    }

    public synchronized int openReaders() {
        return openReaders;
    }

    /** Why the run's answer was stopped, or null. */
    public String cancelReason() {
        return cancelReason;
    }

    /** Stops the run's answer: a running answer is cancelled at once, one not started yet will not start. */
    public void cancel(String reason) {
        Runnable cancel;
        synchronized (this) {
            if (ended || cancelReason != null) {
                return;
            }
            cancelReason = reason;
            cancel = cancelAnswer;
        }
        if (cancel != null) {
            cancel.run();
        }
    }

    /** The respond step says how to cancel its answer while it streams one, and null when it is done. */
    public void whileAnswering(Runnable cancel) {
        boolean alreadyCancelled;
        synchronized (this) {
            cancelAnswer = cancel;
            alreadyCancelled = cancel != null && cancelReason != null;
        }
        if (alreadyCancelled) {
            cancel.run();
        }
    }

    public synchronized boolean isEnded() {
        return ended;
    }

    /** Events with an id sent so far ([DONE] has none). */
    public synchronized int eventCount() {
        return (int) (nextEventId - 1);
    }

    /**
     * How many events a reader that saw {@code lastEventId} has read: its number when it names an event of this
     * stream, 0 when it names an event of another stream (an older one of the same chat: this one is new to it).
     */
    public synchronized int eventsReadBy(String lastEventId) {
        return eventNumber(idPrefix, lastEventId, eventCount());
    }

    /** The prefix of the event ids of a run's stream: the run id's first 8 hex digits and a dash. */
    static String eventIdPrefix(UUID runId) {
        return runId.toString().substring(0, 8) + "-";
    }

    /**
     * The number of the event {@code lastEventId} names in the stream whose ids start with {@code idPrefix}, of at
     * most {@code lastEvent} events; 0 when it names an event of another stream. 400 when it is no event id.
     */
    static int eventNumber(String idPrefix, String lastEventId, int lastEvent) {
        String id = lastEventId.strip();
        int dash = id.lastIndexOf('-');
        int number;
        try {
            number = Integer.parseInt(id.substring(dash + 1));
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("invalid_last_event_id", "Last-Event-ID must be the id of an event of this stream.");
        }
        if (!id.substring(0, dash + 1).equals(idPrefix)) {
            return 0;
        }
        if (number < 1 || number > lastEvent) {
            throw ApiException.badRequest("invalid_last_event_id", "Last-Event-ID " + id + " is not an event of this stream.");
        }
        return number;
    }

    /** Ends the stream with an {@code error} chunk once it has outlived its maximum duration; true if it did. */
    public boolean expireIfDue(Instant now) {
        if (now.isBefore(expiresAt) || isEnded()) {
            return false;
        }
        fail("The answer took longer than this stream may stay open; run " + runId
                + " goes on and its steps and answer can be read from GET /api/runs/" + runId + ".");
        return true;
    }

    /** Appends one chunk as the next SSE event; chunks sent after the stream ended are dropped. */
    public synchronized void send(Map<String, Object> chunk) {
        if (ended) {
            return;
        }
        try {
            String chunkJson = json.writeValueAsString(chunk);
            long number = nextEventId++;
            byte[] event = ("id: " + idPrefix + number + "\ndata: " + chunkJson + "\n\n").getBytes(StandardCharsets.UTF_8);
            events.add(event);
            // Under the stream's lock, so the copies are handed over in the stream's order; the mirror only queues.
            mirror.appended(runId, number, event);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("chunk cannot be written as JSON: " + chunk, e);
        }
        notifyAll();
    }

    /** Ends the stream with {@code [DONE]}; readers finish once they have read everything before it. */
    public void end() {
        Runnable action;
        synchronized (this) {
            if (ended) {
                return;
            }
            action = markEnded();
        }
        action.run();
    }

    /** Ends the stream with an {@code error} chunk, closing an open text part first so the text so far stays valid. */
    public void fail(String errorText) {
        Runnable action;
        synchronized (this) {
            if (ended) {
                return;
            }
            closeText();
            send(UiChunks.error(errorText));
            action = markEnded();
        }
        action.run();
    }

    /** Returns the end action, to be run outside the lock: it may take other locks (the registry, the event source). */
    private Runnable markEnded() {
        beforeEnd.run();
        events.add(DONE);
        ended = true;
        mirror.ended(runId, nextEventId);
        notifyAll();
        return onEnd;
    }

    /** The state of one step's data-step part; updated and re-sent under the same part id. */
    public synchronized void updateStep(String stepSlug, Map<String, Object> changes) {
        Map<String, Object> step = steps.computeIfAbsent(stepSlug, slug -> new LinkedHashMap<>(Map.of("step", slug)));
        step.putAll(changes);
        send(UiChunks.data("step", "step-" + stepSlug, new LinkedHashMap<>(step)));
    }

    /** Each step's status and duration so far, e.g. {@code search=completed/12ms}, for the run's log line. */
    public synchronized String stepSummary() {
        StringBuilder summary = new StringBuilder();
        steps.forEach((slug, step) -> summary.append(summary.length() == 0 ? "" : ", ").append(slug).append('=')
                .append(step.get("status")).append(step.containsKey("durationMs") ? "/" + step.get("durationMs") + "ms" : ""));
        return summary.toString();
    }

    /**
     * Waits until the stream has shown the step as started (or beyond), at most {@code timeout}. A worker can pick up
     * a task before the event path has delivered the events committed with it; a step that writes into the stream
     * waits here so its output follows the progress parts that precede it.
     */
    public synchronized void awaitStepStarted(String stepSlug, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!ended && "waiting".equals(stepValue(stepSlug, "status"))) {
            long remainingNanos = deadline - System.nanoTime();
            if (remainingNanos <= 0) {
                return;
            }
            // Rounded up: rounded down, the wait would end up to a millisecond before its timeout.
            wait(TimeUnit.NANOSECONDS.toMillis(remainingNanos) + 1);
        }
    }

    /**
     * The assistant's UIMessage built from what was sent so far (what a client that read it all holds). It is built
     * from the kept events when asked for (once, as the stream ends) rather than kept beside them as it goes: the
     * parts' maps held about as much again as the events' bytes for every open stream (issue 13).
     */
    public synchronized Map<String, Object> message() {
        UiMessageAssembler message = new UiMessageAssembler();
        for (byte[] event : events) {
            int data = dataStart(event);
            if (data >= 0) {
                try {
                    message.accept(json.readValue(event, data, event.length - 2 - data, CHUNK));
                } catch (IOException e) {
                    throw new IllegalStateException("an event of this stream is not the JSON it was written as", e);
                }
            }
        }
        return message.message();
    }

    /** Where the chunk's JSON starts in an event this stream wrote ({@code id: ...\ndata: {...}\n\n}); -1 for {@code [DONE]}. */
    private static int dataStart(byte[] event) {
        if (event == DONE) {
            return -1;
        }
        for (int i = 0; i < event.length; i++) {
            if (event[i] == '\n') {
                return i + 1 + DATA_FIELD.length;
            }
        }
        throw new IllegalStateException("not an event of this stream");
    }

    /** Each step's value of {@code key}, for the steps that have one, in the order the steps were first seen. */
    public synchronized Map<String, Object> stepValues(String key) {
        Map<String, Object> values = new LinkedHashMap<>();
        steps.forEach((slug, step) -> {
            if (step.get(key) != null) {
                values.put(slug, step.get(key));
            }
        });
        return values;
    }

    public synchronized Object stepValue(String stepSlug, String key) {
        Map<String, Object> step = steps.get(stepSlug);
        return step == null ? null : step.get(key);
    }

    /** Streams answer text: the first delta of an attempt opens a text part, later ones append to it. */
    public synchronized void sendText(String textId, String delta) {
        if (!textId.equals(openTextId)) {
            closeText();
            send(UiChunks.textStart(textId));
            openTextId = textId;
        }
        send(UiChunks.textDelta(textId, delta));
        textSent = true;
    }

    public synchronized void closeText() {
        if (openTextId != null) {
            send(UiChunks.textEnd(openTextId));
            openTextId = null;
        }
    }

    public synchronized boolean hasText() {
        return textSent;
    }

    /** A reader that starts after the first {@code fromEvent} events (0 = from the beginning). */
    public InputStream reader(int fromEvent) {
        return reader(fromEvent, () -> { });
    }

    /** Likewise, running {@code onClose} once when the reader is closed. */
    public InputStream reader(int fromEvent, Runnable onClose) {
        return new Reader(fromEvent, onClose);
    }

    private synchronized byte[] nextEvent(int index) throws InterruptedException {
        while (index >= events.size()) {
            if (ended) {
                return null;
            }
            Instant now = Instant.now();
            if (!now.isBefore(expiresAt)) {
                return EXPIRED;
            }
            long waitMillis = Math.min(keepAliveInterval.toMillis(), Duration.between(now, expiresAt).toMillis() + 1);
            wait(waitMillis);
            if (index >= events.size() && !ended && Duration.between(now, Instant.now()).toMillis() >= keepAliveInterval.toMillis()) {
                return KEEP_ALIVE;
            }
        }
        return events.get(index);
    }

    /**
     * Hands events to the servlet as they come; Camel flushes after every read, so each event leaves at once, together
     * with those appended while the previous read was being written.
     */
    private final class Reader extends InputStream {
        private int nextIndex;
        private byte[] current = new byte[0];
        private int position;

        private final Runnable onClose;
        private boolean closed;

        Reader(int fromEvent, Runnable onClose) {
            this.nextIndex = fromEvent;
            this.onClose = onClose;
            synchronized (ChatStream.this) {
                openReaders++;
            }
        }

        /** Camel closes the body once it is written, or when writing failed because the client went away. */
        @Override
        public void close() {
            boolean detached;
            synchronized (ChatStream.this) {
                if (closed) {
                    return;
                }
                closed = true;
                openReaders--;
                detached = openReaders == 0 && !ended;
            }
            onClose.run();
            if (detached) {
                onDetached.run();
            }
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            if (length == 0) {
                return 0;
            }
            if (position == current.length) {
                byte[] next = waitForEvent();
                while (next == EXPIRED) {
                    expireIfDue(Instant.now());
                    next = waitForEvent();
                }
                if (next == null) {
                    return -1;
                }
                if (next != KEEP_ALIVE) {
                    nextIndex++;
                    next = withEventsAppendedSince(next, length);
                }
                current = next;
                position = 0;
            }
            int count = Math.min(length, current.length - position);
            System.arraycopy(current, position, buffer, offset, count);
            position += count;
            return count;
        }

        /**
         * The event just taken and, after it, every event already appended that fits in {@code room} bytes: one read
         * (and so one flush) for what came while the servlet was writing, not one per event.
         */
        private byte[] withEventsAppendedSince(byte[] first, int room) {
            synchronized (ChatStream.this) {
                int end = nextIndex;
                int size = first.length;
                while (end < events.size() && size + events.get(end).length <= room) {
                    size += events.get(end).length;
                    end++;
                }
                if (end == nextIndex) {
                    return first;
                }
                byte[] batch = new byte[size];
                System.arraycopy(first, 0, batch, 0, first.length);
                int at = first.length;
                for (int i = nextIndex; i < end; i++) {
                    byte[] event = events.get(i);
                    System.arraycopy(event, 0, batch, at, event.length);
                    at += event.length;
                }
                nextIndex = end;
                return batch;
            }
        }

        private byte[] waitForEvent() throws IOException {
            try {
                return nextEvent(nextIndex);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the next chat event", e);
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
        }
    }
}
