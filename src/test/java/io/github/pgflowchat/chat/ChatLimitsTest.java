package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.camel.CamelContext;
import org.junit.jupiter.api.BeforeAll;
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
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.QuestionAdvice;

/**
 * Per-user limits on POST /api/chat: body size, number of messages, open streams, requests per minute. Each refusal
 * is a JSON 413 or 429 (with Retry-After) and starts no run. The rate bucket is shared by the tests of this class
 * (one user), so the rate test runs after the others that use it; the buckets of idle users are dropped.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms",
        "gateway.chat.limits.requests-per-minute=5",
        "gateway.chat.limits.concurrent-streams=1",
        "gateway.chat.limits.max-body-bytes=4000",
        "gateway.chat.limits.max-messages=5"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ChatLimitsTest {

    private static final String HELD_QUESTION = "Hold this analysis so the stream stays open";
    private static final CountDownLatch RELEASE = new CountDownLatch(1);

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    CamelContext camel;

    @BeforeAll
    void holdOneAnalysis() throws Exception {
        QuestionAdvice.adviseStep(camel, "step-analyze", Map.of(HELD_QUESTION, exchange -> RELEASE.await(30, TimeUnit.SECONDS)));
    }

    private long runs() {
        return jdbc.queryForObject("select count(*) from pgflow.runs", Long.class);
    }

    @Test
    @Order(1)
    void bodyLargerThanTheLimitIs413() throws Exception {
        long before = runs();

        ChatClient.JsonResponse response = new ChatClient(port).postChatExpectingError("application/json",
                ChatClient.chatBody("chat-limits-big", "x".repeat(5000)));

        assertThat(response.status()).isEqualTo(413);
        assertThat(response.body().path("error").path("code").asText()).isEqualTo("body_too_large");
        assertThat(runs()).isEqualTo(before);
    }

    @Test
    @Order(2)
    void moreMessagesThanTheLimitIs413() throws Exception {
        String message = "{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"hi\"}]}";
        String body = "{\"id\":\"chat-limits-many\",\"messages\":[" + String.join(",", java.util.Collections.nCopies(6, message)) + "]}";

        ChatClient.JsonResponse response = new ChatClient(port).postChatExpectingError("application/json", body);

        assertThat(response.status()).isEqualTo(413);
        assertThat(response.body().path("error").path("code").asText()).isEqualTo("too_many_messages");
    }

    @Test
    @Order(3)
    void aSecondStreamWhileOneIsOpenIs429WithRetryAfter() throws Exception {
        ChatClient client = new ChatClient(port);
        CountDownLatch started = new CountDownLatch(1);
        ExecutorService reader = Executors.newSingleThreadExecutor();
        try {
            Future<ChatClient.StreamResponse> first = reader.submit(() -> client.postChat(ChatClient.chatBody("chat-limits-open", HELD_QUESTION),
                    event -> started.countDown()));
            assertThat(started.await(20, TimeUnit.SECONDS)).isTrue();
            long before = runs();

            ChatClient.JsonResponse second = client.postChatExpectingError("application/json",
                    ChatClient.chatBody("chat-limits-second", "How do I run the tests?"));

            assertThat(second.status()).isEqualTo(429);
            assertThat(second.body().path("error").path("code").asText()).isEqualTo("too_many_streams");
            assertThat(second.headers().get("retry-after")).containsExactly("5");
            assertThat(runs()).isEqualTo(before);
            RELEASE.countDown();
            CompletedChat.assertCompleted(first.get(60, TimeUnit.SECONDS), client, jdbc);
        } finally {
            RELEASE.countDown();
            reader.shutdownNow();
        }
    }

    @Test
    @Order(4)
    void requestsBeyondTheRatePerMinuteAre429WithRetryAfter() throws Exception {
        ChatClient client = new ChatClient(port);
        ChatClient.JsonResponse refused = null;
        for (int i = 0; i < 6 && refused == null; i++) {
            long before = runs();
            ChatClient.JsonResponse response = client.postChatExpectingError("application/json", "{\"id\":\"chat-limits-rate\",\"messages\":[]}");
            if (response.status() == 429) {
                refused = response;
                assertThat(runs()).isEqualTo(before);
            } else {
                assertThat(response.status()).as("within the rate the request is judged on its merits").isEqualTo(400);
            }
        }

        assertThat(refused).as("the sixth request in a minute at the latest is refused").isNotNull();
        assertThat(refused.body().path("error").path("code").asText()).isEqualTo("rate_limited");
        assertThat(Long.parseLong(refused.headers().get("retry-after").get(0))).isBetween(1L, 60L);
    }

    @Test
    @Order(5)
    void theBucketOfAUserIdleForAMinuteIsDroppedAndAnActiveOneKept() {
        AtomicLong nanos = new AtomicLong();
        ChatLimits limits = new ChatLimits(new ChatLimits.Properties(5, 1, 5, 5), nanos::get);
        limits.admit("idle-user");
        limits.admit("active-user");

        nanos.addAndGet(Duration.ofSeconds(59).toNanos());
        limits.admit("active-user");
        nanos.addAndGet(Duration.ofSeconds(2).toNanos());

        assertThat(limits.trackedUsers()).isEqualTo(1);
    }
}
