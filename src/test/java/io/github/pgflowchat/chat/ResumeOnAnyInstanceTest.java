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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.jdbc.core.JdbcTemplate;

import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.GatewayInstance;
import io.github.pgflowchat.support.OwnDatabase;
import io.github.pgflowchat.support.PacedOpenAi;
import io.github.pgflowchat.support.SseEvent;

/**
 * Two instances on one database and one Redis: a chat started on A, cut mid-answer, and resumed on B with
 * {@code Last-Event-ID} goes on from the next event, with the ids A sent, to the end; what the client got from both
 * is A's whole stream, event for event, and its text is the stored answer. A does not cancel the answer while B
 * reads it, though its own client went away (decision record 0020). A stop asked of B stops the answer A streams.
 */
// The stop cancels an answer upstream: it comes after the test that checks that nothing did.
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResumeOnAnyInstanceTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String DATABASE = OwnDatabase.named("resume_any");
    /** Four seconds of answer, a token every 20 ms: the cut comes early, and the rest outlasts A's disconnect grace. */
    private static final int TOKENS = 200;
    private static final int TOKENS_BEFORE_CUT = 20;

    PacedOpenAi provider;
    GatewayInstance a;
    GatewayInstance b;

    @BeforeAll
    void startTwoInstances() throws Exception {
        OwnDatabase.onServer("drop database if exists " + DATABASE + " with (force)", "create database " + DATABASE);
        provider = new PacedOpenAi(TOKENS, 20);
        Map<String, String> settings = new HashMap<>(GatewayInstance.providedBy(provider));
        settings.put("gateway.redis.url", GatewayInstance.REDIS_URL);
        settings.put("gateway.chat.shared-streams.key-prefix", "test-" + UUID.randomUUID() + ":");
        settings.put("gateway.chat.shared-streams.expire-after-end", "1m");
        // Short enough that A would cancel the answer long before its end, were B's reader not known to it.
        settings.put("gateway.chat.disconnect-grace", "2s");
        settings.put("gateway.chat.keep-alive-interval", "300ms");
        settings.put("gateway.worker.fallback-poll-interval", "200ms");
        settings.put("logging.level.root", "WARN");
        a = GatewayInstance.start(DATABASE, settings);
        settings.put("gateway.search.seed-corpus", "false");
        b = GatewayInstance.start(DATABASE, settings);
    }

    @AfterAll
    void stop() throws Exception {
        if (b != null) {
            b.close();
        }
        if (a != null) {
            a.close();
        }
        if (provider != null) {
            provider.close();
        }
        OwnDatabase.drop(DATABASE);
    }

    @Test
    @Order(1)
    void aChatCutOnOneInstanceAndResumedOnTheOtherGoesOnWithNoGapNorDuplicateAndEqualsTheStoredAnswer() throws Exception {
        String chatId = "chat-resume-any-" + UUID.randomUUID();
        JdbcTemplate jdbc = a.bean(JdbcTemplate.class);

        List<SseEvent> beforeCut = readUntilCut(a.port(), chatId);
        String lastEventId = beforeCut.get(beforeCut.size() - 1).id();
        String runId = beforeCut.stream().filter(e -> "data-run".equals(e.type())).findFirst().orElseThrow().json().path("data").path("runId").asText();
        assertThat(jdbc.queryForObject("select status from pgflow.runs where run_id = ?::uuid", String.class, runId))
                .as("the run is live when B is asked").isEqualTo("started");

        ChatClient.StreamResponse resumed = b.client().resume(chatId, lastEventId);

        assertThat(resumed.status()).isEqualTo(200);
        List<SseEvent> afterCut = resumed.events();
        assertThat(afterCut.get(afterCut.size() - 1).data()).isEqualTo("[DONE]");
        assertThat(resumed.types()).contains("text-delta").endsWith("finish");
        String prefix = runId.substring(0, 8) + "-";
        List<SseEvent> all = new ArrayList<>(beforeCut);
        all.addAll(afterCut);
        List<String> ids = all.stream().map(SseEvent::id).filter(id -> id != null).toList();
        List<String> expected = new ArrayList<>();
        for (int n = 1; n <= ids.size(); n++) {
            expected.add(prefix + n);
        }
        assertThat(ids).as("the ids of A's events, then B's: every number once, in order").isEqualTo(expected);
        assertThat(afterCut.get(0).id()).as("B starts right after Last-Event-ID")
                .isEqualTo(prefix + (Integer.parseInt(lastEventId.substring(prefix.length())) + 1));

        // A's own replay of the whole stream (it keeps the ended stream a while) is what the client got from both.
        ChatClient.StreamResponse whole = a.client().resume(chatId, null);
        assertThat(whole.status()).isEqualTo(200);
        assertThat(all).as("the events before the cut and after it are A's stream").isEqualTo(whole.events());

        String storedAnswer = b.client().get("/api/runs/" + runId).body().path("output").path("respond").path("answer").asText();
        assertThat(storedAnswer).contains("t0@").contains("t" + (TOKENS - 1) + "@");
        assertThat(textOf(all)).isEqualTo(storedAnswer);
        assertThat(provider.clientClosed().getCount()).as("A never cancelled the answer upstream").isEqualTo(1);

        // Without Last-Event-ID, B replays the stream from its first event, as useChat's resume expects.
        ChatClient.StreamResponse replayOnB = b.client().resume(chatId, null);
        assertThat(replayOnB.events()).isEqualTo(whole.events());
        // An id past the end of an ended stream names no event of it.
        assertThat(b.client().resume(chatId, prefix + (ids.size() + 5)).status()).isEqualTo(400);
        assertThat(b.client().resume(chatId, "not-an-event-id").status()).as("a malformed id").isEqualTo(400);
    }

    @Test
    @Order(2)
    void aStopAskedOfTheOtherInstanceStopsTheAnswerWhereItStreams() throws Exception {
        String chatId = "chat-stop-any-" + UUID.randomUUID();
        CompletableFuture<ChatClient.StreamResponse> onA = a.client().postChatUntilAnswering(
                ChatClient.chatBody(chatId, "How are steps retried?"), Duration.ofSeconds(30));

        ChatClient.JsonResponse stopped = b.client().postJson("/api/chat/" + chatId + "/stop", "");

        assertThat(stopped.status()).isEqualTo(202);
        assertThat(stopped.body().path("status").asText()).isEqualTo("stopping");
        ChatClient.StreamResponse response = onA.get(30, TimeUnit.SECONDS);
        assertThat(stopped.body().path("runId").asText()).isEqualTo(response.runId());
        assertThat(response.types()).endsWith("error").doesNotContain("finish");
        assertThat(response.chunksOfType("error").get(0).path("errorText").asText()).contains("stopped by the user");
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(b.client().get("/api/runs/" + response.runId()).body()
                .path("status").asText()).isEqualTo("failed"));
        assertThat(b.client().postJson("/api/chat/" + chatId + "/stop", "").status()).as("nothing left to stop").isEqualTo(204);
    }

    @Test
    void theLookupOfAChatsLatestRunReadsAnIndexNotEveryRun() {
        JdbcTemplate jdbc = a.bean(JdbcTemplate.class);
        String plan = jdbc.execute((java.sql.Connection connection) -> {
            try (var statement = connection.createStatement()) {
                // With a handful of rows a sequential scan is cheapest; what is checked is that the index fits the query.
                statement.execute("set enable_seqscan = off");
                try (var explain = connection.prepareStatement("explain " + ChatStreams.LATEST_RUN_OF_CHAT)) {
                    explain.setString(1, "local-user");
                    explain.setString(2, "chat-1");
                    explain.setString(3, "chat_pipeline");
                    explain.setString(4, "chat_pipeline");
                    StringBuilder lines = new StringBuilder();
                    try (var rows = explain.executeQuery()) {
                        while (rows.next()) {
                            lines.append(rows.getString(1)).append('\n');
                        }
                    }
                    return lines.toString();
                } finally {
                    statement.execute("reset enable_seqscan");
                }
            }
        });
        assertThat(plan).contains("gateway_runs_by_user_chat").doesNotContain("Seq Scan");
    }

    /** POSTs the chat to the instance on {@code port}, reads events until some answer text has come, and cuts the connection. */
    private static List<SseEvent> readUntilCut(int port, String chatId) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/chat"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(ChatClient.chatBody(chatId, "How are steps retried?")))
                .build();
        HttpResponse<InputStream> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.statusCode()).isEqualTo(200);
        List<SseEvent> events = new ArrayList<>();
        int deltas = 0;
        try (InputStream body = response.body()) {
            BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
            String id = null;
            for (String line = lines.readLine(); line != null && deltas < TOKENS_BEFORE_CUT; line = lines.readLine()) {
                if (line.startsWith("id: ")) {
                    id = line.substring(4);
                } else if (line.startsWith("data: ")) {
                    String data = line.substring(6);
                    SseEvent event = new SseEvent(id, data, JSON.readTree(data));
                    events.add(event);
                    if ("text-delta".equals(event.type())) {
                        deltas++;
                    }
                    id = null;
                }
            }
        }
        assertThat(deltas).as("answer text before the cut").isEqualTo(TOKENS_BEFORE_CUT);
        return events;
    }

    private static String textOf(List<SseEvent> events) {
        StringBuilder text = new StringBuilder();
        events.stream().filter(e -> "text-delta".equals(e.type())).forEach(e -> text.append(e.json().path("delta").asText()));
        return text.toString();
    }
}
