package io.github.pgflowchat.realtime;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.db.StoredJson;
import io.github.pgflowchat.events.RunEvent;
import io.github.pgflowchat.events.RunEventSource;

/**
 * Run events from Supabase Realtime: each followed run is a channel {@code realtime:pgflow:run:<run_id>} on the
 * instance's one socket. Broadcasts sent before a join completes are never delivered, so after every (re)join the
 * run's state is read from the database ({@code pgflow.get_run_with_states} and the tasks' outputs) and whatever the
 * listener has not seen is emitted first; while the socket is down, followed runs are read from the database on a
 * timer instead. Each event reaches the listener once (by event name: pgflow sends each at most once per run, but
 * for a repeated complete_task), in order, on one delivery thread.
 */
@Component
@ConditionalOnExpression(RealtimeRunEventSource.SELECTED)
public class RealtimeRunEventSource implements RunEventSource, DisposableBean {

    /** {@code gateway.events.source=supabase}, or {@code auto} with a Supabase URL configured. */
    public static final String SELECTED = "'${gateway.events.source}' == 'supabase' or "
            + "('${gateway.events.source}' == 'auto' and !'${gateway.realtime.url:}'.isBlank())";

    private static final Logger log = LoggerFactory.getLogger(RealtimeRunEventSource.class);
    static final String TOPIC_PREFIX = "realtime:pgflow:run:";

    private static final String TASK_OUTPUTS =
            "select step_slug, output::text as output from pgflow.step_tasks where run_id = ? and task_index = 0 and status = 'completed'";

    private final JdbcTemplate jdbc;
    private final ObjectMapper json;
    private final Vertx vertx;
    private final RealtimeClient client;
    private final ExecutorService delivery = Executors.newSingleThreadExecutor(r -> {
        Thread thread = new Thread(r, "realtime-events");
        thread.setDaemon(true);
        return thread;
    });
    private final Map<UUID, RunChannel> channels = new ConcurrentHashMap<>();
    private final DistributionSummary messagesPerRun;

    public RealtimeRunEventSource(JdbcTemplate jdbc, ObjectMapper json, RealtimeProperties properties, MeterRegistry meters) {
        this.jdbc = jdbc;
        this.json = json;
        this.messagesPerRun = DistributionSummary.builder("gateway.realtime.messages.per.run")
                .description("Realtime broadcasts received for one run while a chat stream followed it (budget: 10)")
                .register(meters);
        if (properties.url() == null || properties.url().isBlank() || properties.apiKey() == null || properties.apiKey().isBlank()) {
            throw new IllegalStateException("Run events from Supabase Realtime need SUPABASE_URL and SUPABASE_ANON_KEY "
                    + "(gateway.realtime.url, gateway.realtime.api-key); or set EVENTS_SOURCE=notify");
        }
        this.vertx = Vertx.vertx();
        this.client = new RealtimeClient(vertx, properties.websocketUri(), properties.vsn(), json, properties::token,
                properties.heartbeatInterval(), properties.joinTimeout());
        client.start();
    }

    @Override
    public Subscription subscribe(UUID runId, Consumer<RunEvent> listener) {
        RunChannel channel = new RunChannel(runId, listener);
        channels.put(runId, channel);
        client.join(TOPIC_PREFIX + runId, channel);
        return () -> {
            if (channels.remove(runId, channel)) {
                messagesPerRun.record(channel.broadcasts.get());
            }
            client.leave(TOPIC_PREFIX + runId);
        };
    }

    @Override
    public boolean isConnected() {
        return client.isConnected();
    }

    /** While Realtime is unreachable (or a channel cannot join) the database is the event source: chats still finish. */
    @Scheduled(fixedDelayString = "${gateway.realtime.fallback-poll-interval}")
    void readRunsRealtimeDoesNotDeliver() {
        boolean connected = client.isConnected();
        channels.values().stream()
                .filter(channel -> !connected || !channel.joined)
                .forEach(channel -> delivery.execute(channel::catchUp));
    }

    @Override
    public void destroy() {
        client.close();
        delivery.shutdownNow();
        vertx.close();
    }

