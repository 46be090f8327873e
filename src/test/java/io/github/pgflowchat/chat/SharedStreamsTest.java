package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.lettuce.core.RedisClient;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.github.pgflowchat.redis.RedisProperties;
import io.github.pgflowchat.support.GatewayInstance;
import io.github.pgflowchat.web.ApiException;

/** The copy of chat streams in Redis and the readers served from it, against a real Redis (TEST_REDIS_URL). */
class SharedStreamsTest {

    private static final Duration KEEP_ALIVE = Duration.ofMillis(200);

    private final String prefix = "test-" + UUID.randomUUID() + ":";
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private RedisClient client;
    private RedisCommands<String, String> redis;

    @BeforeEach
    void connect() {
        client = RedisClient.create(GatewayInstance.REDIS_URL);
        StatefulRedisConnection<String, String> connection = client.connect();
        toClose.add(connection);
        redis = connection.sync();
    }

    @AfterEach
    void close() throws Exception {
        List<String> keys = redis.keys(prefix + "*");
        if (!keys.isEmpty()) {
            redis.del(keys.toArray(String[]::new));
        }
        for (AutoCloseable closeable : toClose.reversed()) {
            closeable.close();
        }
        client.shutdown();
    }

    private SharedStreams sharedStreams(String url, SimpleMeterRegistry meters) {
        RedisClient own = RedisClient.create(url);
        SharedStreams streams = new SharedStreams(own, new RedisProperties(url, Duration.ofMillis(500)),
                new SharedStreamsProperties(true, prefix, 1000, Duration.ofMinutes(1), 1000, Duration.ofSeconds(3)), meters,
                Duration.ofMinutes(10));
        toClose.add(own::shutdown);
        toClose.add(streams::destroy);
        return streams;
    }

    private static byte[] event(UUID runId, int number) {
        return ("id: " + runId.toString().substring(0, 8) + "-" + number + "\ndata: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"w"
                + number + " \"}\n\n").getBytes(StandardCharsets.UTF_8);
    }

    private static String read(InputStream reader) throws Exception {
        return CompletableFuture.supplyAsync(() -> {
            try (reader) {
                return new String(reader.readAllBytes(), StandardCharsets.UTF_8);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).get(20, TimeUnit.SECONDS);
    }

    @Test
    void eventsAreCopiedUnderTheirNumbersAndAReaderGetsThoseAfterItsPositionThenTheEnd() throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        SharedStreams streams = sharedStreams(GatewayInstance.REDIS_URL, meters);
        UUID runId = UUID.randomUUID();
        for (int n = 1; n <= 5; n++) {
            streams.appended(runId, n, event(runId, n));
        }
        String key = SharedStreams.streamKey(prefix, runId);
        await().atMost(Duration.ofSeconds(5)).until(() -> redis.xlen(key) == 5);
        assertThat(redis.pttl(key)).as("a live copy expires on its own").isGreaterThan(Duration.ofMinutes(10).toMillis());

        AtomicInteger closed = new AtomicInteger();
        InputStream reader = streams.reader(runId, 2, KEEP_ALIVE, Duration.ofMinutes(1), () -> false, closed::incrementAndGet);
        assertThat(reader).isNotNull();
        assertThat(streams.readElsewhere(runId)).as("the reader's lease").isTrue();
        assertThat(streams.readElsewhere(UUID.randomUUID())).isFalse();
        CompletableFuture<String> text = CompletableFuture.supplyAsync(() -> {
            try {
                return read(reader);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(300);
        // Live: events written after the reader started, then the end.
        streams.appended(runId, 6, event(runId, 6));
        streams.ended(runId, 7);

        String body = text.get(20, TimeUnit.SECONDS).replace(": keep-alive\n\n", "");
        assertThat(body).isEqualTo(new String(event(runId, 3)) + new String(event(runId, 4)) + new String(event(runId, 5))
                + new String(event(runId, 6)) + "data: [DONE]\n\n");
        assertThat(closed).hasValue(1);
        assertThat(redis.pttl(key)).as("an ended copy lasts expire-after-end").isBetween(1L, Duration.ofMinutes(1).toMillis());
        assertThat(meters.counter("gateway.chat.shared-streams.copied").count()).isEqualTo(7);

        assertThatThrownBy(() -> streams.reader(runId, 7, KEEP_ALIVE, Duration.ofMinutes(1), () -> false, () -> { }))
                .isInstanceOf(ApiException.class).hasMessageContaining("names no event");
        assertThat(streams.reader(UUID.randomUUID(), 0, KEEP_ALIVE, Duration.ofMinutes(1), () -> false, () -> { }))
                .as("no copy of that run").isNull();
    }

    @Test
    void aCopyMissingAnEventEndsItsReaderWithAnErrorInsteadOfAGap() throws Exception {
        SharedStreams streams = sharedStreams(GatewayInstance.REDIS_URL, new SimpleMeterRegistry());
        UUID runId = UUID.randomUUID();
        String key = SharedStreams.streamKey(prefix, runId);
        for (int n : new int[] {1, 2, 4, 5}) {
            redis.xadd(key, new XAddArgs().id("0-" + n), Map.of(SharedStreams.EVENT_FIELD, new String(event(runId, n), StandardCharsets.UTF_8)));
        }
        redis.xadd(key, new XAddArgs().id("0-6"), Map.of(SharedStreams.DONE_FIELD, ""));

        String body = read(streams.reader(runId, 1, KEEP_ALIVE, Duration.ofMinutes(1), () -> false, () -> { }));

        assertThat(body).startsWith(new String(event(runId, 2)))
                .contains("\"type\":\"error\"").contains("Events 3 to 3 of this stream did not reach Redis").endsWith("data: [DONE]\n\n")
                .doesNotContain("w4 ");
    }

    @Test
    void aReaderOfACopyThatStopsShortOfItsEndEndsOnceTheRunHasEndedInTheDatabase() throws Exception {
        SharedStreams streams = sharedStreams(GatewayInstance.REDIS_URL, new SimpleMeterRegistry());
        UUID runId = UUID.randomUUID();
        streams.appended(runId, 1, event(runId, 1));
        await().atMost(Duration.ofSeconds(5)).until(() -> redis.xlen(SharedStreams.streamKey(prefix, runId)) == 1);

        String body = read(streams.reader(runId, 0, KEEP_ALIVE, Duration.ofMinutes(1), () -> true, () -> { }));

        assertThat(body).startsWith(new String(event(runId, 1))).contains("stopped before its end").endsWith("data: [DONE]\n\n");
    }

    @Test
    void withRedisDownTheTokenPathOnlyQueuesAndTheCopiesAreCounted() throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        SharedStreams streams = sharedStreams("redis://127.0.0.1:" + GatewayInstance.closedPort(), meters);
        UUID runId = UUID.randomUUID();
        long start = System.nanoTime();
        for (int n = 1; n <= 5000; n++) {
            streams.appended(runId, n, event(runId, n));
        }
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;

        assertThat(elapsedMs).as("5000 events handed over with Redis down").isLessThan(1000);
        await().atMost(Duration.ofSeconds(10)).until(() -> meters.counter("gateway.chat.shared-streams.not-copied").count() == 5000);
        assertThat(streams.reader(runId, 0, KEEP_ALIVE, Duration.ofMinutes(1), () -> false, () -> { })).isNull();
        assertThat(streams.readElsewhere(runId)).isFalse();
    }
}
