package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.jdbc.core.JdbcTemplate;

import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.GatewayInstance;
import io.github.pgflowchat.support.OwnDatabase;
import io.github.pgflowchat.support.PacedOpenAi;

/**
 * Three instances on one database: A and B configured with a Redis that is down, C with no Redis at all. A chat on A
 * streams to its end all the same (the copies fail, are counted, and the stream does not notice); a resume of it on B
 * or C while it runs is refused with 409 {@code stream_on_another_instance}, so a client (or a load balancer) tries
 * again elsewhere; once the run has ended there is nothing to resume there (204), and A still replays it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResumeWithRedisDownTest {

    private static final String DATABASE = OwnDatabase.named("resume_redis_down");

    PacedOpenAi provider;
    GatewayInstance a;
    GatewayInstance b;
    GatewayInstance c;

    @BeforeAll
    void startInstances() throws Exception {
        OwnDatabase.onServer("drop database if exists " + DATABASE + " with (force)", "create database " + DATABASE);
        // Three seconds of answer: long enough to be asked about while it streams.
        provider = new PacedOpenAi(150, 20);
        Map<String, String> settings = new HashMap<>(GatewayInstance.providedBy(provider));
        settings.put("gateway.chat.disconnect-grace", "2s");
        settings.put("gateway.worker.fallback-poll-interval", "200ms");
        settings.put("logging.level.root", "WARN");
        Map<String, String> withRedisDown = new HashMap<>(settings);
        withRedisDown.put("gateway.redis.url", "redis://127.0.0.1:" + GatewayInstance.closedPort());
        withRedisDown.put("gateway.redis.command-timeout", "500ms");
        a = GatewayInstance.start(DATABASE, withRedisDown);
        withRedisDown.put("gateway.search.seed-corpus", "false");
        b = GatewayInstance.start(DATABASE, withRedisDown);
        settings.put("gateway.search.seed-corpus", "false");
        c = GatewayInstance.start(DATABASE, settings);
    }

    @AfterAll
    void stop() throws Exception {
        for (GatewayInstance instance : new GatewayInstance[] {c, b, a}) {
            if (instance != null) {
                instance.close();
            }
        }
        if (provider != null) {
            provider.close();
        }
        OwnDatabase.drop(DATABASE);
    }

    @Test
    void theChatStreamsOnItsInstanceAndTheOthersAnswer409WhileItRuns() throws Exception {
        String chatId = "chat-redis-down-" + UUID.randomUUID();
        // The answer streams on A.
        CompletableFuture<ChatClient.StreamResponse> stream = a.client().postChatUntilAnswering(
                ChatClient.chatBody(chatId, "How are steps retried?"), Duration.ofSeconds(30));

        for (GatewayInstance other : new GatewayInstance[] {b, c}) {
            ChatClient.JsonResponse refused = other.client().get("/api/chat/" + chatId + "/stream");
            assertThat(refused.status()).isEqualTo(409);
            assertThat(refused.body().path("error").path("code").asText()).isEqualTo("stream_on_another_instance");
            assertThat(refused.headers().get("retry-after")).containsExactly("1");
        }

        ChatClient.StreamResponse response = stream.get(60, TimeUnit.SECONDS);
        assertThat(response.status()).isEqualTo(200);
        assertThat(response.types()).endsWith("finish");
        String runId = response.runId();
        JdbcTemplate jdbc = a.bean(JdbcTemplate.class);
        await().atMost(Duration.ofSeconds(10)).until(() -> "completed".equals(
                jdbc.queryForObject("select status from pgflow.runs where run_id = ?::uuid", String.class, runId)));
        assertThat(response.text()).isEqualTo(jdbc.queryForObject(
                "select output #>> '{respond,answer}' from pgflow.runs where run_id = ?::uuid", String.class, runId));
        assertThat(a.bean(MeterRegistry.class).counter("gateway.chat.shared-streams.not-copied").count())
                .as("the events A could not copy are counted").isGreaterThanOrEqualTo(response.events().size() - 1);

        for (GatewayInstance other : new GatewayInstance[] {b, c}) {
            assertThat(other.client().resume(chatId, null).status()).as("nothing to resume once the run has ended").isEqualTo(204);
        }
        assertThat(a.client().resume(chatId, null).events()).as("A replays its stream").isEqualTo(response.events());
    }
}
