package io.github.pgflowchat.realtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
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

/** Supabase Realtime configured but unreachable: the service starts, says so in its health, and chats still finish. */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms",
        "gateway.worker.fallback-poll-interval=200ms",
        "gateway.realtime.api-key=anon-key",
        "gateway.events.reconcile-interval=300ms"
})
class ChatPipelineWithRealtimeDownTest {

    @DynamicPropertySource
    static void unreachableRealtime(DynamicPropertyRegistry registry) throws Exception {
        EmbeddedPostgresDirectory.register(registry);
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0)) {
            closedPort = probe.getLocalPort();
        }
        // A Supabase URL alone selects the Realtime event source (EVENTS_SOURCE=auto).
        registry.add("gateway.realtime.url", () -> "http://127.0.0.1:" + closedPort);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Test
    void chatFinishesFromTheDatabaseAndHealthSaysRealtimeIsDown() throws Exception {
        ChatClient client = new ChatClient(port);

        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-realtime-down", "How do I run the tests?"));

        CompletedChat.assertCompleted(response, client, jdbc);
        JsonNode health = client.get("/actuator/health").body();
        assertThat(health.path("components").path("runEvents").path("status").asText()).isEqualTo("DOWN");
        assertThat(health.path("components").path("runEvents").path("details").path("source").asText()).isEqualTo("RealtimeRunEventSource");
        assertThat(health.path("components").path("db").path("status").asText()).isEqualTo("UP");
        assertThat(client.get("/actuator/health/readiness").body().path("status").asText()).as("still serving").isEqualTo("UP");
    }
}
