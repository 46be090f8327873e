package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.test.spring.junit5.CamelSpringBootTest;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.CompletedChat;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;

/** The embedded default, as `mvn spring-boot:run` starts it: no database configured, the offline model. */
@AutoConfigureObservability
@CamelSpringBootTest
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms"
})
class ChatPipelineOnEmbeddedPostgresTest {

    static Path dataDir;

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        dataDir = EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Test
    void chatRunsOnTheEmbeddedPostgresWithItsDataInTheConfiguredFolder() throws Exception {
        ChatClient client = new ChatClient(port);

        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-embedded-1", "What does the search step do?"));

        CompletedChat.assertCompleted(response, client, jdbc);
        assertThat(jdbc.queryForObject("show server_version", String.class)).startsWith("17.");
        assertThat(Files.exists(dataDir.resolve("PG_VERSION"))).isTrue();
        assertThat(jdbc.queryForObject("select count(*) from public.documents where source = 'README.md'", Long.class)).isPositive();
    }

    @Test
    void addedDocumentIsSearchedAndCitedInTheAnswer() throws Exception {
        ChatClient client = new ChatClient(port);
        String document = "{\"source\":\"zoo/quokka.md\",\"title\":\"Quokkas\",\"content\":\"# Quokkas\\n\\n"
                + "The quokka is a small marsupial that lives on Rottnest Island. Quokkas are nocturnal and eat leaves.\"}";

        ChatClient.JsonResponse added = client.postJson("/api/documents", document);

        assertThat(added.status()).isEqualTo(201);
        assertThat(added.body().path("chunks").asInt()).isEqualTo(1);
        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-embedded-quokka", "Where does the quokka live?"));
        CompletedChat.assertCompleted(response, client, jdbc);
        assertThat(response.chunksOfType("data-search").get(0).path("data").path("results").get(0).path("source").asText())
                .isEqualTo("zoo/quokka.md");
        assertThat(response.text()).contains("Rottnest Island").contains("[1]");
        long documentId = response.chunksOfType("data-search").get(0).path("data").path("results").get(0).path("documentId").asLong();
        ChatClient.TextResponse section = client.getText("/api/documents/" + documentId);
        assertThat(section.status()).isEqualTo(200);
        assertThat(section.header("content-type")).startsWith("text/plain");
        assertThat(section.body()).startsWith("zoo/quokka.md — Quokkas\n\n").contains("lives on Rottnest Island");
        assertThat(client.get("/api/documents/" + (documentId + 1000)).body().path("error").path("code").asText()).isEqualTo("document_not_found");
        assertThat(client.get("/api/documents/quokka").body().path("error").path("code").asText()).isEqualTo("invalid_document_id");

        ChatClient.JsonResponse refused = client.postJson("/api/documents", "{\"source\":\"x.md\"}");
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.body().path("error").path("code").asText()).isEqualTo("missing_content");
    }

    @Test
    void healthCoversTheWorkerAndTheEventSourceAndMetricsCountTasks() throws Exception {
        ChatClient client = new ChatClient(port);
        client.postChat(ChatClient.chatBody("chat-embedded-metrics", "How are steps retried?"));

        JsonNode health = client.get("/actuator/health").body();
        assertThat(health.path("status").asText()).isEqualTo("UP");
        assertThat(health.path("components").path("pgflowWorker").path("status").asText()).isEqualTo("UP");
        assertThat(health.path("components").path("runEvents").path("status").asText()).isEqualTo("UP");
        assertThat(health.path("components").path("db").path("status").asText()).isEqualTo("UP");

        String metrics = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/prometheus")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertThat(metrics).contains("gateway_worker_task_duration_seconds_count{outcome=\"completed\",step=\"respond\"}");
        assertThat(metrics).contains("gateway_chat_streams_active");
        assertThat(metrics).contains("gateway_chat_time_to_first_token_seconds_count").contains("gateway_chat_tokens_per_second_count")
                .contains("gateway_worker_dispatch_latency_seconds_count").contains("gateway_queue_depth")
                .contains("gateway_worker_tasks_in_flight");
    }
}
