package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;

/**
 * An instance that shuts down with an answer streaming tells the client which run goes on and where to read it,
 * and ends the stream, instead of holding the request until the web server's grace period cuts it.
 */
class ShutdownWithOpenStreamTest {

    @Test
    void openStreamsGetAnErrorNamingTheRunThenTheEnd() throws Exception {
        Path dataDir = Path.of("target", "embedded-postgres", UUID.randomUUID().toString());
        // Arguments, not default properties: those rank below application.yaml and the environment, so the data
        // directory would be application.yaml's (the developer's own) and an exported DATABASE_URL would win.
        ConfigurableApplicationContext context = new SpringApplicationBuilder(Application.class).run(
                "--DATABASE_URL=",
                "--gateway.embedded-postgres.data-dir=" + dataDir,
                "--server.port=0",
                // Slow enough that the answer is still streaming when the context closes.
                "--gateway.llm.offline.token-delay=200ms");
        try {
            int port = ((WebServerApplicationContext) context).getWebServer().getPort();
            ChatClient client = new ChatClient(port);
            CompletableFuture<ChatClient.StreamResponse> stream = client.postChatUntilAnswering(
                    ChatClient.chatBody("chat-shutdown", "How do I run the tests?"), Duration.ofSeconds(30));

            context.close();

            ChatClient.StreamResponse response = stream.get(10, TimeUnit.SECONDS);
            String runId = response.runId();
            List<String> types = response.types();
            assertThat(types.get(types.size() - 1)).isEqualTo("error");
            assertThat(types).doesNotContain("finish");
            List<JsonNode> errors = response.chunksOfType("error");
            assertThat(errors.get(0).path("errorText").asText()).contains("shutting down").contains("GET /api/runs/" + runId);
            assertThat(response.events().get(response.events().size() - 1).data()).isEqualTo("[DONE]");
        } finally {
            context.close();
        }
    }
}
