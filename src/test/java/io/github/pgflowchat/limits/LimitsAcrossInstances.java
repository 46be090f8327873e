package io.github.pgflowchat.limits;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.AfterAll;
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

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.PacedOpenAi;
import io.github.pgflowchat.support.ServiceProcess;

/**
 * Two instances on one database, as behind a load balancer (this test's context is A, a gateway in a JVM of its own
 * is B), with a user allowed 2 open streams and 8 chat requests a minute: the limits hold across both. Both
 * instances stream from one provider that holds every answer until the test lets it go, so streams stay open as
 * long as needed. Each subclass names the limit store.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class LimitsAcrossInstances {

    static final int REQUESTS_PER_MINUTE = 8;
    private static final String SECRET = "a-test-project-jwt-secret-of-at-least-32-bytes";
    private static final String ISSUER = "https://test-project.supabase.co/auth/v1";
    static PacedOpenAi provider;
    /** This run's own: user ids (and so Redis keys) of an earlier run never count. */
    private final String run = UUID.randomUUID().toString().substring(0, 8);

    /** A Supabase Auth access token of user {@code name} of this run, signed with the project's secret. */
    private String token(String name) {
        try {
            JWTClaimsSet claims = new JWTClaimsSet.Builder().subject(name + "-" + run).issuer(ISSUER).audience("authenticated")
                    .claim("role", "authenticated").issueTime(new Date()).expirationTime(Date.from(Instant.now().plusSeconds(900))).build();
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(), claims);
            jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** What both instances run with, the store's settings included. */
    static Map<String, String> settings(Map<String, String> store) {
        Map<String, String> settings = new HashMap<>(Map.of(
                "gateway.llm.provider", "openai",
                "gateway.llm.openai.api-key", "test-key",
                "gateway.llm.openai.model", "paced",
                "gateway.llm.openai.base-url", provider.baseUrl(),
                "gateway.chat.limits.concurrent-streams", "2",
                "gateway.chat.limits.requests-per-minute", Integer.toString(REQUESTS_PER_MINUTE),
                "gateway.limits.slot-lease", "3s",
                "gateway.worker.heartbeat-interval", "500ms",
                "gateway.worker.dead-worker-after", "5s",
                "gateway.auth.enabled", "true"));
        settings.put("gateway.auth.jwt-secret", SECRET);
        settings.put("gateway.auth.issuer", ISSUER);
        settings.putAll(store);
        return settings;
    }

    static void register(DynamicPropertyRegistry registry, Map<String, String> store) throws Exception {
        EmbeddedPostgresDirectory.register(registry);
        provider = new PacedOpenAi(5, 10);
        settings(store).forEach((name, value) -> registry.add(name, () -> value));
    }

    /** The store's settings (gateway.limits.store, gateway.redis.url). */
    abstract Map<String, String> store();

    /** The store A counts in, as Limits names it. */
    abstract String expectedStore();

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    EmbeddedPostgres postgres;

    @Autowired
    Limits limits;

    ServiceProcess second;

    @BeforeAll
    void startSecondInstance() throws Exception {
        second = ServiceProcess.startOn(postgres, settings(store()));
    }

    @AfterAll
    void stop() throws Exception {
        provider.releaseAnswers();
        if (second != null) {
            second.close();
        }
        provider.close();
    }

    private static CompletableFuture<ChatClient.StreamResponse> openStream(ChatClient client, String chatId) throws InterruptedException {
        CountDownLatch opened = new CountDownLatch(1);
        CompletableFuture<ChatClient.StreamResponse> stream = client.postChatAsync(
                ChatClient.chatBody(chatId, "How do I run the tests?"), event -> opened.countDown());
        assertThat(opened.await(30, TimeUnit.SECONDS)).as("stream %s open", chatId).isTrue();
        return stream;
    }

    /** The paced provider's whole answer, streamed to the end, and the run completed in the database. */
    private void assertStreamed(ChatClient.StreamResponse response) {
        assertThat(response.status()).isEqualTo(200);
        assertThat(response.types()).startsWith("start").endsWith("finish").doesNotContain("error");
        assertThat(response.text()).contains("t0@").contains("t4@");
        assertThat(jdbc.queryForObject("select status from pgflow.runs where run_id = ?::uuid", String.class, response.runId()))
                .isEqualTo("completed");
    }

    private static ChatClient.JsonResponse refusedChat(ChatClient client, String chatId) throws Exception {
        return client.postChatExpectingError("application/json", ChatClient.chatBody(chatId, "How do I run the tests?"));
    }

    @Test
    @Order(1)
    void twoStreamsOnAAndAThirdOnBIs429AndAFreedSlotIsFreeOnB() throws Exception {
        assertThat(limits.storeName()).isEqualTo(expectedStore());
        String token = token("streams-user");
        ChatClient onA = new ChatClient(port, token);
        ChatClient onB = new ChatClient(second.port(), token);
        provider.holdAnswers();
        List<CompletableFuture<ChatClient.StreamResponse>> streams = List.of(openStream(onA, "limits-across-1"), openStream(onA, "limits-across-2"));

        ChatClient.JsonResponse third = refusedChat(onB, "limits-across-3");

        assertThat(third.status()).as("a third stream of the user, on the other instance").isEqualTo(429);
        assertThat(third.body().path("error").path("code").asText()).isEqualTo("too_many_streams");
        assertThat(refusedChat(onA, "limits-across-4").status()).as("and on A").isEqualTo(429);
        ChatClient anotherUser = new ChatClient(second.port(), token("another-user"));
        CompletableFuture<ChatClient.StreamResponse> another = openStream(anotherUser, "limits-across-other");

        provider.releaseAnswers();
        for (CompletableFuture<ChatClient.StreamResponse> stream : streams) {
            assertStreamed(stream.get(60, TimeUnit.SECONDS));
        }
        assertStreamed(another.get(60, TimeUnit.SECONDS));
        ChatClient.StreamResponse afterwards = onB.postChat(ChatClient.chatBody("limits-across-5", "How do I run the tests?"));
        assertStreamed(afterwards);
    }

    @Test
    @Order(2)
    void theRequestRateIsCountedOnBothInstancesTogether() throws Exception {
        String token = token("rate-user");
        ChatClient a = new ChatClient(port, token);
        ChatClient b = new ChatClient(second.port(), token);
        int servedByA = 0;
        int servedByB = 0;
        ChatClient.JsonResponse refused = null;
        // Each instance counting alone would let 2 x 8 through; together, 8 a minute.
        for (int i = 0; i < 2 * REQUESTS_PER_MINUTE && refused == null; i++) {
            ChatClient.JsonResponse response = (i % 2 == 0 ? a : b).postChatExpectingError("application/json",
                    "{\"id\":\"limits-across-rate\",\"messages\":[]}");
            if (response.status() == 429) {
                refused = response;
            } else {
                assertThat(response.status()).as("within the rate the request is judged on its merits").isEqualTo(400);
                if (i % 2 == 0) {
                    servedByA++;
                } else {
                    servedByB++;
                }
            }
        }

        assertThat(refused).as("a request past the rate shared by both instances").isNotNull();
        assertThat(refused.body().path("error").path("code").asText()).isEqualTo("rate_limited");
        assertThat(servedByA).isEqualTo(REQUESTS_PER_MINUTE / 2);
        assertThat(servedByB).isEqualTo(REQUESTS_PER_MINUTE / 2);
    }

    @Test
    @Order(3)
    void theSlotsOfAKilledInstanceFreeThemselvesWithinTheLease() throws Exception {
        String token = token("killed-user");
        ChatClient onA = new ChatClient(port, token);
        ChatClient onB = new ChatClient(second.port(), token);
        provider.holdAnswers();
        openStream(onB, "limits-across-killed-1");
        openStream(onB, "limits-across-killed-2");
        assertThat(refusedChat(onA, "limits-across-blocked").status()).isEqualTo(429);

        second.kill();
        long killed = System.nanoTime();
        provider.releaseAnswers();

        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofSeconds(1)).until(() -> {
            ChatClient.StreamResponse response = onA.postChat(ChatClient.chatBody("limits-across-after-kill", "How do I run the tests?"));
            if (response.status() == 429) {
                return false;
            }
            assertStreamed(response);
            return true;
        });
        double seconds = (System.nanoTime() - killed) / 1e9;
        assertThat(seconds).as("seconds until the killed instance's slots were free (lease 3 s)").isLessThan(8);
    }
}
