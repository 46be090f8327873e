package io.github.pgflowchat.realtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.github.pgflowchat.support.PhoenixTestServer;

/** The socket pool against a Phoenix-protocol server on loopback that enforces Supabase's quotas. */
class RealtimePoolTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "anon-key";

    private final Vertx vertx = Vertx.vertx();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private PhoenixTestServer server;
    private RealtimeSocketPool pool;

    @AfterEach
    void close() throws Exception {
        if (pool != null) {
            pool.close();
        }
        if (server != null) {
            server.close();
        }
        vertx.close();
    }

    private PhoenixTestServer server() throws Exception {
        server = new PhoenixTestServer(KEY, KEY);
        server.start();
        return server;
    }

    private RealtimeSocketPool pool(int channelsPerSocket, int sockets, double joinsPerSecond, Duration idle) {
        pool = new RealtimeSocketPool(vertx, URI.create(server.url() + "?apikey=" + KEY + "&vsn=" + PhoenixSerializer.V2),
                PhoenixSerializer.V2, JSON, () -> KEY, Duration.ofSeconds(1), Duration.ofSeconds(3),
                new RealtimeSocketPool.Limits(channelsPerSocket, sockets, joinsPerSecond, idle), meters);
        pool.start();
        return pool;
    }

    private static List<String> topics(int count) {
        return IntStream.range(0, count).mapToObj(i -> "realtime:pgflow:run:t" + i).toList();
    }

    private List<RealtimeClientTest.Recorder> joinAll(List<String> topics) {
        List<RealtimeClientTest.Recorder> recorders = new ArrayList<>();
        for (String topic : topics) {
            RealtimeClientTest.Recorder recorder = new RealtimeClientTest.Recorder();
            recorders.add(recorder);
            pool.join(topic, recorder);
        }
        return recorders;
    }

    private double refused(String reason) {
        return meters.get("gateway.realtime.joins.refused").tag("reason", reason).counter().count();
    }

    private double meter(String name) {
        return meters.get(name).gauge().value();
    }

    @Test
    void channelsFillASocketBeforeTheNextIsOpenedAndNoneIsRefused() throws Exception {
        server().limitChannelsPerSocket(100);
        pool(100, 10, 500, Duration.ofMinutes(1));
        List<String> topics = topics(250);

        List<RealtimeClientTest.Recorder> recorders = joinAll(topics);

        await().atMost(Duration.ofSeconds(20)).until(() -> recorders.stream().allMatch(r -> r.joins.get() == 1));
        assertThat(server.refusedJoins()).isEmpty();
        assertThat(server.channelsPerSocket()).containsExactlyInAnyOrder(100, 100, 50);
        assertThat(meter("gateway.realtime.sockets")).isEqualTo(3);
        assertThat(meter("gateway.realtime.channels")).isEqualTo(250);
        server.broadcast(topics.get(249), "run:completed", JSON.createObjectNode());
        await().atMost(Duration.ofSeconds(5)).until(() -> recorders.get(249).events.contains("run:completed"));
        assertThat(recorders.get(0).events).isEmpty();
    }

    @Test
    void aJoinRefusedForTooManyChannelsIsJoinedOnAnotherSocket() throws Exception {
        // The server takes fewer channels per socket than the pool was told: it refuses, and the pool learns.
        server().limitChannelsPerSocket(10);
        pool(100, 10, 500, Duration.ofMinutes(1));
        List<String> topics = topics(25);

        List<RealtimeClientTest.Recorder> recorders = joinAll(topics);

        await().atMost(Duration.ofSeconds(20)).until(() -> recorders.stream().allMatch(r -> r.joins.get() == 1));
        assertThat(server.refusedJoins()).isNotEmpty().containsOnly("ChannelRateLimitReached: Too many channels");
        assertThat(server.channelsPerSocket()).containsExactlyInAnyOrder(10, 10, 5);
        assertThat(server.joinedTopics()).containsExactlyInAnyOrderElementsOf(topics);
        assertThat(refused("channels_per_socket")).isEqualTo(server.refusedJoins().size());
        assertThat(meters.get("gateway.realtime.joins.retried").counter().count()).isEqualTo(server.refusedJoins().size());
        assertThat(recorders).allSatisfy(r -> assertThat(r.joinErrors).hasSizeLessThanOrEqualTo(2));
        for (String topic : topics) {
            server.broadcast(topic, "run:completed", JSON.createObjectNode());
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> recorders.stream().allMatch(r -> r.events.equals(List.of("run:completed"))));
    }

    @Test
    void whenEverySocketIsFullAChannelWaitsForRoom() throws Exception {
        server().limitChannelsPerSocket(5);
        pool(5, 2, 500, Duration.ofMinutes(1));
        List<String> topics = topics(12);

        List<RealtimeClientTest.Recorder> recorders = joinAll(topics);

        await().atMost(Duration.ofSeconds(10)).until(() -> server.joinedTopics().size() == 10);
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> server.joinedTopics().size() == 10);
        assertThat(server.socketsAccepted()).isEqualTo(2);
        assertThat(server.refusedJoins()).isEmpty();

        pool.leave(topics.get(0));
        pool.leave(topics.get(1));

        await().atMost(Duration.ofSeconds(10)).until(() -> recorders.get(10).joins.get() == 1 && recorders.get(11).joins.get() == 1);
        assertThat(server.joinedTopics()).containsExactlyInAnyOrderElementsOf(topics.subList(2, 12));
        assertThat(server.refusedJoins()).isEmpty();
    }

    @Test
    void joinsArePacedUnderTheJoinsPerSecondQuota() throws Exception {
        server().limitJoinsPerSecond(10);
        pool(100, 10, 8, Duration.ofMinutes(1));
        List<Long> joinedAt = new CopyOnWriteArrayList<>();
        long start = System.nanoTime();
        for (String topic : topics(30)) {
            pool.join(topic, new RealtimeClient.ChannelListener() {
                @Override
                public void onJoined() {
                    joinedAt.add(System.nanoTime());
                }

                @Override
                public void onBroadcast(String event, com.fasterxml.jackson.databind.JsonNode payload) {
                }
            });
        }

        await().atMost(Duration.ofSeconds(15)).until(() -> joinedAt.size() == 30);
        assertThat(server.refusedJoins()).isEmpty();
        // 30 joins at 8 per second: the last no sooner than 29 / 8 s after the first.
        assertThat(Duration.ofNanos(joinedAt.stream().mapToLong(Long::longValue).max().orElseThrow() - start))
                .isGreaterThan(Duration.ofMillis(3400));
        List<Long> sorted = joinedAt.stream().sorted().toList();
        for (int i = 0; i + 10 < sorted.size(); i++) {
            assertThat(sorted.get(i + 10) - sorted.get(i)).as("11 joins within one second").isGreaterThanOrEqualTo(900_000_000L);
        }
    }

    @Test
    void aSocketLeftWithoutChannelsIsClosedAfterTheIdleTimeoutButTheFirstStays() throws Exception {
        server();
        pool(5, 10, 500, Duration.ofMillis(700));
        List<String> topics = topics(8);
        List<RealtimeClientTest.Recorder> recorders = joinAll(topics);
        await().atMost(Duration.ofSeconds(10)).until(() -> recorders.stream().allMatch(r -> r.joins.get() == 1));
        assertThat(server.connectedClients()).isEqualTo(2);

        topics.forEach(pool::leave);

        await().atMost(Duration.ofSeconds(5)).until(() -> server.connectedClients() == 1);
        assertThat(pool.sockets()).isEqualTo(1);
        assertThat(pool.isConnected()).isTrue();
        assertThat(meter("gateway.realtime.channels")).isZero();
        // A channel after that joins on the first socket; a sixth one opens a new socket again.
        List<RealtimeClientTest.Recorder> again = joinAll(topics(6));
        await().atMost(Duration.ofSeconds(10)).until(() -> again.stream().allMatch(r -> r.joins.get() == 1));
        assertThat(server.connectedClients()).isEqualTo(2);
        assertThat(server.socketsAccepted()).isEqualTo(3);
    }

    @Test
    void joinsRefusedForTheJoinsPerSecondQuotaBackOffAndAreRetried() throws Exception {
        // The pool is told a rate the server does not allow: it must back off when told so, and get there.
        server().limitJoinsPerSecond(5);
        pool(100, 10, 100, Duration.ofMinutes(1));

        List<RealtimeClientTest.Recorder> recorders = joinAll(topics(20));

        await().atMost(Duration.ofSeconds(40)).until(() -> recorders.stream().allMatch(r -> r.joins.get() == 1));
        assertThat(server.refusedJoins()).isNotEmpty().containsOnly("ClientJoinRateLimitReached: Too many joins per second");
        assertThat(refused("joins_per_second")).isEqualTo(server.refusedJoins().size());
        // Without the back-off, 100 joins a second against 5 allowed would be refused by the hundred.
        assertThat(server.refusedJoins().size()).isLessThan(40);
        assertThat(server.joinedTopics()).hasSize(20);
    }

    @Test
    void aChannelStoppedForTooManyMessagesIsJoinedAgainAfterABackOff() throws Exception {
        server().limitMessagesPerSecond(5);
        pool(100, 10, 100, Duration.ofMinutes(1));

        List<RealtimeClientTest.Recorder> recorders = joinAll(topics(12));

        await().atMost(Duration.ofSeconds(40)).until(() -> server.joinedTopics().size() == 12);
        assertThat(server.messageRateErrors()).isPositive();
        assertThat(meters.get("gateway.realtime.messages.rate.limited").counter().count()).isEqualTo(server.messageRateErrors());
        assertThat(recorders).allSatisfy(r -> assertThat(r.joins.get()).isOne());
    }
}
