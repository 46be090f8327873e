package io.github.pgflowchat.bench;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.springframework.jdbc.core.JdbcTemplate;

import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.GatewayInstance;
import io.github.pgflowchat.support.PacedOpenAi;
import io.github.pgflowchat.support.SseEvent;

/**
 * Resume on any instance through Redis Streams (decision record 0020), on the defaults with REDIS_URL set
 * (TEST_REDIS_URL, or Redis at 127.0.0.1:6379).
 *
 * <p>{@code resume}: what the copy to Redis costs a stream's tokens (ms per token, as fast as the gateway streams them,
 * on an instance that copies and one that does not, chats alternating between them) and how late a reader on another
 * instance gets each token against the local reader of the same stream.
 *
 * <p>{@code two-instances}: chats started on A, cut after some answer text, resumed with Last-Event-ID on B, against
 * the same cut resumed on A: gaps and duplicates (must be none), the text against the stored answer, and the time to the
 * first resumed event.
 */
final class ResumeBenchmark {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int FAST_TOKENS = 2000;
    private static final int COST_WARM_UP = 3;
    private static final int COST_CHATS = 12;
    private static final int LIVE_TOKENS = 100;
    private static final int LIVE_CADENCE_MS = 10;
    private static final int LIVE_WARM_UP = 3;
    private static final int LIVE_CHATS = 15;
    private static final int RESUME_WARM_UP = 3;
    private static final int RESUME_CHATS = 20;
    private static final int DELTAS_BEFORE_CUT = 10;

    private ResumeBenchmark() {
    }

    /** Two instances on one database (A's embedded one) and one Redis; B copies and reads too. */
    private record Pair(BenchGateway a, BenchGateway b) implements AutoCloseable {

        static Pair start(PacedOpenAi provider, String keyPrefix) {
            BenchGateway a = BenchGateway.start(BenchGateway.providedBy(provider), "--gateway.redis.url=" + GatewayInstance.REDIS_URL,
                    "--gateway.chat.shared-streams.key-prefix=" + keyPrefix);
            String database = "postgres://postgres@127.0.0.1:" + a.bean(EmbeddedPostgres.class).getPort() + "/postgres";
            BenchGateway b = BenchGateway.startOn(database, BenchGateway.providedBy(provider), "--gateway.redis.url=" + GatewayInstance.REDIS_URL,
                    "--gateway.chat.shared-streams.key-prefix=" + keyPrefix, "--gateway.search.seed-corpus=false");
            return new Pair(a, b);
        }

        @Override
        public void close() throws Exception {
            b.close();
            a.close();
        }
    }