    private final class RunChannel implements RealtimeClient.ChannelListener {
        private final UUID runId;
        private final Consumer<RunEvent> listener;
        /** Touched only on the delivery thread. */
        private final Set<String> delivered = new HashSet<>();
        private volatile boolean joined;
        private final AtomicInteger broadcasts = new AtomicInteger();

        RunChannel(UUID runId, Consumer<RunEvent> listener) {
            this.runId = runId;
            this.listener = listener;
        }

        @Override
        public void onJoined() {
            joined = true;
            delivery.execute(this::catchUp);
        }

        @Override
        public void onJoinError(String reason) {
            joined = false;
        }

        @Override
        public void onBroadcast(String event, JsonNode payload) {
            broadcasts.incrementAndGet();
            delivery.execute(() -> deliver(event, payload));
        }

        private void deliver(String event, JsonNode payload) {
            if (channels.get(runId) == this && delivered.add(event)) {
                try {
                    listener.accept(new RunEvent(runId, event, payload));
                } catch (RuntimeException e) {
                    log.warn("Listener of run {} failed on {}: {}", runId, event, e.getMessage(), e);
                }
            }
        }

        /** Emits, in pgflow's order, the events the run's stored state implies and the listener has not seen. */
        void catchUp() {
            if (channels.get(runId) != this) {
                return;
            }
            try {
                String state = jdbc.queryForObject("select pgflow.get_run_with_states(?::uuid)::text", String.class, runId.toString());
                if (state == null) {
                    return;
                }
                for (Map.Entry<String, JsonNode> event : impliedEvents(StoredJson.read(json, state, "pgflow.get_run_with_states"), outputs()).entrySet()) {
                    deliver(event.getKey(), event.getValue());
                }
            } catch (RuntimeException e) {
                log.warn("Could not read the state of run {}: {}", runId, e.getMessage());
            }
        }

        private Map<String, JsonNode> outputs() {
            Map<String, JsonNode> outputs = new java.util.HashMap<>();
            jdbc.query(TASK_OUTPUTS, rs -> {
                outputs.put(rs.getString("step_slug"), StoredJson.read(json, rs.getString("output"), "a step output"));
            }, runId);
            return outputs;
        }

        private Map<String, JsonNode> impliedEvents(JsonNode state, Map<String, JsonNode> outputs) {
            Map<String, JsonNode> events = new java.util.LinkedHashMap<>();
            JsonNode run = state.path("run");
            List<JsonNode> steps = new ArrayList<>();
            state.path("steps").forEach(steps::add);
            String failedStepError = null;
            for (JsonNode step : steps) {
                String slug = step.path("step_slug").asText();
                String status = step.path("status").asText();
                if (!step.path("started_at").isNull() && !step.path("started_at").isMissingNode()) {
                    events.put("step:" + slug + ":started", event("step:started", slug, "started")
                            .put("started_at", step.path("started_at").asText()));
                }
                if ("completed".equals(status)) {
                    ObjectNode completed = event("step:completed", slug, "completed").put("completed_at", step.path("completed_at").asText());
                    completed.set("output", outputs.getOrDefault(slug, json.nullNode()));
                    events.put("step:" + slug + ":completed", completed);
                } else if ("failed".equals(status)) {
                    failedStepError = step.path("error_message").asText(null);
                    events.put("step:" + slug + ":failed", event("step:failed", slug, "failed")
                            .put("failed_at", step.path("failed_at").asText())
                            .put("error_message", failedStepError));
                }
            }
            String runStatus = run.path("status").asText();
            if ("completed".equals(runStatus)) {
                ObjectNode completed = runEvent("run:completed", "completed").put("completed_at", run.path("completed_at").asText());
                completed.set("output", run.path("output"));
                events.put("run:completed", completed);
            } else if ("failed".equals(runStatus)) {
                events.put("run:failed", runEvent("run:failed", "failed").put("failed_at", run.path("failed_at").asText())
                        .put("error_message", failedStepError));
            }
            return events;
        }

        private ObjectNode event(String eventType, String stepSlug, String status) {
            return json.createObjectNode().put("event_type", eventType).put("run_id", runId.toString())
                    .put("step_slug", stepSlug).put("status", status);
        }

        private ObjectNode runEvent(String eventType, String status) {
            return json.createObjectNode().put("event_type", eventType).put("run_id", runId.toString()).put("status", status);
        }
    }
}
