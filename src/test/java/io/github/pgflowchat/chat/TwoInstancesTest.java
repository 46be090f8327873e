package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.UUID;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
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
import io.github.pgflowchat.pgflow.PgflowWorker;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.CompletedChat;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.ServiceProcess;

/**
 * Two instances on one database, as behind a load balancer: this test's context and a second gateway in a JVM of its
 * own. Their workers compete for every task; a chat sent to either completes, each task runs once, and the answer's
 * tokens come from the instance holding the client's connection.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=2ms",
        "gateway.worker.fallback-poll-interval=200ms",
        "gateway.worker.heartbeat-interval=500ms",
        "gateway.worker.dead-worker-after=5s"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TwoInstancesTest {

    private static final int CHATS = 8;

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    EmbeddedPostgres postgres;

    @Autowired
    PgflowWorker worker;

    ServiceProcess second;

    @BeforeAll
    void startSecondInstance() throws Exception {
        second = ServiceProcess.startOn(postgres, Map.of(
                "gateway.llm.offline.token-delay", "2ms",
                "gateway.worker.fallback-poll-interval", "200ms",
                "gateway.worker.heartbeat-interval", "500ms",
                "gateway.worker.dead-worker-after", "5s"));
    }

    @AfterAll
    void stopSecondInstance() throws Exception {
        if (second != null) {
            second.close();
        }
    }

    @Test
    void chatsOnEitherInstanceCompleteOnceWithTheAnswerStreamedByTheInstanceHoldingTheConnection() throws Exception {
        UUID secondWorker = second.workerId();
        assertThat(secondWorker).isNotEqualTo(worker.workerId());

        for (int i = 0; i < CHATS; i++) {
            boolean here = i % 2 == 0;
            ChatClient client = new ChatClient(here ? port : second.port());

            ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-two-instances-" + i, "How are steps retried?"));

            CompletedChat.assertCompleted(response, client, jdbc);
            UUID runId = UUID.fromString(response.runId());
            assertThat(jdbc.queryForObject("select last_worker_id from pgflow.step_tasks where run_id = ? and step_slug = 'respond'",
                    UUID.class, runId)).as("worker that ran the answer of chat %d", i).isEqualTo(here ? worker.workerId() : secondWorker);
            assertThat(jdbc.queryForObject("select count(*) from pgflow.step_tasks where run_id = ?", Long.class, runId))
                    .as("one task per step").isEqualTo(3);
        }
        assertThat(jdbc.queryForList("select distinct last_worker_id from pgflow.step_tasks", UUID.class))
                .as("both workers took tasks").containsExactlyInAnyOrder(worker.workerId(), secondWorker);
    }
}
