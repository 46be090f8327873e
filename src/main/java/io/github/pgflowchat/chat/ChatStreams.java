package io.github.pgflowchat.chat;

import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.component.pgflow.PgflowComponent;
import io.github.pgflowchat.db.PgNotificationListener;
import io.github.pgflowchat.events.RunEvent;
import io.github.pgflowchat.events.RunStates;
import io.github.pgflowchat.limits.Limits;
import io.github.pgflowchat.limits.SlotLease;
import io.github.pgflowchat.limits.UserSlots;
import io.github.pgflowchat.llm.ModelInfo;
import io.github.pgflowchat.logging.LogSafe;
import io.github.pgflowchat.pgflow.PgflowWorker;
import io.github.pgflowchat.pgflow.PgflowWorkerRoutes;
import io.github.pgflowchat.web.ApiException;

/**
 * The open chat streams of this instance, by run id. A stream is opened before its run is started (by the
 * {@code to: pgflow:chat_pipeline} of the start-run route, which follows the run), so the {@code run-progress} route
 * finds it for every event of the run; the stream leaves the registry when it ends. A sweeper
 * of its own ends, reader or not, every stream past its maximum duration and every stream whose run has ended in the
 * database (its terminal event was lost, say), so no stream outlives its run or keeps its user's slot. When the
 * application shuts down every open stream ends with an {@code error} chunk that names its run.
 *
 * <p>With Redis ({@link SharedStreams}) every stream is also copied there as it is written, and a resume of a stream
 * another instance holds is served from that copy; without it, such a resume is refused with 409 while the run is live
 * (decision record 0020).
 */
@Component("chatStreams")
public class ChatStreams {

    private static final Logger log = LoggerFactory.getLogger(ChatStreams.class);
    public static final String STREAM_HEADER = "chatStream";
    private static final long STREAM_RETRY_AFTER_SECONDS = 5;
    /**
     * The caller's latest run of a chat, whichever instance started it (every version of the flow); index
     * {@code gateway_runs_by_user_chat} (supabase/migrations) fits it.
     */
    static final String LATEST_RUN_OF_CHAT = """
            select run_id, status from pgflow.runs
             where input ->> 'userId' = ? and input ->> 'chatId' = ?
               and (flow_slug = ? or flow_slug ~ ('^' || ? || '_[0-9a-f]{8}$'))
             order by started_at desc limit 1
            """;
    private static final String RUN_STATUS = "select status from pgflow.runs where run_id = ?::uuid";
    /** Where a stop asked of an instance that does not hold the stream goes: the run's id, to every instance. */
    static final String STOP_CHANNEL = "gateway_chat_stop";
    private static final String STOPPED_BY_THE_USER = "stopped by the user";

    private final Map<UUID, ChatStream> streams = new ConcurrentHashMap<>();
    /** The latest stream of each (user, chat), kept a while after it ends so a reconnecting client gets its tail. */
    private final Map<String, ChatStream> latestByChat = new ConcurrentHashMap<>();
    private final RunProgress runProgress;
    private final ObjectMapper json;
    private final ChatProperties properties;
    private final ModelInfo model;
    private final String flowSlug;
    private final CamelContext camel;
    private final ScheduledExecutorService scheduler;
    private final ScheduledExecutorService sweeper;
    private final PgflowWorker worker;
    private final ChatLimits chatLimits;
    private final RunStates runStates;
    private final UserSlots streamSlots;
    private final UserSlots readerSlots;
    /** This instance's streams, all users together (gateway.chat.max-open-streams). */
    private final Semaphore openStreams;
    /**
     * Chats being started at once (gateway.chat.max-concurrent-starts), in arrival order. A burst of thousands of
     * chats, each on a virtual thread, would otherwise all reach for the database pool together, and a request holding
     * a connection would wait for a carrier behind all of them: past the pool's timeout, chats would fail that only had
     * to wait their turn.
     */
    private final Semaphore starting;
    private final Duration startQueueTimeout;
    /** Streams copied to Redis and resumes served from other instances' copies; null without Redis. */
    private final SharedStreams shared;
    private final JdbcTemplate jdbc;
    private final ChatStore chatStore;
    private final ChatRequestParser parser;
    private volatile boolean shuttingDown;
    /** Runs found ended at the previous sweep whose stream was still open; touched only by the sweeper thread. */
    private Set<UUID> terminalAtLastSweep = Set.of();

