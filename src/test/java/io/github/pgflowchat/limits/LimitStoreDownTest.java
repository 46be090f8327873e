package io.github.pgflowchat.limits;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;

import io.lettuce.core.RedisClient;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.CompletedChat;
import io.github.pgflowchat.support.DroppableTcpProxy;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.LocalRedis;

/**
 * The gateway with its limits in Redis, reached through a proxy that refuses every connection from the start: chats
 * are served all the same (the instance counts on its own, says so and shows it in a metric), and once Redis can be
 * reached the limits are counted there again. Redis database 15 unless TEST_REDIS_URL names one.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms",
        "gateway.limits.slot-lease=900ms",
        "gateway.redis.command-timeout=500ms",
        "gateway.auth.anonymous-user-id=limit-store-down-user"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LimitStoreDownTest {

    static final int DATABASE = 15;
    static DroppableTcpProxy proxy;

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) throws Exception {
        EmbeddedPostgresDirectory.register(registry);
        proxy = new DroppableTcpProxy(LocalRedis.port());
        proxy.refuseConnections(true);
        registry.add("gateway.redis.url", () -> LocalRedis.throughPort(LocalRedis.url(DATABASE), proxy.port()));
    }

    @AfterAll
    void closeProxy() throws Exception {
        proxy.close();
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    Limits limits;

    @Autowired
    MeterRegistry meters;

    @Test
    @Order(1)
    void withRedisDownAChatIsServedAndCountedOnThisInstance() throws Exception {
        assertThat(limits.storeName()).isEqualTo("redis");
        ChatClient client = new ChatClient(port);

        CompletedChat.assertCompleted(client.postChat(ChatClient.chatBody("limit-store-down-1", "How do I run the tests?")), client, jdbc);

        assertThat(limits.degraded()).isTrue();
        assertThat(meters.get("gateway.limits.store.degraded").tag("store", "redis").gauge().value()).isEqualTo(1);
        assertThat(meters.get("gateway.limits.store.failures").tag("store", "redis").counter().count()).isGreaterThanOrEqualTo(1);
    }

    @Test
    @Order(2)
    void whenRedisIsBackTheLimitsAreCountedThereAgain() throws Exception {
        proxy.refuseConnections(false);
        await().atMost(Duration.ofSeconds(20)).until(() -> !limits.degraded());
        ChatClient client = new ChatClient(port);

        CompletedChat.assertCompleted(client.postChat(ChatClient.chatBody("limit-store-down-2", "How do I run the tests?")), client, jdbc);

        RedisClient redis = LocalRedis.client(DATABASE, Duration.ofSeconds(2));
        try (var connection = redis.connect()) {
            assertThat(connection.sync().exists(RedisLimitsStore.RATE_PREFIX + "chat:limit-store-down-user"))
                    .as("the user's rate bucket, in Redis").isEqualTo(1L);
        } finally {
            redis.shutdown();
        }
        assertThat(meters.get("gateway.limits.store.degraded").tag("store", "redis").gauge().value()).isZero();
    }
}
