package io.github.pgflowchat.events;

import java.util.UUID;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.pgflow.CommittedSteps;
import io.github.pgflowchat.db.PgNotificationListener;
import io.github.pgflowchat.db.StoredJson;

/**
 * Run events woken by NOTIFY: pgflow's broadcasts reach {@code realtime.send}, which records each one in
 * {@code realtime.messages}, and a NOTIFY on {@code realtime_broadcast} names the topic (the local stand-in sends it
 * itself; on Supabase the trigger of {@code db/realtime-notify} does). A notification for a followed run makes
 * {@link FollowedRuns} read the run's state from pgflow's tables; after a lost connection every followed run is read.
 */
@Component
@ConditionalOnExpression("!(" + RunEventSource.REALTIME_SELECTED + ")")
public class NotifyRunEventSource implements RunEventSource {

    private static final Logger log = LoggerFactory.getLogger(NotifyRunEventSource.class);

    static final String CHANNEL = "realtime_broadcast";
    private static final String TOPIC_PREFIX = "pgflow:run:";

    private final JdbcTemplate jdbc;
    private final ObjectMapper json;
    private final PgNotificationListener listener;
    private final FollowedRuns followedRuns;

    public NotifyRunEventSource(JdbcTemplate jdbc, ObjectMapper json, PgNotificationListener listener, FollowedRuns followedRuns) {
        this.jdbc = jdbc;
        this.json = json;
        this.listener = listener;
        this.followedRuns = followedRuns;
        listener.listen(CHANNEL, this::onNotification);
        listener.onReconnect(followedRuns::hintAll);
        if (!somethingNotifies()) {
            log.warn("EVENTS_SOURCE=notify, but nothing NOTIFYs run events here: realtime.send is not the project's stand-in "
                    + "and realtime.messages has no notify_realtime_broadcast trigger (db/realtime-notify needs TRIGGER on it). "
                    + "Chats move only when every followed run is read (gateway.events.reconcile-interval); grant the "
                    + "trigger and apply db/realtime-notify, or set EVENTS_SOURCE=supabase.");
        }
    }

    /** The stand-in's realtime.send NOTIFYs itself; Supabase's needs the trigger of {@code db/realtime-notify}. */
    private boolean somethingNotifies() {
        return Boolean.TRUE.equals(jdbc.queryForObject("""
                select coalesce(obj_description(to_regprocedure('realtime.send(jsonb, text, text, boolean)'), 'pg_proc'), '') like '%stand-in%'
                    or exists (select 1 from pg_trigger
                                where tgname = 'notify_realtime_broadcast' and tgrelid = to_regclass('realtime.messages'))
                """, Boolean.class));
    }

    @Override
    public Subscription subscribe(UUID runId, Consumer<RunEvent> consumer) {
        return followedRuns.follow(runId, consumer);
    }

    @Override
    public boolean isConnected() {
        return listener.isConnected();
    }

    @Override
    public CommittedSteps committedSteps() {
        return followedRuns;
    }

    private void onNotification(String notification) {
        JsonNode message = StoredJson.read(json, notification, "a realtime_broadcast notification");
        String topic = message.path("topic").asText("");
        if (topic.startsWith(TOPIC_PREFIX)) {
            try {
                followedRuns.hint(UUID.fromString(topic.substring(TOPIC_PREFIX.length())), message.path("event").asText(null));
            } catch (IllegalArgumentException e) {
                // not a run id: not one of ours
            }
        }
    }
}
