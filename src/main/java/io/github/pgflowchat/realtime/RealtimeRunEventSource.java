package io.github.pgflowchat.realtime;

import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.pgflow.CommittedSteps;
import io.github.pgflowchat.events.FollowedRuns;
import io.github.pgflowchat.events.RunEvent;
import io.github.pgflowchat.events.RunEventSource;

/**
 * Run events woken by Supabase Realtime: each followed run is a channel {@code realtime:pgflow:run:<run_id>} on one
 * of the instance's sockets ({@link RealtimeSocketPool}, within Supabase's quotas). pgflow broadcasts on public topics, so anyone with the anon key and a run id can send into
 * one: a broadcast is only a hint that makes {@link FollowedRuns} read the run's state from the database, and its
 * payload is never delivered. Broadcasts sent before a join completes are never delivered either, so every (re)join
 * reads the run's state too; while the socket is down, or a run's channel waits for its join (paced, or refused for a
 * quota and retried), the reconciler's timer keeps followed runs moving.
 */
@Component
@ConditionalOnExpression(RealtimeRunEventSource.SELECTED)
public class RealtimeRunEventSource implements RunEventSource, DisposableBean {

    /** {@code gateway.events.source=supabase}, or {@code auto} with a Supabase URL configured. */
    public static final String SELECTED = RunEventSource.REALTIME_SELECTED;

    static final String TOPIC_PREFIX = "realtime:pgflow:run:";

    private final FollowedRuns followedRuns;
    private final Vertx vertx;
    private final RealtimeSocketPool client;
    private final DistributionSummary messagesPerRun;

    public RealtimeRunEventSource(FollowedRuns followedRuns, ObjectMapper json, RealtimeProperties properties, MeterRegistry meters) {
        this.followedRuns = followedRuns;
        this.messagesPerRun = DistributionSummary.builder("gateway.realtime.messages.per.run")
                .description("Realtime broadcasts received for one run while a chat stream followed it (budget: 10)")
                .register(meters);
        if (properties.url() == null || properties.url().isBlank() || properties.apiKey() == null || properties.apiKey().isBlank()) {
            throw new IllegalStateException("Run events from Supabase Realtime need SUPABASE_URL and SUPABASE_ANON_KEY "
                    + "(gateway.realtime.url, gateway.realtime.api-key); or set EVENTS_SOURCE=notify");
        }
        this.vertx = Vertx.vertx();
        this.client = new RealtimeSocketPool(vertx, properties.websocketUri(), properties.vsn(), json, properties::token,
                properties.heartbeatInterval(), properties.joinTimeout(), properties.limits(), meters);
        client.start();
    }

    @Override
    public Subscription subscribe(UUID runId, Consumer<RunEvent> listener) {
        RunChannel channel = new RunChannel(runId);
        Subscription followed = followedRuns.follow(runId, listener);
        client.join(TOPIC_PREFIX + runId, channel);
        return () -> {
            followed.close();
            messagesPerRun.record(channel.broadcasts.get());
            client.leave(TOPIC_PREFIX + runId);
        };
    }

    @Override
    public boolean isConnected() {
        return client.isConnected();
    }

    @Override
    public CommittedSteps committedSteps() {
        return followedRuns;
    }

    /** The sockets and their counters, for tests and benchmarks. */
    public RealtimeSocketPool pool() {
        return client;
    }

    @Override
    public void destroy() {
        client.close();
        vertx.close();
    }

    private final class RunChannel implements RealtimeClient.ChannelListener {
        private final UUID runId;
        private final AtomicInteger broadcasts = new AtomicInteger();

        RunChannel(UUID runId) {
            this.runId = runId;
        }

        @Override
        public void onJoined() {
            followedRuns.hint(runId);
        }

        @Override
        public void onBroadcast(String event, JsonNode payload) {
            broadcasts.incrementAndGet();
            followedRuns.hint(runId, event);
        }
    }
}
