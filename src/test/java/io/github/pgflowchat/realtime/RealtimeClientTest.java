package io.github.pgflowchat.realtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import io.github.pgflowchat.support.PhoenixTestServer;

/** The Realtime client against a Phoenix-protocol server on loopback, in both framings. */
class RealtimeClientTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "anon-key";
    private static final String TOPIC = "realtime:pgflow:run:test";
    private static final String OTHER_TOPIC = "realtime:pgflow:run:other";

    private final Vertx vertx = Vertx.vertx();
    private PhoenixTestServer server;
    private RealtimeClient client;

    @AfterEach
    void close() throws Exception {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
        vertx.close();
    }

    static final class Recorder implements RealtimeClient.ChannelListener {
        final AtomicInteger joins = new AtomicInteger();
        final List<String> events = new CopyOnWriteArrayList<>();
        final List<JsonNode> payloads = new CopyOnWriteArrayList<>();
        final List<String> joinErrors = new CopyOnWriteArrayList<>();

        @Override
        public void onJoined() {
            joins.incrementAndGet();
        }

        @Override
        public void onBroadcast(String event, JsonNode payload) {
            events.add(event);
            payloads.add(payload);
        }

        @Override
        public void onJoinError(String reason) {
            joinErrors.add(reason);
        }
    }

    private RealtimeClient client(String url, String vsn, String token) {
        return new RealtimeClient(vertx, URI.create(url + "?apikey=" + KEY + "&vsn=" + vsn), vsn, JSON, () -> token,
                Duration.ofSeconds(1), Duration.ofSeconds(2));
    }

    @ParameterizedTest
    @ValueSource(strings = {PhoenixSerializer.V1, PhoenixSerializer.V2})
    void joinsAndReceivesBroadcastsInOrder(String vsn) throws Exception {
        server = new PhoenixTestServer(KEY, KEY);
        server.start();
        client = client(server.url(), vsn, KEY);
        Recorder recorder = new Recorder();

        client.start();
        client.join(TOPIC, recorder);
        await().atMost(Duration.ofSeconds(5)).until(() -> recorder.joins.get() == 1);
        for (int i = 0; i < 20; i++) {
            server.broadcast(TOPIC, "step:s" + i + ":completed", JSON.createObjectNode().put("n", i).put("text", "ü–✓"));
        }

        await().atMost(Duration.ofSeconds(5)).until(() -> recorder.events.size() == 20);
        assertThat(recorder.events).containsExactlyElementsOf(java.util.stream.IntStream.range(0, 20).mapToObj(i -> "step:s" + i + ":completed").toList());
        assertThat(recorder.payloads.get(7).path("n").asInt()).isEqualTo(7);
        assertThat(recorder.payloads.get(7).path("text").asText()).isEqualTo("ü–✓");
        JsonNode join = server.joins().get(0);
        assertThat(join.path("access_token").asText()).isEqualTo(KEY);
        assertThat(join.path("config").path("private").asBoolean(true)).isFalse();
        assertThat(join.path("config").path("broadcast").path("self").asBoolean(true)).isFalse();
    }

    @Test
    void rejoinsEveryChannelAfterTheSocketDrops() throws Exception {
        server = new PhoenixTestServer(KEY, KEY);
        server.start();
        client = client(server.url(), PhoenixSerializer.V2, KEY);
        Recorder first = new Recorder();
        Recorder second = new Recorder();
        client.start();
        client.join(TOPIC, first);
        client.join(TOPIC + "-2", second);
        await().atMost(Duration.ofSeconds(5)).until(() -> first.joins.get() == 1 && second.joins.get() == 1);

        server.dropConnections();

        await().atMost(Duration.ofSeconds(10)).until(() -> first.joins.get() == 2 && second.joins.get() == 2);
        server.broadcast(TOPIC, "run:completed", JSON.createObjectNode());
        await().atMost(Duration.ofSeconds(5)).until(() -> first.events.contains("run:completed"));
        assertThat(second.events).isEmpty();
    }

    @Test
    void startsWithoutAReachableServerAndConnectsWhenItComesUp() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        client = client("ws://127.0.0.1:" + port + "/realtime/v1/websocket", PhoenixSerializer.V2, KEY);
        Recorder recorder = new Recorder();
        client.start();
        client.join(TOPIC, recorder);
        assertThat(client.isConnected()).isFalse();

        server = new PhoenixTestServer(KEY, KEY);
        server.startOn(port);

        await().atMost(Duration.ofSeconds(15)).until(() -> recorder.joins.get() == 1);
        assertThat(client.isConnected()).isTrue();
    }

    @Test
    void aRefusedTokenIsReportedAndTheJoinIsRetried() throws Exception {
        server = new PhoenixTestServer(KEY, "the-right-token");
        server.start();
        client = client(server.url(), PhoenixSerializer.V1, "a-wrong-token");
        Recorder recorder = new Recorder();

        client.start();
        client.join(TOPIC, recorder);

        await().atMost(Duration.ofSeconds(10)).until(() -> recorder.joinErrors.size() >= 2);
        assertThat(recorder.joinErrors).containsOnly("Invalid token");
        assertThat(recorder.joins.get()).isZero();
    }

    @Test
    void aChangedAccessTokenIsPushedToTheJoinedChannels() throws Exception {
        server = new PhoenixTestServer(KEY, KEY);
        server.start();
        java.util.concurrent.atomic.AtomicReference<String> token = new java.util.concurrent.atomic.AtomicReference<>(KEY);
        client = new RealtimeClient(vertx, URI.create(server.url() + "?apikey=" + KEY + "&vsn=2.0.0"), PhoenixSerializer.V2, JSON,
                token::get, Duration.ofMillis(300), Duration.ofSeconds(2));
        Recorder recorder = new Recorder();
        client.start();
        client.join(TOPIC, recorder);
        await().atMost(Duration.ofSeconds(5)).until(() -> recorder.joins.get() == 1);

        token.set("refreshed-token");

        await().atMost(Duration.ofSeconds(5)).until(() -> server.tokenRefreshes().contains("refreshed-token"));
        assertThat(server.tokenRefreshes()).containsOnly("refreshed-token");
    }

    @Test
    void aChannelThatCrashesOnTheServerIsJoinedAgain() throws Exception {
        server = new PhoenixTestServer(KEY, KEY);
        server.start();
        client = client(server.url(), PhoenixSerializer.V1, KEY);
        Recorder recorder = new Recorder();
        client.start();
        client.join(TOPIC, recorder);
        await().atMost(Duration.ofSeconds(5)).until(() -> recorder.joins.get() == 1);

        server.crashChannel(TOPIC);

        await().atMost(Duration.ofSeconds(10)).until(() -> recorder.joins.get() == 2);
        server.broadcast(TOPIC, "run:completed", JSON.createObjectNode());
        await().atMost(Duration.ofSeconds(5)).until(() -> recorder.events.contains("run:completed"));
    }

    @Test
    void aWrongApiKeyIsRefusedAtTheUpgrade() throws Exception {
        server = new PhoenixTestServer("the-real-key", KEY);
        server.start();
        client = client(server.url(), PhoenixSerializer.V2, KEY);

        client.start();

        await().atMost(Duration.ofSeconds(5)).until(() -> !server.rejectedUpgrades().isEmpty());
        assertThat(client.isConnected()).isFalse();
    }

    @Test
    void aDelayedJoinReplyStillJoinsAndLeavingStopsDelivery() throws Exception {
        server = new PhoenixTestServer(KEY, KEY);
        server.start();
        server.delayJoinReplies(Duration.ofMillis(700));
        client = client(server.url(), PhoenixSerializer.V2, KEY);
        Recorder recorder = new Recorder();
        Recorder other = new Recorder();
        client.start();
        client.join(TOPIC, recorder);
        client.join(OTHER_TOPIC, other);

        await().atMost(Duration.ofSeconds(5)).until(() -> recorder.joins.get() == 1 && other.joins.get() == 1);
        client.leave(TOPIC);

        await().atMost(Duration.ofSeconds(5)).until(() -> !server.joinedTopics().contains(TOPIC));
        // A frame for the left topic still arrives; the one after it on the same socket proves it was read.
        server.broadcastToEveryClient(TOPIC, "run:completed", JSON.createObjectNode());
        server.broadcast(OTHER_TOPIC, "run:started", JSON.createObjectNode());
        await().atMost(Duration.ofSeconds(5)).until(() -> other.events.contains("run:started"));
        assertThat(recorder.events).isEmpty();
    }
}