    static Table runResume() throws Exception {
        String prefix = "bench-" + UUID.randomUUID() + ":";
        List<Double> plainMsPerToken = new ArrayList<>();
        List<Double> copiedMsPerToken = new ArrayList<>();
        try (PacedOpenAi fast = new PacedOpenAi(FAST_TOKENS, 0);
             BenchGateway plain = BenchGateway.start(BenchGateway.providedBy(fast));
             BenchGateway copying = BenchGateway.start(BenchGateway.providedBy(fast), "--gateway.redis.url=" + GatewayInstance.REDIS_URL,
                     "--gateway.chat.shared-streams.key-prefix=" + prefix)) {
            for (int i = 0; i < COST_WARM_UP + COST_CHATS; i++) {
                double p = msPerToken(plain.client(), "cost-plain-" + i);
                double c = msPerToken(copying.client(), "cost-copied-" + i);
                if (i >= COST_WARM_UP) {
                    plainMsPerToken.add(p);
                    copiedMsPerToken.add(c);
                }
            }
        }
        List<Double> local = new ArrayList<>();
        List<Double> remote = new ArrayList<>();
        try (PacedOpenAi paced = new PacedOpenAi(LIVE_TOKENS, LIVE_CADENCE_MS);
             Pair pair = Pair.start(paced, prefix)) {
            for (int i = 0; i < LIVE_WARM_UP + LIVE_CHATS; i++) {
                List<List<Double>> latencies = liveOnBoth(paced, pair, "live-" + UUID.randomUUID());
                if (i >= LIVE_WARM_UP) {
                    local.addAll(latencies.get(0));
                    remote.addAll(latencies.get(1));
                }
            }
        }
        Table table = new Table("Resume on any instance: the copy to Redis and a reader on another instance")
                .note("Per-token cost: %d chats each of %d tokens streamed as fast as the gateway goes (mock provider, no pause), "
                        + "alternating between an instance without Redis and one copying every event to Redis; ms per token "
                        + "from the first text-delta to the last, at the client.", COST_CHATS, FAST_TOKENS)
                .note("Reader on B: %d chats started on A (%d tokens, one every %d ms), read at once by A's own response and by a "
                        + "resume on B served from Redis; latency of each token from the provider's write to its arrival.",
                        LIVE_CHATS, LIVE_TOKENS, LIVE_CADENCE_MS);
        double plainMs = Table.percentile(plainMsPerToken, 50);
        double copiedMs = Table.percentile(copiedMsPerToken, 50);
        table.row("ms per token p50 (baseline: no copy)", fmt(plainMs), fmt(copiedMs), String.format(Locale.ROOT, "%+.4f ms", copiedMs - plainMs),
                "", null);
        for (double p : new double[] {50, 95, 99}) {
            double l = Table.percentile(local, p);
            double r = Table.percentile(remote, p);
            table.row(String.format(Locale.ROOT, "token latency p%.0f (baseline: reader on A)", p), Table.ms(l), Table.ms(r),
                    Table.plusMs(r - l), "", null);
        }
        return table;
    }

    static Table runTwoInstances() throws Exception {
        String prefix = "bench-" + UUID.randomUUID() + ":";
        List<Double> sameInstance = new ArrayList<>();
        List<Double> otherInstance = new ArrayList<>();
        int[] gaps = new int[2];
        int[] duplicates = new int[2];
        int[] textMismatches = new int[2];
        try (PacedOpenAi paced = new PacedOpenAi(LIVE_TOKENS, LIVE_CADENCE_MS);
             Pair pair = Pair.start(paced, prefix)) {
            JdbcTemplate jdbc = pair.a().jdbc();
            for (int i = 0; i < RESUME_WARM_UP + RESUME_CHATS; i++) {
                boolean measured = i >= RESUME_WARM_UP;
                for (int where = 0; where < 2; where++) {
                    BenchGateway resumer = where == 0 ? pair.a() : pair.b();
                    CutAndResume result = cutAndResume(pair.a(), resumer, "cut-" + UUID.randomUUID());
                    String stored = jdbc.queryForObject("select output #>> '{respond,answer}' from pgflow.runs where run_id = ?::uuid",
                            String.class, result.runId());
                    if (measured) {
                        (where == 0 ? sameInstance : otherInstance).add(result.firstEventMs());
                        gaps[where] += result.gaps();
                        duplicates[where] += result.duplicates();
                        textMismatches[where] += result.text().equals(stored) ? 0 : 1;
                    }
                }
            }
        }
        Table table = new Table("Two instances: cut on A, resumed on B")
                .note("Two gateways on one database (A's embedded PostgreSQL) and one Redis, defaults otherwise. %d chats started on A "
                        + "(%d tokens, one every %d ms), cut after %d text-deltas, resumed 100 ms later with Last-Event-ID on B; as "
                        + "many resumed on A itself (the baseline), alternating. Resume latency: from sending the resume to its first "
                        + "event (already written by then).", RESUME_CHATS, LIVE_TOKENS, LIVE_CADENCE_MS, DELTAS_BEFORE_CUT);
        table.row("gaps (events missing between the cut and the resume)", String.valueOf(gaps[0]), String.valueOf(gaps[1]), "", "0",
                gaps[0] + gaps[1] == 0);
        table.row("duplicates", String.valueOf(duplicates[0]), String.valueOf(duplicates[1]), "", "0", duplicates[0] + duplicates[1] == 0);
        table.row("text ≠ stored answer", String.valueOf(textMismatches[0]), String.valueOf(textMismatches[1]), "", "0",
                textMismatches[0] + textMismatches[1] == 0);
        for (double p : new double[] {50, 95}) {
            double same = Table.percentile(sameInstance, p);
            double other = Table.percentile(otherInstance, p);
            table.row(String.format(Locale.ROOT, "resume latency p%.0f (baseline: resumed on A)", p), Table.ms(same), Table.ms(other),
                    Table.plusMs(other - same), "", null);
        }
        if (gaps[0] + gaps[1] + duplicates[0] + duplicates[1] + textMismatches[0] + textMismatches[1] > 0) {
            System.out.println(table.markdown());
            throw new AssertionError("resumed streams had gaps, duplicates or a text unlike the stored answer");
        }
        return table;
    }

