package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.CamelContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.CompletedChat;
import io.github.pgflowchat.support.LocalPostgres;
import io.github.pgflowchat.support.QuestionAdvice;
import io.github.pgflowchat.support.SseEvent;

/**
 * The whole product on the PostgreSQL server at 127.0.0.1:5432 (database test): real pgflow 0.8.1 SQL with the
 * project's pgmq and realtime stand-ins, the Camel worker, the NOTIFY event path and the SSE endpoint, read over HTTP.
 */

@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.provider=offline",
        "gateway.llm.offline.token-delay=1ms",
        "gateway.worker.fallback-poll-interval=200ms",
        "gateway.chat.keep-alive-interval=300ms",
        "gateway.chat.limits.requests-per-minute=1000"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChatPipelineOnLocalPostgresTest {

    private static final String FAILING_QUESTION = "Please fail the analysis of this question";
    private static final String HELD_QUESTION = "Please hold the analysis until the test lets it go";
    private static final String HELD_FOR_RESUME = "Please hold the analysis while a client resumes";
    private static final String HELD_FOR_STOP = "Please hold the analysis until the user has pressed stop";
    private static final String FAILS_ONE_RUN = "Please fail every attempt of the first run only";
    /** Analyses of FAILS_ONE_RUN fail while this is positive (3 = the attempts of one run). */
    private static final AtomicInteger FAILURES_LEFT = new AtomicInteger(3);
    private static final AtomicInteger SEARCHES_OF_FAILS_ONE_RUN = new AtomicInteger();
    /** Analyses of these questions wait until the test counts their latch down. */
    private static final Map<String, CountDownLatch> HELD = Map.of(
            HELD_QUESTION, new CountDownLatch(1), HELD_FOR_RESUME, new CountDownLatch(1), HELD_FOR_STOP, new CountDownLatch(1));

    @DynamicPropertySource
    static void localPostgres(DynamicPropertyRegistry registry) {
        LocalPostgres.reset();
        registry.add("spring.datasource.url", () -> LocalPostgres.URL);
        registry.add("spring.datasource.username", () -> LocalPostgres.USER);
        registry.add("spring.datasource.password", () -> LocalPostgres.PASSWORD);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    CamelContext camel;

    ChatClient client;

    @BeforeAll
    void makeAnalysisFailOrWaitForTwoQuestions() throws Exception {
        // The only test doubles here: one question makes the analyze step throw, to exercise pgflow's retries;
        // another holds it until the test releases it, to watch the stream while a step runs.
        QuestionAdvice.adviseStep(camel, "step-analyze", Map.of(
                FAILING_QUESTION, exchange -> {
                    throw new IllegalStateException("analysis backend unavailable");
                },
                HELD_QUESTION, exchange -> HELD.get(HELD_QUESTION).await(30, TimeUnit.SECONDS),
                HELD_FOR_RESUME, exchange -> HELD.get(HELD_FOR_RESUME).await(30, TimeUnit.SECONDS),
                HELD_FOR_STOP, exchange -> HELD.get(HELD_FOR_STOP).await(30, TimeUnit.SECONDS),
                FAILS_ONE_RUN, exchange -> {
                    if (FAILURES_LEFT.getAndDecrement() > 0) {
                        throw new IllegalStateException("analysis backend unavailable for a while");
                    }
                }));
        QuestionAdvice.adviseStep(camel, "step-search", Map.of(FAILS_ONE_RUN, exchange -> SEARCHES_OF_FAILS_ONE_RUN.incrementAndGet()));
    }

    @BeforeEach
    void client() {
        client = new ChatClient(port);
    }

    @Test
    void chatStreamsProgressThenTheAnswerAndStoresTheRun() throws Exception {
        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-local-1", "How do I run the tests?"));

        CompletedChat.assertCompleted(response, client, jdbc);
    }

    @Test
    void progressReachesTheClientWhileAStepIsStillRunningWithKeepAlivesInBetween() throws Exception {
        CountDownLatch searchResultsSeen = new CountDownLatch(1);
        CountDownLatch keepAliveSeen = new CountDownLatch(1);
        ExecutorService reader = Executors.newSingleThreadExecutor();
        try {
            Future<ChatClient.StreamResponse> stream = reader.submit(() -> client.postChat(
                    ChatClient.chatBody("chat-local-held", HELD_QUESTION), event -> {
                        if ("data-search".equals(event.type())) {
                            searchResultsSeen.countDown();
                        }
                        if (event.data().startsWith(": keep-alive")) {
                            keepAliveSeen.countDown();
                        }
                    }));

            assertThat(searchResultsSeen.await(20, TimeUnit.SECONDS)).as("data-search arrives before analyze ends").isTrue();
            assertThat(keepAliveSeen.await(10, TimeUnit.SECONDS)).as("keep-alive comment while analyze runs").isTrue();
            HELD.get(HELD_QUESTION).countDown();

            CompletedChat.assertCompleted(stream.get(60, TimeUnit.SECONDS), client, jdbc);
        } finally {
            HELD.get(HELD_QUESTION).countDown();
            reader.shutdownNow();
        }
    }

    @Test
    void aClientThatReconnectsGetsTheStreamReplayedOrContinuedAfterItsLastEventId() throws Exception {
        CountDownLatch searchResultsSeen = new CountDownLatch(1);
        AtomicReference<String> idPrefix = new AtomicReference<>();
        ExecutorService readers = Executors.newFixedThreadPool(3);
        try {
            Future<ChatClient.StreamResponse> original = readers.submit(() -> client.postChat(
                    ChatClient.chatBody("chat-local-resume", HELD_FOR_RESUME), event -> {
                        if ("data-search".equals(event.type())) {
                            idPrefix.set(event.id().substring(0, event.id().lastIndexOf('-') + 1));
                            searchResultsSeen.countDown();
                        }
                    }));
            assertThat(searchResultsSeen.await(20, TimeUnit.SECONDS)).isTrue();
            Future<ChatClient.StreamResponse> replay = readers.submit(() -> client.resume("chat-local-resume", null));
            Future<ChatClient.StreamResponse> continuation = readers.submit(() -> client.resume("chat-local-resume", idPrefix.get() + "5"));
            HELD.get(HELD_FOR_RESUME).countDown();

            List<SseEvent> all = original.get(60, TimeUnit.SECONDS).events();
            ChatClient.StreamResponse replayed = replay.get(60, TimeUnit.SECONDS);
            assertThat(replayed.status()).isEqualTo(200);
            assertThat(replayed.header("x-vercel-ai-ui-message-stream")).isEqualTo("v1");
            assertThat(replayed.events()).as("replayed from the first event").isEqualTo(all);
            assertThat(continuation.get(60, TimeUnit.SECONDS).events()).as("after event 5, no gap, no duplicate")
                    .isEqualTo(all.subList(5, all.size()));
            assertThat(client.resume("chat-local-resume", idPrefix.get() + "4").events()).as("an ended stream stays replayable a while")
                    .isEqualTo(all.subList(4, all.size()));
        } finally {
            HELD.get(HELD_FOR_RESUME).countDown();
            readers.shutdownNow();
        }
    }

    @Test
    void retryingAFailedRunStreamsANewRunThatReusesTheCompletedSteps() throws Exception {
        ChatClient.StreamResponse failed = client.postChat(ChatClient.chatBody("chat-local-retry", FAILS_ONE_RUN));
        assertThat(failed.types()).endsWith("error");
        ChatClient.JsonResponse notFailed = client.postJson("/api/runs/" + client.postChat(
                ChatClient.chatBody("chat-local-retry-ok", "How do I run the tests?")).runId() + "/retry", "");
        assertThat(notFailed.status()).isEqualTo(409);
        assertThat(notFailed.body().path("error").path("code").asText()).isEqualTo("run_not_failed");
        assertThat(client.postJson("/api/runs/00000000-0000-0000-0000-000000000000/retry", "").status()).isEqualTo(404);

        ChatClient.StreamResponse retried = client.postStream("/api/runs/" + failed.runId() + "/retry");

        CompletedChat.assertCompleted(retried, client, jdbc);
        assertThat(retried.runId()).isNotEqualTo(failed.runId());
        assertThat(retried.chunksOfType("data-run").get(0).path("data").path("retryOf").asText()).isEqualTo(failed.runId());
        assertThat(SEARCHES_OF_FAILS_ONE_RUN.get()).as("search was not computed again").isEqualTo(1);
        assertThat(jdbc.queryForObject("select (a.output = b.output) from pgflow.step_tasks a, pgflow.step_tasks b "
                + "where a.run_id = ?::uuid and b.run_id = ?::uuid and a.step_slug = 'search' and b.step_slug = 'search'",
                Boolean.class, failed.runId(), retried.runId())).isTrue();
        assertThat(client.get("/api/runs/" + failed.runId()).body().path("status").asText()).isEqualTo("failed");

        // In the conversation the retry's answer takes the failed one's place, as useChat's regenerate does.
        JsonNode messages = client.get("/api/chats/chat-local-retry").body().path("messages");
        assertThat(messages.findValuesAsText("role")).containsExactly("user", "assistant");
        assertThat(messages.get(1).path("metadata").path("runId").asText()).isEqualTo(retried.runId());
        assertThat(messages.get(1).path("metadata").has("error")).isFalse();
    }

    @Test
    void stopEndsTheRunAtOnceWithoutARetryAndTheStreamSaysWhy() throws Exception {
        CountDownLatch searchResultsSeen = new CountDownLatch(1);
        ExecutorService reader = Executors.newSingleThreadExecutor();
        try {
            Future<ChatClient.StreamResponse> stream = reader.submit(() -> client.postChat(
                    ChatClient.chatBody("chat-local-stop", HELD_FOR_STOP), event -> {
                        if ("data-search".equals(event.type())) {
                            searchResultsSeen.countDown();
                        }
                    }));
            assertThat(searchResultsSeen.await(20, TimeUnit.SECONDS)).isTrue();

            ChatClient.JsonResponse stopped = client.postJson("/api/chat/chat-local-stop/stop", "");
            HELD.get(HELD_FOR_STOP).countDown();

            assertThat(stopped.status()).isEqualTo(202);
            assertThat(stopped.body().path("status").asText()).isEqualTo("stopping");
            ChatClient.StreamResponse response = stream.get(60, TimeUnit.SECONDS);
            assertThat(response.types()).endsWith("error").doesNotContain("text-start", "finish");
            assertThat(response.chunksOfType("error").get(0).path("errorText").asText()).contains("'respond'").contains("stopped by the user");
            JsonNode respond = client.get("/api/runs/" + response.runId()).body().path("steps").get(2);
            assertThat(respond.path("status").asText()).isEqualTo("failed");
            assertThat(respond.path("error").asText()).contains("stopped by the user");
            assertThat(client.get("/api/runs/" + response.runId()).body().path("status").asText()).isEqualTo("failed");
            assertThat(client.postJson("/api/chat/chat-local-stop/stop", "").status()).as("nothing left to stop").isEqualTo(204);
        } finally {
            HELD.get(HELD_FOR_STOP).countDown();
            reader.shutdownNow();
        }
    }

    @Test
    void resumingAChatWithNothingToResumeAnswers204() throws Exception {
        assertThat(client.resume("a-chat-that-never-streamed", null).status()).isEqualTo(204);
        assertThat(client.resume("a-chat-that-never-streamed", null).events()).isEmpty();
    }

    @Test
    void streamIsAcceptedByTheAiSdkClientParser() throws Exception {
        Path body = Files.createTempFile("chat-body", ".json");
        Files.writeString(body, ChatClient.chatBody("chat-local-ai-sdk", "What does the search step return?"));
        Process node = new ProcessBuilder("node", "src/test/js/check-ui-message-stream.mjs",
                "http://127.0.0.1:" + port + "/api/chat", body.toString())
                .redirectErrorStream(false)
                .start();
        assertThat(node.waitFor(60, TimeUnit.SECONDS)).as("node finished").isTrue();
        String stdout = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String stderr = new String(node.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(node.exitValue()).as("ai parser verdict: %s", stderr).isZero();

        JsonNode result = new ObjectMapper().readTree(stdout);
        JsonNode message = result.path("message");
        assertThat(message.path("role").asText()).isEqualTo("assistant");
        String runId = message.path("metadata").path("runId").asText();
        List<JsonNode> parts = message.path("parts").findParents("type");
        assertThat(parts).anySatisfy(p -> assertThat(p.path("type").asText()).isEqualTo("data-search"));
        assertThat(parts.stream().filter(p -> p.path("type").asText().equals("data-step")))
                .as("one data-step part per step, updated in place")
                .hasSize(3)
                .allSatisfy(p -> assertThat(p.path("data").path("status").asText()).isEqualTo("completed"));
        String text = parts.stream().filter(p -> p.path("type").asText().equals("text"))
                .map(p -> p.path("text").asText()).findFirst().orElseThrow();
        JsonNode run = client.get("/api/runs/" + runId).body();
        assertThat(text).isEqualTo(run.path("output").path("respond").path("answer").asText());

        // The AI SDK's own parts: a step-start before the answer, and a source-document per search result.
        List<String> types = parts.stream().map(p -> p.path("type").asText()).toList();
        assertThat(types.indexOf("step-start")).as("step-start before the text").isBetween(0, types.indexOf("text"));
        JsonNode results = run.path("steps").get(0).path("output").path("results");
        List<JsonNode> documents = parts.stream().filter(p -> p.path("type").asText().equals("source-document")).toList();
        assertThat(documents).hasSize(results.size()).isNotEmpty();
        for (int i = 0; i < documents.size(); i++) {
            JsonNode document = documents.get(i);
            JsonNode searched = results.get(i);
            assertThat(document.path("sourceId").asText()).isEqualTo("document-" + searched.path("documentId").asText());
            assertThat(document.path("mediaType").asText()).isEqualTo("text/markdown");
            assertThat(document.path("title").asText()).isEqualTo(searched.path("title").asText());
            assertThat(document.path("filename").asText()).isEqualTo(searched.path("source").asText());
            JsonNode fields = document.path("providerMetadata").path("pgflowChat");
            assertThat(fields.path("rank").asInt()).isEqualTo(i + 1);
            assertThat(fields.path("documentId").asText()).isEqualTo(searched.path("documentId").asText());
            assertThat(fields.path("snippet").asText()).isEqualTo(searched.path("snippet").asText());
            assertThat(fields.path("score").asDouble()).isEqualTo(searched.path("score").asDouble());
        }
        JsonNode metadata = message.path("metadata");
        assertThat(metadata.path("timings").path("steps").fieldNames()).toIterable().containsExactly("search", "analyze", "respond");
        assertThat(metadata.path("usage").isMissingNode()).as("the offline model reports no token usage").isTrue();
    }

    @Test
    void stepThatKeepsFailingIsRetriedThenFailsTheRunWithAnErrorChunk() throws Exception {
        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-local-fail", FAILING_QUESTION));

        assertThat(response.status()).isEqualTo(200);
        List<String> types = response.types();
        assertThat(types.get(types.size() - 1)).isEqualTo("error");
        assertThat(types).doesNotContain("text-start", "finish");
        String errorText = response.chunksOfType("error").get(0).path("errorText").asText();
        assertThat(errorText).contains("'analyze'").contains("analysis backend unavailable").contains(response.runId());
        List<JsonNode> analyzeParts = response.chunksOfType("data-step").stream()
                .filter(p -> p.path("id").asText().equals("step-analyze")).map(p -> p.path("data")).toList();
        assertThat(analyzeParts.stream().map(d -> d.path("status").asText()).toList())
                .as("each retry shows as progress").containsExactly("waiting", "started", "retrying", "retrying", "failed");
        assertThat(analyzeParts.get(2).path("attempt").asInt()).isEqualTo(2);
        assertThat(analyzeParts.get(3).path("attempt").asInt()).isEqualTo(3);
        assertThat(analyzeParts.get(3).path("maxAttempts").asInt()).isEqualTo(3);
        assertThat(analyzeParts.get(3).path("error").asText()).contains("analysis backend unavailable");

        JsonNode run = client.get("/api/runs/" + response.runId()).body();
        assertThat(run.path("status").asText()).isEqualTo("failed");
        JsonNode analyze = run.path("steps").get(1);
        assertThat(analyze.path("status").asText()).isEqualTo("failed");
        assertThat(analyze.path("attempts").asInt()).as("every attempt pgflow allows was made").isEqualTo(3);
        assertThat(analyze.path("error").asText()).contains("analysis backend unavailable");
        assertThat(run.path("steps").get(0).path("status").asText()).isEqualTo("completed");
        assertThat(run.path("steps").get(2).path("status").asText()).isEqualTo("created");

        // The conversation keeps the failed answer as it was streamed: its progress parts and the error.
        JsonNode assistant = client.get("/api/chats/chat-local-fail").body().path("messages").get(1);
        assertThat(assistant.path("role").asText()).isEqualTo("assistant");
        assertThat(assistant.path("metadata").path("error").asText()).isEqualTo(errorText);
        assertThat(assistant.path("parts").findValuesAsText("type")).contains("data-run", "data-step", "data-search").doesNotContain("text");
    }

    static Stream<Arguments> badRequests() {
        String userMessage = "{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"hello\"}]}";
        return Stream.of(
                Arguments.of("application/json", "{not json", 400, "invalid_json"),
                Arguments.of("application/json", "", 400, "invalid_json"),
                Arguments.of("application/json", "[1,2]", 400, "invalid_json"),
                Arguments.of("application/json", "{\"messages\":[" + userMessage + "]}", 400, "missing_id"),
                Arguments.of("application/json", "{\"id\":\"c\"}", 400, "missing_messages"),
                Arguments.of("application/json", "{\"id\":\"c\",\"messages\":[]}", 400, "missing_messages"),
                Arguments.of("application/json", "{\"id\":\"c\",\"messages\":{}}", 400, "missing_messages"),
                Arguments.of("application/json", "{\"id\":\"c\",\"messages\":[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}", 400, "missing_user_text"),
                Arguments.of("application/json", "{\"id\":\"c\",\"messages\":[{\"role\":\"user\",\"parts\":[{\"type\":\"file\",\"url\":\"x\"}]}]}", 400, "missing_user_text"),
                Arguments.of("application/json", "{\"id\":\"c\",\"messages\":[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"   \"}]}]}", 400, "missing_user_text"),
                Arguments.of("application/json", "{\"id\":\"c\",\"messages\":[{\"role\":\"robot\",\"parts\":[]}]}", 400, "invalid_message"),
                Arguments.of("application/json", "{\"id\":\"c\",\"messages\":[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":42}]}]}", 400, "invalid_message"),
                Arguments.of("application/json", "{\"id\":\"c\",\"messages\":[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"a\\u0000b\"}]}]}", 400, "invalid_message"),
                Arguments.of("application/json", "{\"id\":\"c\",\"messages\":[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"half \\ud83d pair\"}]}]}", 400, "invalid_message"),
                Arguments.of("application/json", "{\"id\":42,\"messages\":[" + userMessage + "]}", 400, "invalid_field"),
                Arguments.of("application/json", "{\"id\":\"c\",\"trigger\":\"resume\",\"messages\":[" + userMessage + "]}", 400, "invalid_trigger"),
                Arguments.of("application/json", "{\"id\":\"c\",\"messages\":[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"" + "x".repeat(8001) + "\"}]}]}", 413, "message_too_long"),
                Arguments.of("text/plain", "{\"id\":\"c\",\"messages\":[" + userMessage + "]}", 415, "unsupported_media_type"),
                Arguments.of("application/x-www-form-urlencoded", "id=c", 415, "unsupported_media_type"),
                Arguments.of(null, "{\"id\":\"c\",\"messages\":[" + userMessage + "]}", 415, "unsupported_media_type"));
    }

    @ParameterizedTest
    @MethodSource("badRequests")
    void badRequestGetsAJsonErrorAndStartsNoRun(String contentType, String body, int status, String code) throws Exception {
        long runsBefore = countRuns();

        ChatClient.JsonResponse response = client.postChatExpectingError(contentType, body);

        assertThat(response.status()).isEqualTo(status);
        assertThat(response.body().path("error").path("code").asText()).isEqualTo(code);
        assertThat(response.body().path("error").path("message").asText()).isNotBlank();
        assertThat(countRuns()).isEqualTo(runsBefore);
    }

    @Test
    void toleratesEverythingTheAiSdkSendsBesideTheText() throws Exception {
        String body = """
                {"id":"chat-local-rich","trigger":"submit-message","customField":{"a":1},
                 "messages":[
                   {"id":"m1","role":"system","parts":[{"type":"text","text":"Be brief."}]},
                   {"id":"m2","role":"user","parts":[{"type":"text","text":"What is pgflow?"}]},
                   {"id":"m3","role":"assistant","metadata":{"runId":"x"},"parts":[{"type":"step-start"},
                      {"type":"reasoning","text":"…"},{"type":"tool-search","toolCallId":"t1","state":"output-available"},
                      {"type":"data-run","id":"run","data":{"status":"completed"}},{"type":"text","text":"An orchestrator.","state":"done"}]},
                   {"id":"m4","role":"user","metadata":{"k":"v"},"parts":[{"type":"file","mediaType":"image/png","url":"data:,"},
                      {"type":"text","text":"How is a step retried? 🧪 «ñ» \\"quoted\\" '; drop table pgflow.runs; --"}]}]}
                """;
        ChatClient.StreamResponse response = client.postChat(body);

        CompletedChat.assertCompleted(response, client, jdbc);
        JsonNode run = client.get("/api/runs/" + response.runId()).body();
        assertThat(run.path("question").asText()).isEqualTo("How is a step retried? 🧪 «ñ» \"quoted\" '; drop table pgflow.runs; --");
        assertThat(jdbc.queryForObject("select input -> 'history' from pgflow.runs where run_id = ?::uuid", String.class, response.runId()))
                .contains("An orchestrator.").contains("What is pgflow?");
    }

    @Test
    void runOfAnotherUserOrUnknownIdIsNotFound() throws Exception {
        ChatClient.JsonResponse unknown = client.get("/api/runs/00000000-0000-0000-0000-000000000000");
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.body().path("error").path("code").asText()).isEqualTo("run_not_found");

        String foreignRun = jdbc.queryForObject("select run_id::text from pgflow.start_flow('chat_pipeline', "
                + "'{\"chatId\":\"x\",\"userId\":\"someone-else\",\"question\":\"hi\",\"history\":[]}'::jsonb)", String.class);
        ChatClient.JsonResponse foreign = client.get("/api/runs/" + foreignRun);
        assertThat(foreign.status()).isEqualTo(404);
        assertThat(foreign.body().path("error").path("code").asText()).isEqualTo("run_not_found");
        assertThat(foreign.body().path("error").path("message").asText()).doesNotContain("someone-else");

        ChatClient.JsonResponse malformed = client.get("/api/runs/not-a-uuid");
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.body().path("error").path("code").asText()).isEqualTo("invalid_run_id");
    }

    private long countRuns() {
        return jdbc.queryForObject("select count(*) from pgflow.runs", Long.class);
    }
}
