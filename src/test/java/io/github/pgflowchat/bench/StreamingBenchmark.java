package io.github.pgflowchat.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
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
            HttpClient http = HttpClient.newHttpClient();
            for (int i = 0; i < WARM_UP; i++) {
                viaGateway(client, "warm-up-" + i);
                direct(http, provider);
            }
            List<Double> directToken = new ArrayList<>();
            List<Double> gatewayToken = new ArrayList<>();
            List<Double> directFirst = new ArrayList<>();
            List<Double> gatewayFirst = new ArrayList<>();
            List<Double> stepsWork = new ArrayList<>();
            for (int i = 0; i < RUNS; i++) {
                Sample d = direct(http, provider);
                directToken.addAll(d.tokenLatenciesMs());
                directFirst.add(d.firstTokenMs());
                Sample g = viaGateway(client, "bench-" + i);
                gatewayToken.addAll(g.tokenLatenciesMs());
                gatewayFirst.add(g.firstTokenMs());
                stepsWork.add(g.stepsWorkMs());
            }
            return report(directToken, gatewayToken, directFirst, gatewayFirst, stepsWork);
        }
    }

    record Sample(List<Double> tokenLatenciesMs, double firstTokenMs, double stepsWorkMs) {
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
        try (Stream<String> lines = http.send(request, HttpResponse.BodyHandlers.ofLines()).body()) {
            for (String line : (Iterable<String>) lines::iterator) {
                if (line.startsWith("data: {")) {
                    long now = System.nanoTime();
                    String token = JSON.readTree(line.substring(6)).path("choices").path(0).path("delta").path("content").asText("");
                    if (!token.isEmpty()) {
                        latencies.add(PacedOpenAi.latencyMillis(token, now));
                        first = first < 0 ? (now - start) / 1e6 : first;
                    }
                }
            }
        }
        return check(latencies, first, 0);
    }

    /** The same tokens through POST /api/chat: the pipeline's steps, then the answer streamed by the gateway. */
    private static Sample viaGateway(ChatClient gateway, String chatId) throws Exception {
        long start = System.nanoTime();
        List<Double> latencies = new ArrayList<>();
        double[] first = {-1};
        ChatClient.StreamResponse response = gateway.postChat(ChatClient.chatBody(chatId, Chats.QUESTION), event -> {
            if ("text-delta".equals(event.type())) {
                long now = System.nanoTime();
                latencies.add(PacedOpenAi.latencyMillis(event.json().path("delta").asText(), now));
                first[0] = first[0] < 0 ? (now - start) / 1e6 : first[0];
            }
        });
        Chats.requireFinished(response, chatId);
        JsonNode steps = gateway.get("/api/runs/" + response.runId()).body().path("steps");
        double stepsWork = steps.get(0).path("durationMs").asDouble() + steps.get(1).path("durationMs").asDouble();
        return check(latencies, first[0], stepsWork);
    }

    private static Sample check(List<Double> latencies, double first, double stepsWork) {
        if (latencies.size() != TOKENS) {
            throw new IllegalStateException("expected " + TOKENS + " tokens, got " + latencies.size());
        }
        return new Sample(latencies, first, stepsWork);
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
