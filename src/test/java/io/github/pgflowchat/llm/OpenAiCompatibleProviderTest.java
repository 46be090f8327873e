package io.github.pgflowchat.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
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
import io.github.pgflowchat.support.MockOpenAi;

/**
 * The OpenAI-compatible provider path: the real LangChain4j OpenAI clients (through camel-langchain4j-chat for the
 * analysis, streaming for the answer) against a mock chat-completions server on a local socket.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class OpenAiCompatibleProviderTest {

    static final List<String> TOKENS = List.of("Run", " the", " tests", " with", " `mvn test`", " [1]", ".");
    static final MockOpenAi OPENAI = new MockOpenAi(
            "Here you go: {\"intent\":\"how-to\",\"keyTerms\":[\"tests\"],\"sources\":[1, 99],\"summary\":\"How to run the tests.\"}",
            TOKENS);

    @DynamicPropertySource
    static void openAiCompatibleModel(DynamicPropertyRegistry registry) throws Exception {
        EmbeddedPostgresDirectory.register(registry);
        OPENAI.startAsProvider(registry, "mock-model");
    }

    @AfterAll
    static void stopMock() throws Exception {
        OPENAI.stop();
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    Prompts prompts;

    @Test
    void answerTokensFromTheProviderStreamToTheClientAndTheAnswerIsStored() throws Exception {
        ChatClient client = new ChatClient(port);
        int requestsBefore = OPENAI.requests().size();

        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-openai-1", "How do I run the tests?"));

        CompletedChat.assertCompleted(response, client, jdbc);
        assertThat(response.chunksOfType("text-delta").stream().map(c -> c.path("delta").asText()).toList())
                .containsExactlyElementsOf(TOKENS);
        assertThat(response.chunks().get(0).path("messageMetadata").path("model").asText()).isEqualTo("openai-compatible:mock-model");
        JsonNode finish = response.chunksOfType("finish").get(0).path("messageMetadata");
        assertThat(finish.path("usage").path("inputTokens").asInt()).as("the provider's token counts").isEqualTo(120);
        assertThat(finish.path("usage").path("outputTokens").asInt()).isEqualTo(TOKENS.size());
        assertThat(finish.path("usage").path("totalTokens").asInt()).isEqualTo(120 + TOKENS.size());
        assertThat(finish.path("timings").path("steps").path("search").asLong(-1)).isNotNegative();
        assertThat(finish.path("timings").path("answerFirstTokenMs").asLong(-1)).isNotNegative();
        assertThat(finish.path("timings").path("totalMs").asLong()).isPositive();
        assertThat(response.types()).containsSubsequence("start-step", "text-start", "text-delta", "text-end", "finish-step", "finish");

        JsonNode run = client.get("/api/runs/" + response.runId()).body();
        JsonNode analysis = run.path("steps").get(1).path("output");
        assertThat(analysis.path("intent").asText()).isEqualTo("how-to");
        assertThat(analysis.path("sources")).as("a source number outside the results is dropped").hasSize(1);
        JsonNode answer = run.path("steps").get(2).path("output");
        assertThat(answer.path("answer").asText()).isEqualTo(String.join("", TOKENS));
        assertThat(answer.path("model").asText()).isEqualTo("openai-compatible:mock-model");
        assertThat(answer.path("citations").get(0).path("number").asInt()).isEqualTo(1);

        assertThat(OPENAI.requests()).hasSize(requestsBefore + 2);
        assertThat(OPENAI.authorizations()).containsOnly("Bearer test-key");
        JsonNode analysisRequest = OPENAI.requests().get(requestsBefore);
        assertThat(analysisRequest.path("stream").asBoolean(false)).isFalse();
        assertThat(analysisRequest.path("messages").get(0).path("content").asText()).isEqualTo(prompts.analysisSystem().text());
        JsonNode answerRequest = OPENAI.requests().get(requestsBefore + 1);
        assertThat(answerRequest.path("stream").asBoolean()).isTrue();
        assertThat(answerRequest.path("stream_options").path("include_usage").asBoolean()).isTrue();
        assertThat(answerRequest.path("model").asText()).isEqualTo("mock-model");
        JsonNode messages = answerRequest.path("messages");
        assertThat(messages.get(0).path("content").asText()).isEqualTo(prompts.answerSystem().text());
        assertThat(messages.get(messages.size() - 1).path("content").asText())
                .startsWith("Question:\nHow do I run the tests?\n\nSources:\n[1] ");
        assertThat(answerRequest.toString()).as("the question and sources carried for the offline model stay out of the request")
                .doesNotContain("gateway.prompt");
    }

    @Test
    void aProviderThatBreaksOffMidAnswerFailsTheAttemptAndKeepsTheTextSoFar() throws Exception {
        ChatClient client = new ChatClient(port);

        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-openai-broken",
                "How do I run the tests? Please " + MockOpenAi.FAIL_MID_ANSWER));

        assertThat(response.types()).as("never a silent truncated finish").doesNotContain("finish").endsWith("error");
        assertThat(response.chunksOfType("error").get(0).path("errorText").asText()).contains("'respond'");
        JsonNode respond = client.get("/api/runs/" + response.runId()).body().path("steps").get(2);
        assertThat(respond.path("status").asText()).isEqualTo("failed");
        assertThat(respond.path("attempts").asInt()).as("retried per the flow's settings").isEqualTo(2);
        assertThat(respond.path("error").asText()).containsPattern("the model (failed|.s stream ended without finishing) after").contains("text so far");
    }
}
