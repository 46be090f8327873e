package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;

/**
 * A stream that outlives its maximum duration ends with an error naming the run, the run goes on, and meanwhile
 * GET /api/runs/{id} shows the completed steps and the answer written so far.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.chat.max-stream-duration=2s",
        "gateway.llm.offline.token-delay=100ms"
})
class StreamMaxDurationTest {

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;

    @Test
    void streamPastItsMaximumDurationEndsWithTheRunIdAndTheRunShowsTheAnswerSoFar() throws Exception {
        ChatClient client = new ChatClient(port);

        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-too-long", "How do I run the tests?"));

        String runId = response.runId();
        List<JsonNode> errors = response.chunksOfType("error");
        assertThat(errors).hasSize(1);
        assertThat(errors.get(0).path("errorText").asText()).contains(runId);
        assertThat(response.types()).doesNotContain("finish");
        String streamed = response.text();

        JsonNode running = await().atMost(Duration.ofSeconds(10)).until(() -> client.get("/api/runs/" + runId).body(),
                run -> !run.path("steps").get(2).path("answerSoFar").asText().isEmpty());
        assertThat(running.path("status").asText()).isEqualTo("started");
        assertThat(running.path("steps").get(0).path("status").asText()).isEqualTo("completed");
        assertThat(running.path("steps").get(1).path("status").asText()).isEqualTo("completed");
        JsonNode respond = running.path("steps").get(2);
        assertThat(respond.path("status").asText()).isEqualTo("started");
        String soFar = respond.path("answerSoFar").asText();
        assertThat(soFar).startsWith(streamed);

        await().atMost(Duration.ofSeconds(60)).until(() -> "completed".equals(client.get("/api/runs/" + runId).body().path("status").asText()));
        JsonNode completed = client.get("/api/runs/" + runId).body().path("steps").get(2);
        assertThat(completed.has("answerSoFar")).isFalse();
        assertThat(completed.path("output").path("answer").asText()).startsWith(soFar).isNotEqualTo(soFar);
    }
}
