package io.github.pgflowchat.chat;

import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.ProducerTemplate;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.events.RunEventSource;
import io.github.pgflowchat.llm.ModelInfo;
import io.github.pgflowchat.pgflow.PgflowWorker;
import io.github.pgflowchat.pgflow.PgflowWorkerRoutes;
import io.github.pgflowchat.web.ApiException;

/**
 * The open chat streams of this instance, by run id. Opening one subscribes to the run's events before the run is
 * started, so the {@code run-progress} route sees every event; the stream leaves the registry when it ends.
 */
@Component("chatStreams")
public class ChatStreams {

    public static final String STREAM_HEADER = "chatStream";
    private static final long STREAM_RETRY_AFTER_SECONDS = 5;
    static final String PROGRESS_ROUTE = "direct:run-progress";

    private final Map<UUID, ChatStream> streams = new ConcurrentHashMap<>();
    /** The latest stream of each (user, chat), kept a while after it ends so a reconnecting client gets its tail. */
    private final Map<String, ChatStream> latestByChat = new ConcurrentHashMap<>();
    private final RunEventSource events;
    private final ProducerTemplate producer;
    private final ObjectMapper json;
    private final ChatProperties properties;
    private final ModelInfo model;
    private final String flowSlug;
    private final List<String> stepSlugs;
    private final ScheduledExecutorService scheduler;
    private final ChatLimits.Properties limits;
    private final PgflowWorker worker;

    public ChatStreams(RunEventSource events, ProducerTemplate producer, ObjectMapper json, ChatProperties properties,
                       ModelInfo model, JdbcTemplate jdbc, @Value("${gateway.flow-slug}") String flowSlug,
                       MeterRegistry meters, ChatLimits.Properties limits, PgflowWorker worker) {
        this.limits = limits;
        this.worker = worker;
        this.events = events;
        this.producer = producer;
        this.json = json;
        this.properties = properties;
        this.model = model;
        this.flowSlug = flowSlug;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "chat-stream-retention");
            thread.setDaemon(true);
            return thread;
        });
        this.stepSlugs = jdbc.queryForList("select step_slug from pgflow.steps where flow_slug = ? order by step_index",
                String.class, flowSlug);
        Gauge.builder("gateway.chat.streams.active", streams, Map::size)
                .description("Chat streams open on this instance")
                .register(meters);
    }

    public Optional<ChatStream> find(UUID runId) {
        return Optional.ofNullable(streams.get(runId));
    }

    /**
     * Opens the stream of a new run and returns the named parameters of {@code sql/start_flow.sql}. The run input
     * keeps what the user sent (chat id, message, recent turns), the owner's id and the worker of the instance holding
     * the stream, so nothing depends on this process staying alive.
     */
    public Map<String, Object> open(ChatRequest request, String userId) {
        Map<String, Object> input = new LinkedHashMap<>();
        input.put("chatId", request.chatId());
        input.put("userId", userId);
        input.put("trigger", request.trigger());
        input.put("messageId", request.question().id());
        input.put("question", request.question().text());
        input.put("history", request.history().stream().map(t -> Map.of("role", t.role(), "text", t.text())).toList());
        return openRun(input);
    }

    /**
     * Opens the stream of a run with a given input (a retry's: the failed run's input and its completed outputs).
     * The input must carry {@code chatId} and {@code userId}.
     */
    public Map<String, Object> openRun(Map<String, Object> input) {
        String userId = (String) input.get("userId");
        String chatId = (String) input.get("chatId");
        long open = streams.values().stream().filter(s -> s.userId().equals(userId)).count();
        if (open >= limits.concurrentStreams()) {
            throw new ApiException(429, "too_many_streams", "You already have " + open + " answers streaming; at most "
                    + limits.concurrentStreams() + " at once. Try again when one has finished.", STREAM_RETRY_AFTER_SECONDS);
        }
        UUID runId = UUID.randomUUID();
        ChatStream stream = new ChatStream(runId, chatId, userId, json, properties.keepAliveInterval(), properties.maxStreamDuration());
        RunEventSource.Subscription subscription = events.subscribe(runId, event -> {
            producer.sendBodyAndHeader(PROGRESS_ROUTE, event, STREAM_HEADER, stream);
            producer.sendBody(PgflowWorkerRoutes.CLAIM_FOR_STREAM, event);
        });
        String chatKey = chatKey(userId, chatId);
        stream.onEnd(() -> {
            subscription.close();
            streams.remove(runId, stream);
            scheduler.schedule(() -> latestByChat.remove(chatKey, stream), properties.resumeRetention().toMillis(), TimeUnit.MILLISECONDS);
        });
        stream.onDetached(() -> scheduler.schedule(() -> {
            if (stream.openReaders() == 0 && !stream.isEnded()) {
                stream.cancel("the client disconnected and did not come back within " + properties.disconnectGrace().toMillis() + " ms");
            }
        }, properties.disconnectGrace().toMillis(), TimeUnit.MILLISECONDS));
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
        for (String step : stepSlugs) {
            stream.updateStep(step, Map.of("status", "waiting"));
        }

        // The answer's tokens can reach this stream only from this instance: its worker runs the streamed steps.
        input.put("streamWorkerId", worker.workerId().toString());
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("flowSlug", flowSlug);
        parameters.put("runId", runId.toString());
        parameters.put("input", json.valueToTree(input).toString());
        parameters.put(STREAM_HEADER, stream);
        return parameters;
    }

    /** The run exists: the response body replays the stream from its first event and follows it. */
    public InputStream reader(ChatStream stream) {
        return stream.reader(0);
    }

    /**
     * {@code GET /api/chat/{chatId}/stream}: the caller's latest stream of that chat, replayed from its start, or from
     * just after {@code Last-Event-ID}; {@code null} when there is none to resume (the route answers 204).
     */
    public InputStream resume(String userId, String chatId, String lastEventId) {
        ChatStream stream = latestByChat.get(chatKey(userId, chatId));
        if (stream == null) {
            return null;
        }
        int fromEvent = 0;
        if (lastEventId != null && !lastEventId.isBlank()) {
            try {
                fromEvent = Integer.parseInt(lastEventId.strip());
            } catch (NumberFormatException e) {
                throw ApiException.badRequest("invalid_last_event_id", "Last-Event-ID must be the id of an event of this stream.");
            }
            if (fromEvent < 0 || fromEvent > stream.eventCount()) {
                throw ApiException.badRequest("invalid_last_event_id", "Last-Event-ID " + fromEvent + " is not an event of this stream.");
            }
        }
        return stream.reader(fromEvent);
    }

    /**
     * {@code POST /api/chat/{chatId}/stop}: stops the caller's streaming answer in that chat at once; {@code null}
     * when nothing is streaming there (the route answers 204).
     */
    public Map<String, Object> stop(String userId, String chatId) {
        ChatStream stream = latestByChat.get(chatKey(userId, chatId));
        if (stream == null || stream.isEnded()) {
            return null;
        }
        stream.cancel("stopped by the user");
        return Map.of("runId", stream.runId().toString(), "status", "stopping");
    }

    private static String chatKey(String userId, String chatId) {
        return userId + "\u0000" + chatId;
    }

    /** The run could not be started: the stream never reached a client and goes away. */
    public void abandon(ChatStream stream) {
        if (stream != null) {
            stream.end();
        }
    }
}
