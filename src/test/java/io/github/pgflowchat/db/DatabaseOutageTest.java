package io.github.pgflowchat.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.AfterAll;
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

/** PostgreSQL goes away under a running service and comes back: 503s and DOWN meanwhile, no restart needed after. */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms",
        "gateway.worker.fallback-poll-interval=200ms",
        "spring.datasource.hikari.connection-timeout=1000"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DatabaseOutageTest {

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

    EmbeddedPostgres restarted;

    @AfterAll
    void stopRestartedServer() throws Exception {
        if (restarted != null) {
            restarted.close();
        }
    }

    @Test
    void whileTheDatabaseIsDownChatsAre503AndHealthIsDownThenItRecoversWithoutARestart() throws Exception {
        ChatClient client = new ChatClient(port);
        int databasePort = postgres.getPort();

        postgres.close();

        ChatClient.JsonResponse refused = client.postChatExpectingError("application/json",
                ChatClient.chatBody("chat-outage", "How do I run the tests?"));
        assertThat(refused.status()).isEqualTo(503);
        assertThat(refused.body().path("error").path("code").asText()).isEqualTo("database_unavailable");
        ChatClient.JsonResponse health = client.get("/actuator/health");
        assertThat(health.status()).isEqualTo(503);
        assertThat(health.body().path("status").asText()).isEqualTo("DOWN");
        assertThat(health.body().path("components").path("db").path("status").asText()).isEqualTo("DOWN");

        restarted = EmbeddedPostgres.builder().setDataDirectory(dataDir.toAbsolutePath()).setCleanDataDirectory(false)
                .setPort(databasePort).setRegisterShutdownHook(false).start();

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                .until(() -> "UP".equals(client.get("/actuator/health").body().path("status").asText()));
        CompletedChat.assertCompleted(client.postChat(ChatClient.chatBody("chat-after-outage", "How do I run the tests?")), client, jdbc);
        assertThat(jdbc.queryForObject("select count(*) from pgflow.runs where input ->> 'chatId' = 'chat-outage'", Long.class))
                .as("the refused chat left no run").isZero();
    }
}