    private static String fmt(double ms) {
        return String.format(Locale.ROOT, "%.4f ms", ms);
    }

    /** One chat streamed to its end: ms per token between the first and the last text-delta. */
    private static double msPerToken(ChatClient client, String chatId) throws Exception {
        long[] first = {0};
        long[] last = {0};
        int[] deltas = {0};
        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody(chatId, "How are steps retried?"), event -> {
            if ("text-delta".equals(event.type())) {
                long now = System.nanoTime();
                if (deltas[0]++ == 0) {
                    first[0] = now;
                }
                last[0] = now;
            }
        });
        if (!response.types().contains("finish") || deltas[0] != FAST_TOKENS) {
            throw new AssertionError("chat " + chatId + " did not stream its " + FAST_TOKENS + " tokens: " + deltas[0]);
        }
        return (last[0] - first[0]) / 1e6 / (deltas[0] - 1);
    }

    /** A chat on A read by A's response and by a resume on B from the start; each reader's token latencies. */
    private static List<List<Double>> liveOnBoth(PacedOpenAi provider, Pair pair, String chatId) throws Exception {
        provider.holdAnswers();
        List<Double> local = new ArrayList<>();
        List<Double> remote = new ArrayList<>();
        CompletableFuture<ChatClient.StreamResponse> onA = pair.a().client().postChatAsync(ChatClient.chatBody(chatId, "How are steps retried?"),
                event -> {
                    if ("text-delta".equals(event.type())) {
                        local.add(PacedOpenAi.latencyMillis(event.json().path("delta").asText(), System.nanoTime()));
                    }
                });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (provider.heldAnswers() == 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the answer of " + chatId + " never reached the provider");
            }
            Thread.sleep(5);
        }
        CountDownLatch attached = new CountDownLatch(1);
        AtomicBoolean failed = new AtomicBoolean();
        CompletableFuture<ChatClient.StreamResponse> onB = CompletableFuture.supplyAsync(() -> {
            try {
                return readFrom(pair.b().port(), chatId, null, event -> {
                    attached.countDown();
                    if ("text-delta".equals(event.type())) {
                        remote.add(PacedOpenAi.latencyMillis(event.json().path("delta").asText(), System.nanoTime()));
                    }
                });
            } catch (Exception e) {
                failed.set(true);
                attached.countDown();
                throw new IllegalStateException(e);
            }
        });
        if (!attached.await(30, TimeUnit.SECONDS) || failed.get()) {
            provider.releaseAnswers();
            throw new AssertionError("the resume on B of " + chatId + " did not start");
        }
        provider.releaseAnswers();
        onA.get(60, TimeUnit.SECONDS);
        onB.get(60, TimeUnit.SECONDS);
        if (local.size() != LIVE_TOKENS || remote.size() != LIVE_TOKENS) {
            throw new AssertionError("tokens of " + chatId + ": " + local.size() + " on A, " + remote.size() + " on B");
        }
        return List.of(local, remote);
    }

    record CutAndResume(String runId, double firstEventMs, int gaps, int duplicates, String text) {
    }

    /** Starts a chat on A, cuts it after some text, waits 100 ms and resumes it on {@code resumer} with Last-Event-ID. */
    private static CutAndResume cutAndResume(BenchGateway a, BenchGateway resumer, String chatId) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.port() + "/api/chat"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(ChatClient.chatBody(chatId, "How are steps retried?"))).build();
        List<SseEvent> before = new ArrayList<>();
        HttpResponse<InputStream> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = response.body()) {
            readEvents(body, before, DELTAS_BEFORE_CUT);
        }
        Thread.sleep(100);
        long sent = System.nanoTime();
        long[] firstAt = {0};
        String lastId = before.get(before.size() - 1).id();
        ChatClient.StreamResponse resumed = readFrom(resumer.port(), chatId, lastId, event -> {
            if (firstAt[0] == 0 && event.json() != null) {
                firstAt[0] = System.nanoTime();
            }
        });
        String runId = before.stream().filter(e -> "data-run".equals(e.type())).findFirst().orElseThrow().json().path("data").path("runId").asText();
        List<SseEvent> all = new ArrayList<>(before);
        all.addAll(resumed.events());
        String prefix = runId.substring(0, 8) + "-";
        int gaps = 0;
        int duplicates = 0;
        long expected = 1;
        for (SseEvent event : all) {
            if (event.id() == null) {
                continue;
            }
            long number = Long.parseLong(event.id().substring(prefix.length()));
            if (number < expected) {
                duplicates++;
            } else {
                gaps += (int) (number - expected);
                expected = number + 1;
            }
        }
        if (!"[DONE]".equals(all.get(all.size() - 1).data()) || !resumed.types().contains("finish")) {
            gaps++;
        }
        StringBuilder text = new StringBuilder();
        all.stream().filter(e -> "text-delta".equals(e.type())).forEach(e -> text.append(e.json().path("delta").asText()));
        return new CutAndResume(runId, (firstAt[0] - sent) / 1e6, gaps, duplicates, text.toString());
    }

    /** GET /api/chat/{chatId}/stream on the instance at {@code port}, read to its end (a 204 is retried). */
    private static ChatClient.StreamResponse readFrom(int port, String chatId, String lastEventId,
                                                      java.util.function.Consumer<SseEvent> onEvent) throws Exception {
        for (int attempt = 0; attempt < 100; attempt++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/chat/" + chatId + "/stream")).GET();
            if (lastEventId != null) {
                request.header("Last-Event-ID", lastEventId);
            }
            HttpResponse<InputStream> response = HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() == 204) {
                response.body().close();
                Thread.sleep(20);
                continue;
            }
            if (response.statusCode() != 200) {
                throw new AssertionError("resume of " + chatId + " on port " + port + ": " + response.statusCode()
                        + " " + new String(response.body().readAllBytes(), StandardCharsets.UTF_8));
            }
            List<SseEvent> events = new ArrayList<>();
            try (InputStream body = response.body()) {
                readEvents(body, events, Integer.MAX_VALUE, onEvent);
            }
            return new ChatClient.StreamResponse(200, response.headers().map(), events, List.of());
        }
        throw new AssertionError("no stream to resume for " + chatId);
    }

    private static void readEvents(InputStream body, List<SseEvent> events, int maxDeltas) throws Exception {
        readEvents(body, events, maxDeltas, event -> { });
    }

    /** SSE events into {@code events}, until the end or {@code maxDeltas} text-deltas. */
    private static void readEvents(InputStream body, List<SseEvent> events, int maxDeltas, java.util.function.Consumer<SseEvent> onEvent)
            throws Exception {
        BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
        String id = null;
        int deltas = 0;
        for (String line = lines.readLine(); line != null && deltas < maxDeltas; line = lines.readLine()) {
            if (line.startsWith("id: ")) {
                id = line.substring(4);
            } else if (line.startsWith("data: ")) {
                String data = line.substring(6);
                JsonNode json = data.equals("[DONE]") ? null : JSON.readTree(data);
                SseEvent event = new SseEvent(id, data, json);
                events.add(event);
                onEvent.accept(event);
                if ("text-delta".equals(event.type())) {
                    deltas++;
                }
                id = null;
            }
        }
    }
}
