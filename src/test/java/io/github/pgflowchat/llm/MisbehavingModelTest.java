package io.github.pgflowchat.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.MockOpenAi;

/**
 * Models that do not do as they are told, over the real OpenAI client and a local socket: an analysis model that
 * answers in prose, and an answer whose text, broken off, carries a line made to pass for one of the service's own.
 * The analysis has a model of its own (ANALYSIS_MODEL), as a cheaper one often is.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ExtendWith(OutputCaptureExtension.class)
class MisbehavingModelTest {

    static final String PROSE = "The user would like to know how the test suite is run.";
    static final String FORGED = "2026-01-01 ERROR forged by the model";
    static final String TAIL = "TAIL-OF-THE-ANSWER";
    /** The mock breaks off halfway through the body: the tail comes early enough to be written before that. */
    static final List<String> TOKENS = Stream.concat(
            Stream.of("Run", " the", " tests", "\n" + FORGED + "\n", " with", " `mvn test`" + " and more words".repeat(20), " " + TAIL),
            Stream.generate(() -> " [1]").limit(30)).toList();
    static final MockOpenAi OPENAI = new MockOpenAi(PROSE, TOKENS);

    @DynamicPropertySource
    static void models(DynamicPropertyRegistry registry) throws Exception {
        EmbeddedPostgresDirectory.register(registry);
        OPENAI.startAsProvider(registry, "mock-answer-model");
        registry.add("gateway.llm.analysis.model", () -> "mock-analysis-model");
    }

    @AfterAll
    static void stopMock() throws Exception {
        OPENAI.stop();
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Test
    void anAnalysisInProseIsUsedAsItsSummaryAndTheChatCompletes() throws Exception {
        ChatClient client = new ChatClient(port);
        int requestsBefore = OPENAI.requests().size();

        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-prose-analysis", "How do I run the tests?"));

        assertThat(response.types()).as("the chat completes").doesNotContain("error").endsWith("finish");
        assertThat(response.text()).isEqualTo(String.join("", TOKENS));
        JsonNode run = client.get("/api/runs/" + response.runId()).body();
        assertThat(run.path("status").asText()).isEqualTo("completed");
        JsonNode analyze = run.path("steps").get(1);
        assertThat(analyze.path("attempts").asInt()).as("prose is not retried").isEqualTo(1);
        assertThat(analyze.path("output").path("summary").asText()).isEqualTo(PROSE);
        assertThat(analyze.path("output").path("degraded").asBoolean()).isTrue();
        assertThat(analyze.path("output").path("sources")).as("none chosen: the answer uses all results").isEmpty();
        assertThat(analyze.path("output").path("model").asText()).isEqualTo("openai-compatible:mock-analysis-model");
        assertThat(response.chunksOfType("data-analysis").get(0).path("data").path("summary").asText()).isEqualTo(PROSE);

        assertThat(OPENAI.requests()).hasSize(requestsBefore + 2);
        JsonNode analysisRequest = OPENAI.requests().get(requestsBefore);
        assertThat(analysisRequest.path("model").asText()).isEqualTo("mock-analysis-model");
        assertThat(analysisRequest.path("response_format").path("type").asText()).as("JSON asked for by default").isEqualTo("json_object");
        JsonNode answerRequest = OPENAI.requests().get(requestsBefore + 1);
        assertThat(answerRequest.path("model").asText()).isEqualTo("mock-answer-model");
        assertThat(answerRequest.has("response_format")).as("the answer is free text").isFalse();
    }

    @Test
    void anAnswerBrokenOffLeavesNoForgedLineAndOnlyAPrefixOfItsTextInTheLog(CapturedOutput output) throws Exception {
        ChatClient client = new ChatClient(port);

        // A chat id is the client's: a line separator in it must not split the route's log line either.
        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-forged-log\u2028" + FORGED,
                "How do I run the tests? Please " + MockOpenAi.FAIL_MID_ANSWER));

        assertThat(response.types()).endsWith("error");
        String stored = jdbc.queryForObject("select error_message from pgflow.step_states where run_id = ?::uuid and step_slug = 'respond'",
                String.class, response.runId());
        assertThat(stored).as("the text so far is kept in the database").contains(FORGED).contains(TAIL);
        assertThat(output.getAll()).as("the failure was logged").contains("text so far");
        assertThat(output.getAll().lines()).as("no line of the model's text stands as a log line of its own")
                .noneMatch(line -> line.startsWith(FORGED))
                .noneMatch(line -> line.contains(TAIL));
        assertThat(output.getAll()).as("the chat id was logged, escaped").contains("chat chat-forged-log\\u2028" + FORGED)
                .doesNotContain("\u2028");
    }
}
