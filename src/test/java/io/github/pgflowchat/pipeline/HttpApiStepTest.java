package io.github.pgflowchat.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.OwnDatabase;

/**
 * A step that calls an HTTP API with camel-http, added in a YAML file of its own beside routes/pipeline.yaml
 * (src/test/resources/pipelines/webhook/webhook.yaml): the API, a test server here, gets the question and the
 * answer, and its reply is the step's output.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.provider=offline",
        "gateway.llm.offline.token-delay=1ms",
        "gateway.worker.fallback-poll-interval=200ms",
        "camel.main.routes-include-pattern=classpath:routes/*.yaml,classpath:pipelines/webhook/*.yaml"
})
class HttpApiStepTest {

    private static final String DATABASE = OwnDatabase.named("http_step");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final MockWebServer API = new MockWebServer();

    @DynamicPropertySource
    static void ownDatabaseAndTheApi(DynamicPropertyRegistry registry) throws SQLException, IOException {
        OwnDatabase.emptyFor(registry, DATABASE);
        API.start();
        registry.add("webhook.url", () -> "http://127.0.0.1:" + API.getPort() + "/answers");
    }

    @AfterAll
    static void stopTheApi() throws IOException {
        API.shutdown();
    }

    @LocalServerPort
    int port;

    @Test
    void theApiGetsTheQuestionAndTheAnswerAndItsReplyIsTheStepsOutput() throws Exception {
        API.enqueue(new MockResponse().setHeader("Content-Type", "application/json").setBody("{\"received\": true, \"ticket\": \"T-1\"}"));
        ChatClient client = new ChatClient(port);

        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-webhook", "How do I run the tests?"));

        assertThat(response.types()).endsWith("finish");
        RecordedRequest request = API.takeRequest(10, TimeUnit.SECONDS);
        assertThat(request).isNotNull();
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getPath()).isEqualTo("/answers");
        assertThat(request.getHeader("pgflowRunId")).isNull();
        JsonNode sent = JSON.readTree(request.getBody().readUtf8());
        assertThat(sent.path("question").asText()).isEqualTo("How do I run the tests?");
        assertThat(sent.path("answer").asText()).isEqualTo(response.text()).isNotBlank();

        JsonNode run = client.get("/api/runs/" + response.runId()).body();
        List<String> steps = new ArrayList<>();
        run.path("steps").forEach(step -> steps.add(step.path("step").asText()));
        assertThat(steps).containsExactly("search", "analyze", "respond", "webhook");
        assertThat(run.path("steps").get(3).path("output")).isEqualTo(JSON.readTree("{\"received\": true, \"ticket\": \"T-1\"}"));
        assertThat(run.path("status").asText()).isEqualTo("completed");
    }
}
