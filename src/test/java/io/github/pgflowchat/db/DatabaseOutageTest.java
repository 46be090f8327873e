package io.github.pgflowchat.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.apache.camel.CamelContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
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
 * PostgreSQL goes away under a running service and comes back: 503s and DOWN meanwhile, no restart needed after, and
 * an answer that finished during the outage is stored when the database is back.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms",
        "gateway.worker.fallback-poll-interval=200ms",
        "spring.datasource.hikari.connection-timeout=1000"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DatabaseOutageTest {

    private static final String WAITING_QUESTION = "An answer that waits for the test";

    static Path dataDir;

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        dataDir = EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    EmbeddedPostgres postgres;

    @Autowired
    CamelContext camel;

    /** The server the service is connected to: the embedded default's, until a test restarts it. */
    EmbeddedPostgres running;
    final CountDownLatch answerMayStart = new CountDownLatch(1);

    @BeforeAll
    void answerWaitsForTheTestWhenAsked() throws Exception {
        running = postgres;
        QuestionAdvice.adviseStep(camel, "step-respond", Map.of(WAITING_QUESTION, exchange -> answerMayStart.await()));
    }

    @AfterAll
    void stopRestartedServer() throws Exception {
        if (running != postgres) {
            running.close();
        }
    }

    @Test
    void whileTheDatabaseIsDownChatsAre503AndHealthIsDownThenItRecoversWithoutARestart() throws Exception {
        ChatClient client = new ChatClient(port);

        running.close();

        ChatClient.JsonResponse refused = client.postChatExpectingError("application/json",
                ChatClient.chatBody("chat-outage", "How do I run the tests?"));
        assertThat(refused.status()).isEqualTo(503);
        assertThat(refused.body().path("error").path("code").asText()).isEqualTo("database_unavailable");
        ChatClient.JsonResponse health = client.get("/actuator/health");
        assertThat(health.status()).isEqualTo(503);
        assertThat(health.body().path("status").asText()).isEqualTo("DOWN");
        assertThat(health.body().path("components").path("db").path("status").asText()).isEqualTo("DOWN");

        restartDatabase();

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                .until(() -> "UP".equals(client.get("/actuator/health").body().path("status").asText()));
        CompletedChat.assertCompleted(client.postChat(ChatClient.chatBody("chat-after-outage", "How do I run the tests?")), client, jdbc);
        assertThat(jdbc.queryForObject("select count(*) from pgflow.runs where input ->> 'chatId' = 'chat-outage'", Long.class))
                .as("the refused chat left no run").isZero();
    }

    @Test
    void answerFinishedWhileTheDatabaseIsDownIsStoredWhenItIsBackAndTheStreamCompletes() throws Exception {
        ChatClient client = new ChatClient(port);
        AtomicBoolean answerWritten = new AtomicBoolean();
        CompletableFuture<ChatClient.StreamResponse> chat = CompletableFuture.supplyAsync(() -> {
            try {
                return client.postChat(ChatClient.chatBody("chat-outage-mid-run", WAITING_QUESTION), event -> {
                    if (event.json() != null && "text-end".equals(event.json().path("type").asText())) {
                        answerWritten.set(true);
                    }
                });
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await().atMost(Duration.ofSeconds(20)).until(() -> jdbc.queryForList(
                "select t.status from pgflow.step_tasks t join pgflow.runs r using (run_id) "
                        + "where r.input ->> 'chatId' = 'chat-outage-mid-run' and t.step_slug = 'respond'", String.class).contains("started"));

        running.close();
        answerMayStart.countDown();
        await().atMost(Duration.ofSeconds(10)).untilTrue(answerWritten);
        assertThat(chat).as("the run cannot complete before the database is back").isNotDone();
        restartDatabase();

        ChatClient.StreamResponse response = chat.get(60, TimeUnit.SECONDS);
        CompletedChat.assertCompleted(response, client, jdbc);
    }

    private void restartDatabase() throws Exception {
        running = EmbeddedPostgres.builder().setDataDirectory(dataDir.toAbsolutePath()).setCleanDataDirectory(false)
                .setPort(postgres.getPort()).setRegisterShutdownHook(false).start();
    }
}
