package io.github.pgflowchat.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.PacedOpenAi;

/**
 * Per-token latency and time to first token through the gateway, against the same token stream read directly from
 * the provider, measured side by side in one run (the machine is shared, so only differences are reported).
 * <p>
 * The provider is an OpenAI-compatible server on a local socket that sends a token every {@code cadence} ms; each
 * token carries the {@link System#nanoTime()} it was written at, so a client in the same JVM knows each token's
 * latency exactly.
 */
final class StreamingBenchmark {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int TOKENS = 50;
    private static final int CADENCE_MS = 20;
    private static final int WARM_UP = 3;
    private static final int RUNS = 20;

    private StreamingBenchmark() {
    }

    static Table run() throws Exception {
        try (PacedOpenAi provider = new PacedOpenAi(TOKENS, CADENCE_MS);
             BenchGateway gateway = BenchGateway.start(BenchGateway.providedBy(provider))) {
            ChatClient client = gateway.client();
            PipelineTimestamps timestamps = PipelineTimestamps.weaveInto(gateway.camel(), Chats.STEPS);
            HttpClient http = HttpClient.newHttpClient();
            for (int i = 0; i < WARM_UP; i++) {
                viaGateway(client, provider, timestamps, "warm-up-" + i);
                direct(http, provider);
            }
            List<Double> directToken = new ArrayList<>();
            List<Double> gatewayToken = new ArrayList<>();
            List<Double> directFirst = new ArrayList<>();
            List<Double> gatewayFirst = new ArrayList<>();
            List<Double> stepsWork = new ArrayList<>();
            List<TimeToFirstToken> directParts = new ArrayList<>();
            List<TimeToFirstToken> gatewayParts = new ArrayList<>();
            for (int i = 0; i < RUNS; i++) {
                Sample d = direct(http, provider);
                directToken.addAll(d.tokenLatenciesMs());
                directFirst.add(d.firstTokenMs());
                directParts.add(d.parts());
                Sample g = viaGateway(client, provider, timestamps, "bench-" + i);
                gatewayToken.addAll(g.tokenLatenciesMs());
                gatewayFirst.add(g.firstTokenMs());
                stepsWork.add(g.stepsWorkMs());
                gatewayParts.add(g.parts());
            }
            Table table = report(directToken, gatewayToken, directFirst, gatewayFirst, stepsWork);
            addBreakdown(table, directParts, gatewayParts);
            return table;
        }
    }

    /**
     * Where the time to first token goes, in ms, on one clock ({@link System#nanoTime()} in this JVM): before the run
     * is committed (gateway only), from analyze's complete_task to the respond handler (gateway only), from there (or,
     * direct, from sending) until the provider has read the request, the provider's own wait for its first token, and
     * that token's way to the client.
     */
    record TimeToFirstToken(double startMs, double dispatchMs, double toProviderMs, double providerMs, double deliveryMs) {
    }

    record Sample(List<Double> tokenLatenciesMs, double firstTokenMs, double stepsWorkMs, TimeToFirstToken parts) {
    }

