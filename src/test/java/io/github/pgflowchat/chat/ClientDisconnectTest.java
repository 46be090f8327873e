package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

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
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.PacedOpenAi;

/**
 * A client that goes away for good: after the grace period the provider's stream is cancelled (the provider sees the
 * connection close) and the run ends failed with a clear reason, not retried.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.provider=openai",
        "gateway.llm.openai.api-key=test-key",
        "gateway.llm.openai.model=slow",
        "gateway.chat.disconnect-grace=500ms",
        "gateway.chat.keep-alive-interval=200ms"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientDisconnectTest {

    static PacedOpenAi provider;

    @DynamicPropertySource
    static void slowProvider(DynamicPropertyRegistry registry) throws Exception {
        EmbeddedPostgresDirectory.register(registry);
        // A minute of answer, a token every 100 ms: long enough to walk away from.
        provider = new PacedOpenAi(600, 100);
        registry.add("gateway.llm.openai.base-url", provider::baseUrl);
    }

    @AfterAll
    void stopProvider() throws Exception {
        provider.close();
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Test
    void aClientThatDoesNotComeBackGetsItsAnswerCancelledUpstream() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/chat"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(ChatClient.chatBody("chat-disconnect", "How do I run the tests?")))
                .build();
        HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        String runId = response.headers().firstValue("x-pgflow-run-id").orElseThrow();
        try (InputStream body = response.body()) {
            BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
            for (String line = lines.readLine(); line != null && !line.contains("\"text-delta\""); line = lines.readLine()) {
                // read until the answer is streaming
            }
        }

        assertThat(provider.clientClosed().await(20, TimeUnit.SECONDS)).as("the provider saw its connection close").isTrue();
        await().atMost(Duration.ofSeconds(20)).until(() -> "failed".equals(
                jdbc.queryForObject("select status from pgflow.runs where run_id = ?::uuid", String.class, runId)));
        Map<String, Object> respond = jdbc.queryForMap(
                "select attempts_count, error_message from pgflow.step_tasks where run_id = ?::uuid and step_slug = 'respond'", runId);
        assertThat(respond.get("attempts_count")).as("counted as used up, so pgflow does not retry it").isEqualTo(2);
        assertThat((String) respond.get("error_message")).contains("the client disconnected");
    }
}
