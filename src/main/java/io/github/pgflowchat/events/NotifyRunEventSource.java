package io.github.pgflowchat.events;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.db.PgNotificationListener;
import io.github.pgflowchat.db.StoredJson;
import io.github.pgflowchat.realtime.RealtimeRunEventSource;

/**
 * Run events from the local {@code realtime.send} stand-in: it stores each broadcast in {@code realtime.messages}
 * and NOTIFYs its id. Events are read back by id and delivered on the notification thread, so a run's events keep
 * their commit order; after a lost connection every subscribed run is caught up from the table.
 */
@Component
@ConditionalOnExpression("!(" + RealtimeRunEventSource.SELECTED + ")")
class NotifyRunEventSource implements RunEventSource {

    static final String CHANNEL = "realtime_broadcast";
    private static final String TOPIC_PREFIX = "pgflow:run:";

    private final JdbcTemplate jdbc;
    private final ObjectMapper json;
    private final PgNotificationListener listener;
    private final Map<UUID, RunSubscription> subscriptions = new ConcurrentHashMap<>();

    NotifyRunEventSource(JdbcTemplate jdbc, ObjectMapper json, PgNotificationListener listener) {
        this.jdbc = jdbc;
        this.json = json;
        this.listener = listener;
        listener.listen(CHANNEL, this::onNotification);
        listener.onReconnect(this::catchUpAll);
    }

    @Override
    public Subscription subscribe(UUID runId, Consumer<RunEvent> consumer) {
        RunSubscription subscription = new RunSubscription(runId, consumer);
        subscriptions.put(runId, subscription);
        return () -> subscriptions.remove(runId, subscription);
    }

    @Override
    public boolean isConnected() {
        return listener.isConnected();
    }

    private void onNotification(String notification) {
        JsonNode message = StoredJson.read(json, notification, "a realtime_broadcast notification");
        String topic = message.path("topic").asText("");
        if (!topic.startsWith(TOPIC_PREFIX)) {
            return;
        }
        RunSubscription subscription = subscriptions.get(UUID.fromString(topic.substring(TOPIC_PREFIX.length())));
        if (subscription != null) {
            subscription.catchUp();
        }
    }

    private void catchUpAll() {
        subscriptions.values().forEach(RunSubscription::catchUp);
    }

    /** Delivers the run's stored events past the last one delivered; only the notification thread calls it. */
    private final class RunSubscription {
        private final UUID runId;
        private final Consumer<RunEvent> consumer;
        private long lastDeliveredId;

        RunSubscription(UUID runId, Consumer<RunEvent> consumer) {
            this.runId = runId;
            this.consumer = consumer;
        }

        void catchUp() {
            jdbc.query("select id, event, payload::text as payload from realtime.messages where topic = ? and id > ? order by id",
                    rs -> {
                        lastDeliveredId = rs.getLong("id");
                        consumer.accept(new RunEvent(runId, rs.getString("event"), StoredJson.read(json, rs.getString("payload"), "a realtime.messages payload")));
                    },
                    TOPIC_PREFIX + runId, lastDeliveredId);
        }
    }
}