    /** The provider's stream read directly, as LangChain4j reads it. */
    private static Sample direct(HttpClient http, PacedOpenAi provider) throws Exception {
        long start = System.nanoTime();
        HttpRequest request = HttpRequest.newBuilder(URI.create(provider.baseUrl() + "/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"bench\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"))
                .build();
        List<Double> latencies = new ArrayList<>();
        double first = -1;
        TimeToFirstToken parts = null;
        try (Stream<String> lines = http.send(request, HttpResponse.BodyHandlers.ofLines()).body()) {
            for (String line : (Iterable<String>) lines::iterator) {
                if (line.startsWith("data: {")) {
                    long now = System.nanoTime();
                    String token = JSON.readTree(line.substring(6)).path("choices").path(0).path("delta").path("content").asText("");
                    if (!token.isEmpty()) {
                        latencies.add(PacedOpenAi.latencyMillis(token, now));
                        if (first < 0) {
                            first = (now - start) / 1e6;
                            long requestRead = provider.lastStreamRequestNanos();
                            long written = PacedOpenAi.writtenNanos(token);
                            parts = new TimeToFirstToken(0, 0, ms(requestRead - start), ms(written - requestRead), ms(now - written));
                        }
                    }
                }
            }
        }
        return check(latencies, first, 0, parts);
    }

    /** The same tokens through POST /api/chat: the pipeline's steps, then the answer streamed by the gateway. */
    private static Sample viaGateway(ChatClient gateway, PacedOpenAi provider, PipelineTimestamps timestamps, String chatId) throws Exception {
        long start = System.nanoTime();
        List<Double> latencies = new ArrayList<>();
        double[] first = {-1};
        long[] firstToken = new long[3];
        ChatClient.StreamResponse response = gateway.postChat(ChatClient.chatBody(chatId, Chats.QUESTION), event -> {
            if ("text-delta".equals(event.type())) {
                long now = System.nanoTime();
                String token = event.json().path("delta").asText();
                latencies.add(PacedOpenAi.latencyMillis(token, now));
                if (first[0] < 0) {
                    first[0] = (now - start) / 1e6;
                    firstToken[0] = provider.lastStreamRequestNanos();
                    firstToken[1] = PacedOpenAi.writtenNanos(token);
                    firstToken[2] = now;
                }
            }
        });
        Chats.requireFinished(response, chatId);
        JsonNode steps = gateway.get("/api/runs/" + response.runId()).body().path("steps");
        double stepsWork = steps.get(0).path("durationMs").asDouble() + steps.get(1).path("durationMs").asDouble();
        UUID runId = UUID.fromString(response.runId());
        long respondHandler = timestamps.handlerStarted(runId, "respond");
        TimeToFirstToken parts = new TimeToFirstToken(ms(timestamps.runStarted(runId) - start),
                ms(respondHandler - timestamps.taskCompleted(runId, "analyze")), ms(firstToken[0] - respondHandler),
                ms(firstToken[1] - firstToken[0]), ms(firstToken[2] - firstToken[1]));
        return check(latencies, first[0], stepsWork, parts);
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static Sample check(List<Double> latencies, double first, double stepsWork, TimeToFirstToken parts) {
        if (latencies.size() != TOKENS) {
            throw new IllegalStateException("expected " + TOKENS + " tokens, got " + latencies.size());
        }
        return new Sample(latencies, first, stepsWork, parts);
    }

    /** The time to first token in parts (p50 of each), gateway against direct: what the overhead is made of. */
    private static void addBreakdown(Table table, List<TimeToFirstToken> direct, List<TimeToFirstToken> gateway) {
        addPart(table, "TTFT part: request until the run is committed (start_flow returned)", direct, gateway, TimeToFirstToken::startMs);
        addPart(table, "TTFT part: analyze's complete_task returned until the respond handler runs", direct, gateway, TimeToFirstToken::dispatchMs);
        addPart(table, "TTFT part: respond handler (direct: sending) until the provider has read the request", direct, gateway, TimeToFirstToken::toProviderMs);
        addPart(table, "TTFT part: the provider's own wait for its first token", direct, gateway, TimeToFirstToken::providerMs);
        addPart(table, "TTFT part: the first token's way to the client", direct, gateway, TimeToFirstToken::deliveryMs);
    }

    private static void addPart(Table table, String name, List<TimeToFirstToken> direct, List<TimeToFirstToken> gateway,
                                ToDoubleFunction<TimeToFirstToken> part) {
        double baseline = Table.percentile(direct.stream().map(part::applyAsDouble).toList(), 50);
        double measured = Table.percentile(gateway.stream().map(part::applyAsDouble).toList(), 50);
        table.row(name + " p50", Table.ms(baseline), Table.ms(measured), Table.plusMs(measured - baseline), "", null);
    }

    private static Table report(List<Double> directToken, List<Double> gatewayToken, List<Double> directFirst,
                                List<Double> gatewayFirst, List<Double> stepsWork) {
        Table table = new Table("Streaming: per-token latency and time to first token")
                .note("%d chats × %d tokens every %d ms after %d warm-up rounds; baseline: the provider's stream read directly, "
                        + "alternating with the chats.", RUNS, TOKENS, CADENCE_MS, WARM_UP);
        for (double p : new double[] {50, 99}) {
            double direct = Table.percentile(directToken, p);
            double gateway = Table.percentile(gatewayToken, p);
            double target = p == 50 ? 1 : 5;
            table.row(String.format("per-token latency p%.0f", p), Table.ms(direct), Table.ms(gateway), Table.plusMs(gateway - direct),
                    "≤ +" + Table.ms(target), gateway - direct <= target);
        }
        double directTtft = Table.percentile(directFirst, 50);
        double gatewayTtft = Table.percentile(gatewayFirst, 50);
        double steps = Table.percentile(stepsWork, 50);
        double overhead = gatewayTtft - steps - directTtft;
        table.row("time to first token p50 (overhead: minus search + analyze " + Table.ms(steps) + ")", Table.ms(directTtft),
                Table.ms(gatewayTtft), Table.plusMs(overhead), "≤ +10 ms", overhead <= 10);
        return table;
    }
}