    public ChatStreams(RunProgress runProgress, ObjectMapper json, ChatProperties properties,
                       ModelInfo model, CamelContext camel, @Value("${gateway.flow-slug}") String flowSlug,
                       MeterRegistry meters, ChatLimits chatLimits, Limits limits, PgflowWorker worker, RunStates runStates,
                       @Value("${gateway.chat.limits.concurrent-readers}") int concurrentReaders,
                       @Value("${gateway.chat.sweep-interval}") Duration sweepInterval,
                       @Value("${gateway.chat.max-concurrent-starts}") int maxConcurrentStarts,
                       @Value("${gateway.chat.start-queue-timeout}") Duration startQueueTimeout,
                       ObjectProvider<SharedStreams> sharedStreams, JdbcTemplate jdbc, ChatStore chatStore,
                       ChatRequestParser parser, PgNotificationListener notifications) {
        this.chatStore = chatStore;
        notifications.listen(STOP_CHANNEL, this::stopRequested);
        this.parser = parser;
        this.shared = sharedStreams.getIfAvailable();
        this.jdbc = jdbc;
        this.chatLimits = chatLimits;
        this.runStates = runStates;
        this.streamSlots = chatLimits.streamSlots();
        this.readerSlots = limits.slots("readers", concurrentReaders);
        this.openStreams = new Semaphore(properties.maxOpenStreams());
        this.starting = new Semaphore(maxConcurrentStarts, true);
        this.startQueueTimeout = startQueueTimeout;
        this.worker = worker;
        this.runProgress = runProgress;
        this.json = json;
        this.properties = properties;
        this.model = model;
        this.flowSlug = flowSlug;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "chat-stream-retention");
            thread.setDaemon(true);
            return thread;
        });
        this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "chat-stream-sweeper");
            thread.setDaemon(true);
            return thread;
        });
        sweeper.scheduleWithFixedDelay(this::sweep, sweepInterval.toMillis(), sweepInterval.toMillis(), TimeUnit.MILLISECONDS);
        this.camel = camel;
        Gauge.builder("gateway.chat.streams.active", streams, Map::size)
                .description("Chat streams open on this instance")
                .register(meters);
    }

    public Optional<ChatStream> find(UUID runId) {
        return Optional.ofNullable(streams.get(runId));
    }

    /** The open stream of a run on this instance, or null: what the run-progress route writes a run's events to. */
    public ChatStream stream(UUID runId) {
        return runId == null ? null : streams.get(runId);
    }

    /**
     * Opens the stream of a new run and returns its run id, its input and the stream, to start the run with. The run input
     * keeps what the user sent (chat id, message, recent turns), the owner's id and the worker of the instance holding
     * the stream, so nothing depends on this process staying alive.
     */
    public Map<String, Object> open(ChatRequest request, String userId) {
        ChatStream current = latestByChat.get(chatKey(userId, request.chatId()));
        if (current != null && !current.isEnded()) {
            throw new ApiException(409, "chat_busy", "An answer is still streaming in this chat (run " + current.runId() + "); wait for "
                    + "it to finish, resume it (GET /api/chat/{chatId}/stream) or stop it (POST /api/chat/{chatId}/stop), then send again.",
                    STREAM_RETRY_AFTER_SECONDS);
        }
        Map<String, Object> input = new LinkedHashMap<>();
        input.put("chatId", request.chatId());
        input.put("userId", userId);
        input.put("trigger", request.trigger());
        input.put("messageId", request.question().id());
        input.put("question", request.question().text());
        Map<String, Object> toStart = openRun(input);
        ChatStream stream = (ChatStream) toStart.get(STREAM_HEADER);
        try {
            // Stored only once the request has passed every limit: a refused request leaves the conversation as it was.
            List<ChatRequest.ChatTurn> before = chatStore.recordQuestion(userId, request);
            input.put("history", parser.fitting(request.question(), before).stream()
                    .map(t -> Map.of("role", t.role(), "text", t.text())).toList());
        } catch (RuntimeException e) {
            // Nothing was started: no answer to keep either.
            stream.beforeEnd(() -> { });
            abandon(stream);
            throw e;
        }
        return toStart;
    }

    /**
     * Opens the stream of a run with a given input (a retry's: the failed run's input and its completed outputs).
     * The input must carry {@code chatId} and {@code userId}.
     */
    public Map<String, Object> openRun(Map<String, Object> input) {
        String userId = (String) input.get("userId");
        String chatId = (String) input.get("chatId");
        if (shuttingDown) {
            throw new ApiException(503, "shutting_down", "The service is shutting down; try again in a moment.", STREAM_RETRY_AFTER_SECONDS);
        }
        Optional<SlotLease> taken = streamSlots.tryTake(userId);
        if (taken.isEmpty()) {
            throw new ApiException(429, "too_many_streams", "You already have " + streamSlots.limit() + " answers streaming; at most "
                    + streamSlots.limit() + " at once. Try again when one has finished.", STREAM_RETRY_AFTER_SECONDS);
        }
        SlotLease slot = taken.get();
        if (!openStreams.tryAcquire()) {
            slot.release();
            log.warn("refused a chat: this instance holds {} streams, its gateway.chat.max-open-streams", properties.maxOpenStreams());
            throw new ApiException(503, "at_capacity", "This instance is streaming as many answers as it may ("
                    + properties.maxOpenStreams() + "); try again in a moment.", STREAM_RETRY_AFTER_SECONDS);
        }
        if (!awaitTurnToStart()) {
            openStreams.release();
            slot.release();
            throw new ApiException(503, "busy", "Too many chats are being started on this instance right now; try again in a moment.",
                    STREAM_RETRY_AFTER_SECONDS);
        }
        UUID runId = UUID.randomUUID();
        ChatStream stream = new ChatStream(runId, chatId, userId, json, properties.keepAliveInterval(), properties.maxStreamDuration());
        if (shared != null) {
            stream.mirrorTo(shared);
        }
        stream.onStarted(starting::release);
        String chatKey = chatKey(userId, chatId);
        stream.onEnd(() -> {
            streams.remove(runId, stream);
            slot.release();
            openStreams.release();
            stream.started();
            scheduler.schedule(() -> latestByChat.remove(chatKey, stream), properties.resumeRetention().toMillis(), TimeUnit.MILLISECONDS);
        });
        stream.onDetached(() -> cancelIfNotReadAfterGrace(stream));
        // The answer joins its conversation as the stream ends; a retry's answer takes the place of the failed one.
        Object retryOf = input.get("retryOf");
        stream.beforeEnd(() -> chatStore.recordAnswer(stream, retryOf == null ? null : UUID.fromString(retryOf.toString())));
        streams.put(runId, stream);
        latestByChat.put(chatKey, stream);
        // Written before the run starts: the run's first events may arrive before start_flow even returns.
        Map<String, Object> metadata = Map.of("runId", runId.toString(), "model", model.describe());
        stream.send(UiChunks.start(stream.messageId(), metadata));
        Map<String, Object> run = new LinkedHashMap<>(Map.of("runId", runId.toString(), "chatId", chatId,
                "status", "started", "model", model.describe()));
        if (input.get("retryOf") != null) {
            run.put("retryOf", input.get("retryOf"));
        }
        stream.send(UiChunks.data("run", "run", run));
        // The steps of the flow version the run starts on, as its step routes declare them.
        for (String step : camel.getComponent("pgflow", PgflowComponent.class).steps(flowSlug)) {
            stream.updateStep(step, Map.of("status", "waiting"));
        }

        // The answer's tokens can reach this stream only from this instance: its worker runs the streamed steps.
        input.put("streamWorkerId", worker.workerId().toString());
        Map<String, Object> toStart = new LinkedHashMap<>();
        toStart.put("runId", runId);
        toStart.put("input", input);
        toStart.put(STREAM_HEADER, stream);
        return toStart;
    }

    /**
     * The last reader of the stream closed before its end: unless a reader comes back within the disconnect grace,
     * here or on another instance (its lease in Redis), the answer is cancelled. A reader elsewhere is asked about
     * again after each grace period, so the answer is cancelled once that reader is gone too.
     */
    private void cancelIfNotReadAfterGrace(ChatStream stream) {
        scheduler.schedule(() -> {
            if (stream.openReaders() > 0 || stream.isEnded()) {
                return;
            }
            if (shared != null && shared.readElsewhere(stream.runId())) {
                cancelIfNotReadAfterGrace(stream);
                return;
            }
            stream.cancel("the client disconnected and did not come back within " + properties.disconnectGrace().toMillis() + " ms");
        }, properties.disconnectGrace().toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The run exists: the response body replays the stream from its first event and follows it. */
    public InputStream reader(ChatStream stream) {
        stream.started();
        return stream.reader(0);
    }

    private boolean awaitTurnToStart() {
        try {
            return starting.tryAcquire(startQueueTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * {@code GET /api/chat/{chatId}/stream}: the caller's latest stream of that chat, replayed from its start, or from
     * just after {@code Last-Event-ID} when that names one of its events; {@code null} when there is none to resume
     * (the route answers 204). Each resume counts toward the caller's request rate, and an open reader holds one of
     * the caller's reader slots until it closes.
     *
     * <p>A stream held by another instance (the caller's latest run of the chat, from the database) is served from
     * its copy in Redis when there is one; otherwise, while that run is live, {@code 409 stream_on_another_instance}
     * tells the client to try again (through the load balancer, to reach the holder), and once it has ended there is
     * nothing to resume: its answer is stored ({@code GET /api/runs/{id}}).
     */
    public InputStream resume(String userId, String chatId, String lastEventId) {
        chatLimits.admit(userId);
        ChatStream stream = latestByChat.get(chatKey(userId, chatId));
        if (stream == null) {
            return resumeElsewhere(userId, chatId, lastEventId);
        }
        int fromEvent = lastEventId == null || lastEventId.isBlank() ? 0 : stream.eventsReadBy(lastEventId);
        SlotLease reader = takeReaderSlot(userId);
        return stream.reader(fromEvent, reader::release);
    }

    private SlotLease takeReaderSlot(String userId) {
        return readerSlots.tryTake(userId).orElseThrow(() -> new ApiException(429, "too_many_readers", "You already have "
                + readerSlots.limit() + " resumed streams open; close one first.", STREAM_RETRY_AFTER_SECONDS));
    }

    private InputStream resumeElsewhere(String userId, String chatId, String lastEventId) {
        Optional<LatestRun> latest = latestRunOfChat(userId, chatId);
        if (latest.isEmpty()) {
            return null;
        }
        UUID runId = latest.get().runId();
        boolean live = latest.get().live();
        int afterEvent = lastEventId == null || lastEventId.isBlank() ? 0 : eventNumberIn(runId, lastEventId);
        if (shared != null) {
            SlotLease reader = takeReaderSlot(userId);
            InputStream remote;
            try {
                remote = shared.reader(runId, afterEvent, properties.keepAliveInterval(), properties.maxStreamDuration(),
                        () -> !"started".equals(runStatus(runId)), reader::release);
            } catch (RuntimeException e) {
                reader.release();
                throw e;
            }
            if (remote != null) {
                return remote;
            }
            reader.release();
        }
        if (live) {
            throw new ApiException(409, "stream_on_another_instance", "Run " + runId + " of this chat is streaming on another instance"
                    + (shared == null ? "" : " and its stream cannot be read from Redis") + "; resume there (try again), or read the run "
                    + "from GET /api/runs/" + runId + ".", 1);
        }
        return null;
    }

    /** The caller's latest run of a chat, whichever instance started it; live while pgflow has it started. */
    private record LatestRun(UUID runId, boolean live) {
    }

    private Optional<LatestRun> latestRunOfChat(String userId, String chatId) {
        return jdbc.query(LATEST_RUN_OF_CHAT, (row, n) -> new LatestRun(row.getObject("run_id", UUID.class),
                "started".equals(row.getString("status"))), userId, chatId, flowSlug, flowSlug).stream().findFirst();
    }

    private String runStatus(UUID runId) {
        try {
            List<String> status = jdbc.queryForList(RUN_STATUS, String.class, runId.toString());
            return status.isEmpty() ? "gone" : status.get(0);
        } catch (RuntimeException e) {
            // Unknown: the reader goes on waiting for its copy.
            return "started";
        }
    }

    /** As {@link ChatStream#eventsReadBy} says it, for a stream this instance does not hold: its number, or 0. */
    static int eventNumberIn(UUID runId, String lastEventId) {
        return ChatStream.eventNumber(ChatStream.eventIdPrefix(runId), lastEventId, Integer.MAX_VALUE);
    }

    /**
     * Ends what the event path did not: streams past their maximum duration, and streams whose run has ended in the
     * database for a whole sweep interval (the event path had its chance), finished from the stored run as its
     * terminal event would have.
     */
    void sweep() {
        try {
            Instant now = Instant.now();
            Map<UUID, ChatStream> open = new HashMap<>();
            streams.forEach((runId, stream) -> {
                if (!stream.expireIfDue(now)) {
                    open.put(runId, stream);
                }
            });
            Set<UUID> seenBefore = terminalAtLastSweep;
            Map<UUID, Map<String, RunEvent>> states = runStates.impliedEvents(open.keySet(),
                    (runId, name) -> name.equals("run:completed") && seenBefore.contains(runId));
            Set<UUID> terminalNow = new HashSet<>();
            states.forEach((runId, events) -> {
                RunEvent terminal = RunStates.terminalOf(events);
                if (terminal == null) {
                    return;
                }
                if (seenBefore.contains(runId)) {
                    log.warn("run {} has ended in the database but its stream had not: ending it from the stored run", runId);
                    if ("run:completed".equals(terminal.eventType())) {
                        runProgress.runCompleted(open.get(runId), terminal.payload());
                    } else {
                        runProgress.runFailed(open.get(runId), terminal.payload());
                    }
                } else {
                    terminalNow.add(runId);
                }
            });
            terminalAtLastSweep = terminalNow;
        } catch (RuntimeException e) {
            log.warn("Sweeping the open chat streams failed: {}", e.getMessage(), e);
        }
    }

    /**
     * Runs when the context starts closing, before the web server's graceful shutdown waits for requests to end: an
     * open stream would hold its request until its run ended. The runs go on (their tasks are handed back to pgflow).
     */
    @EventListener(ContextClosedEvent.class)
    public void endStreamsOnShutdown() {
        shuttingDown = true;
        sweeper.shutdownNow();
        for (ChatStream stream : streams.values()) {
            // Streams live in this process, so the run, not this stream, is what the client can come back to.
            stream.fail("The service is shutting down; run " + stream.runId() + " goes on: read its steps and answer from GET /api/runs/"
                    + stream.runId() + ", which any instance answers, rather than resume this stream.");
        }
    }

    /**
     * {@code POST /api/chat/{chatId}/stop}: stops the caller's streaming answer in that chat at once; {@code null}
     * when nothing is streaming there (the route answers 204). When another instance holds the stream (the caller's
     * latest run of the chat is live, and no stream of it is here), the stop goes to every instance by a PostgreSQL
     * notification and the holder cancels it as if it had been asked (such a stop counts toward the caller's request
     * rate); a holder whose listener is reconnecting at that moment misses it, and the client may stop again.
     */
    public Map<String, Object> stop(String userId, String chatId) {
        ChatStream stream = latestByChat.get(chatKey(userId, chatId));
        if (stream != null && !stream.isEnded()) {
            stream.cancel(STOPPED_BY_THE_USER);
            return stopping(stream.runId());
        }
        // Nothing streams here, or only an ended stream: the chat's latest run may be another instance's.
        // What is looked up and notified costs the database: it counts toward the caller's request rate, as a resume does.
        chatLimits.admit(userId);
        Optional<LatestRun> latest = latestRunOfChat(userId, chatId).filter(LatestRun::live);
        if (latest.isEmpty()) {
            return null;
        }
        UUID runId = latest.get().runId();
        jdbc.queryForList("select pg_notify(?, ?)", STOP_CHANNEL, runId.toString());
        return stopping(runId);
    }

    private static Map<String, Object> stopping(UUID runId) {
        return Map.of("runId", runId.toString(), "status", "stopping");
    }

    /** A stop another instance was asked for; the stream is cancelled if it is here (the asking instance checked the caller). */
    private void stopRequested(String payload) {
        UUID runId;
        try {
            runId = UUID.fromString(payload);
        } catch (IllegalArgumentException e) {
            log.warn("ignored a notification on {} that names no run: {}", STOP_CHANNEL, LogSafe.prefix(payload, 60));
            return;
        }
        ChatStream stream = streams.get(runId);
        if (stream != null && !stream.isEnded()) {
            log.info("run {}: stopped by the user through another instance", runId);
            stream.cancel(STOPPED_BY_THE_USER);
        }
    }

    private static String chatKey(String userId, String chatId) {
        return userId + "\u0000" + chatId;
    }

    /** The run could not be started: the stream never reached a client and goes away. */
    public void abandon(ChatStream stream) {
        if (stream != null) {
            // Ending it also gives back its turn to start, as every end does.
            stream.end();
        }
    }
}
