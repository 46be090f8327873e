package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.auth.AuthenticationTest;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.SseEvent;

/**
 * Conversations kept by the server, on the embedded PostgreSQL with authentication on (two users): a chat read back
 * through GET /api/chats/{chatId} equals what the AI SDK's own client assembled from the stream; the model's history
 * comes from the store; a stopped answer is stored with what was streamed; another user's chat is 404.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.provider=offline",
        "gateway.llm.offline.token-delay=20ms",
        "gateway.auth.enabled=true",
        "gateway.auth.jwt-secret=" + AuthenticationTest.SECRET,
        "gateway.auth.issuer=" + AuthenticationTest.ISSUER,
        "gateway.chat.limits.requests-per-minute=1000"
})
class ConversationsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;
    @Autowired
    JdbcTemplate jdbc;

    private static String token(String user) {
        return AuthenticationTest.hs256(AuthenticationTest.claims(user).build(), AuthenticationTest.SECRET);
    }

    private ChatClient as(String user) {
        return new ChatClient(port, token(user));
    }

    private static String body(String chatId, String messageId, String question) {
        ObjectNode body = JSON.createObjectNode().put("id", chatId).put("trigger", "submit-message");
        body.putArray("messages").add(message(messageId, question));
        return body.toString();
    }

    private static ObjectNode message(String messageId, String question) {
        ObjectNode message = JSON.createObjectNode().put("id", messageId).put("role", "user");
        message.putArray("parts").addObject().put("type", "text").put("text", question);
        return message;
    }

    @Test
    void aChatReadBackEqualsWhatTheAiSdkClientAssembledFromTheStream() throws Exception {
        String user = "reader-of-own-chat";
        Path request = Files.createTempFile("chat-body", ".json");
        Files.writeString(request, body("kept-1", "kept-1-q1", "What does the search step return?"));
        ProcessBuilder builder = new ProcessBuilder("node", "src/test/js/check-ui-message-stream.mjs",
                "http://127.0.0.1:" + port + "/api/chat", request.toString());
        builder.environment().put("UI_STREAM_BEARER", token(user));
        Process node = builder.start();
        assertThat(node.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String stdout = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(node.exitValue()).as(new String(node.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
        JsonNode streamed = JSON.readTree(stdout).path("message");

        JsonNode chat = as(user).get("/api/chats/kept-1").body();

        assertThat(chat.path("id").asText()).isEqualTo("kept-1");
        assertThat(chat.path("title").asText()).isEqualTo("What does the search step return?");
        JsonNode messages = chat.path("messages");
        assertThat(messages).hasSize(2);
        assertThat(messages.get(0)).isEqualTo(message("kept-1-q1", "What does the search step return?"));
        assertThat(messages.get(1)).as("the stored answer is the message useChat built").isEqualTo(streamed);
        assertThat(messages.get(1).path("parts").findValuesAsText("type")).contains("step-start", "text", "source-document", "data-search");
    }

    @Test
    void theModelsHistoryComesFromTheStoreSoAClientMaySendOnlyTheNewMessage() throws Exception {
        ChatClient client = as("sender-of-new-messages-only");
        ChatClient.StreamResponse first = client.postChat(body("kept-2", "kept-2-q1", "How are steps retried?"));
        ChatClient.StreamResponse second = client.postChat(body("kept-2", "kept-2-q2", "And how long does it wait?"));

        assertThat(first.types()).endsWith("finish");
        assertThat(second.types()).endsWith("finish");
        JsonNode history = JSON.readTree(jdbc.queryForObject("select input -> 'history' from pgflow.runs where run_id = ?::uuid",
                String.class, second.runId()));
        assertThat(history.findValuesAsText("role")).containsExactly("user", "assistant");
        assertThat(history.get(0).path("text").asText()).isEqualTo("How are steps retried?");
        assertThat(history.get(1).path("text").asText()).isEqualTo(first.text());

        JsonNode messages = client.get("/api/chats/kept-2").body().path("messages");
        assertThat(messages.findValuesAsText("role")).containsExactly("user", "assistant", "user", "assistant");
        assertThat(messages.get(3).path("id").asText()).isEqualTo(second.chunks().get(0).path("messageId").asText());
    }

    @Test
    void anEditedQuestionReplacesItsMessageAndWhatFollowedItAndTheModelGetsOnlyWhatWasBefore() throws Exception {
        ChatClient client = as("editor-of-a-question");
        ChatClient.StreamResponse first = client.postChat(body("edited-1", "edited-1-q1", "What is pgflow?"));
        client.postChat(body("edited-1", "edited-1-q2", "How are steps retried?"));
        // useChat's edit of the second question sends it again under its id, with new text.
        ChatClient.StreamResponse edited = client.postChat(body("edited-1", "edited-1-q2", "How long does a retry wait?"));

        assertThat(edited.types()).endsWith("finish");
        JsonNode history = JSON.readTree(jdbc.queryForObject("select input -> 'history' from pgflow.runs where run_id = ?::uuid",
                String.class, edited.runId()));
        assertThat(history.findValuesAsText("role")).containsExactly("user", "assistant");
        assertThat(history.get(0).path("text").asText()).isEqualTo("What is pgflow?");
        assertThat(history.get(1).path("text").asText()).isEqualTo(first.text());
        JsonNode messages = client.get("/api/chats/edited-1").body().path("messages");
        assertThat(messages.findValuesAsText("role")).containsExactly("user", "assistant", "user", "assistant");
        assertThat(messages.get(2)).isEqualTo(message("edited-1-q2", "How long does a retry wait?"));
        assertThat(messages.get(3).path("id").asText()).isEqualTo(edited.chunks().get(0).path("messageId").asText());
    }

    @Test
    void chatsAreListedNewestFirstAndDeletedAndAnotherUsersChatIsNotFound() throws Exception {
        ChatClient owner = as("owner-of-listed-chats");
        ChatClient other = as("someone-else");
        owner.postChat(body("listed-old", "listed-old-q", "What is pgflow?"));
        owner.postChat(body("listed-new", "listed-new-q", "How do I run the tests?"));

        JsonNode chats = owner.get("/api/chats").body().path("chats");
        assertThat(chats.findValuesAsText("id")).containsExactly("listed-new", "listed-old");
        assertThat(chats.findValuesAsText("title")).containsExactly("How do I run the tests?", "What is pgflow?");

        assertThat(other.get("/api/chats").body().path("chats")).isEmpty();
        ChatClient.JsonResponse notTheirs = other.get("/api/chats/listed-old");
        assertThat(notTheirs.status()).isEqualTo(404);
        assertThat(notTheirs.body().path("error").path("code").asText()).isEqualTo("chat_not_found");
        assertThat(other.delete("/api/chats/listed-old").status()).isEqualTo(404);
        assertThat(owner.get("/api/chats/listed-old").status()).as("still there for its owner").isEqualTo(200);

        assertThat(owner.delete("/api/chats/listed-old").status()).isEqualTo(204);
        assertThat(owner.get("/api/chats/listed-old").status()).isEqualTo(404);
        assertThat(jdbc.queryForObject("select count(*) from public.gateway_chat_messages where chat_id = 'listed-old'", Long.class)).isZero();
        assertThat(owner.get("/api/chats").body().path("chats").findValuesAsText("id")).containsExactly("listed-new");
    }

    @Test
    void aSecondMessageWhileTheAnswerStreamsIsRefusedAndChangesNothing() throws Exception {
        ChatClient client = as("impatient-sender");
        CompletableFuture<SseEvent> firstText = new CompletableFuture<>();
        CompletableFuture<ChatClient.StreamResponse> first = client.postChatAsync(body("busy-1", "busy-1-q1", "How are steps retried?"),
                event -> {
                    if (event.data().contains("\"text-delta\"")) {
                        firstText.complete(event);
                    }
                });
        firstText.get(30, TimeUnit.SECONDS);

        ChatClient.JsonResponse refused = client.postChatExpectingError("application/json", body("busy-1", "busy-1-q2", "Hello?"));

        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.body().path("error").path("code").asText()).isEqualTo("chat_busy");
        assertThat(first.get(60, TimeUnit.SECONDS).types()).endsWith("finish");
        JsonNode messages = client.get("/api/chats/busy-1").body().path("messages");
        assertThat(messages.findValuesAsText("id")).doesNotContain("busy-1-q2").contains("busy-1-q1");
    }

    @Test
    void aStoppedAnswerIsStoredWithWhatWasStreamed() throws Exception {
        ChatClient client = as("stopper");
        CompletableFuture<SseEvent> firstText = new CompletableFuture<>();
        CompletableFuture<ChatClient.StreamResponse> answer = client.postChatAsync(body("stopped-1", "stopped-1-q", "How are steps retried?"),
                event -> {
                    if (event.data().contains("\"text-delta\"")) {
                        firstText.complete(event);
                    }
                });
        firstText.get(30, TimeUnit.SECONDS);
        assertThat(client.postJson("/api/chat/stopped-1/stop", "").status()).isEqualTo(202);
        ChatClient.StreamResponse streamed = answer.get(60, TimeUnit.SECONDS);

        JsonNode assistant = client.get("/api/chats/stopped-1").body().path("messages").get(1);

        assertThat(assistant.path("role").asText()).isEqualTo("assistant");
        List<JsonNode> texts = assistant.path("parts").findParents("text");
        assertThat(texts).hasSize(1);
        assertThat(texts.get(0).path("text").asText()).isNotEmpty().isEqualTo(streamed.text());
        assertThat(assistant.path("metadata").path("error").asText()).isEqualTo(streamed.chunksOfType("error").get(0).path("errorText").asText());
    }
}
