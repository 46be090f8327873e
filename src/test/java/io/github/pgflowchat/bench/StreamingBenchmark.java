package io.github.pgflowchat.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.PacedOpenAi;

/**
 * Per-token latency and time to first token through the gateway, against the same token stream read directly from
 * the provider, measured side by side in one run (the machine is shared, so only differences are reported).
 * <p>
 * The provider is an OpenAI-compatible server on a local socket that sends a token every {@code cadence} ms; each
 * token carries the {@link System#nanoTime()} it was written at, so a client in the same JVM knows each token's
 * latency exactly. Run: {@code mvn -B test-compile exec:java -Pbench}. Exits non-zero if any stream fails.
 */
public final class StreamingBenchmark {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int TOKENS = 50;
    private static final int CADENCE_MS = 20;
    private static final int WARM_UP = 3;
    private static final int RUNS = 20;

    public static void main(String[] args) throws Exception {
        try (PacedOpenAi provider = new PacedOpenAi(TOKENS, CADENCE_MS)) {
            ConfigurableApplicationContext app = new SpringApplication(Application.class).run(
                    "--server.port=0",
                    "--gateway.llm.provider=openai",
                    "--gateway.llm.openai.api-key=bench",
                    "--gateway.llm.openai.base-url=" + provider.baseUrl(),
                    "--gateway.llm.openai.model=bench",
                    "--gateway.embedded-postgres.data-dir=" + Path.of("target", "bench-postgres", UUID.randomUUID().toString()),
                    "--gateway.chat.limits.requests-per-minute=100000",
                    "--logging.level.root=WARN");
            int port = ((WebServerApplicationContext) app).getWebServer().getPort();
            ChatClient gateway = new ChatClient(port);
            HttpClient http = HttpClient.newHttpClient();
            try {
                for (int i = 0; i < WARM_UP; i++) {
                    viaGateway(gateway, "warm-up-" + i);
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
                    Sample g = viaGateway(gateway, "bench-" + i);
                    gatewayToken.addAll(g.tokenLatenciesMs());
                    gatewayFirst.add(g.firstTokenMs());
                    stepsWork.add(g.stepsWorkMs());
                }
                report(directToken, gatewayToken, directFirst, gatewayFirst, stepsWork);
            } finally {
                app.close();
            }
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
        ChatClient.StreamResponse response = gateway.postChat(ChatClient.chatBody(chatId, "How do I run the tests?"), event -> {
            if ("text-delta".equals(event.type())) {
                long now = System.nanoTime();
                latencies.add(PacedOpenAi.latencyMillis(event.json().path("delta").asText(), now));
                first[0] = first[0] < 0 ? (now - start) / 1e6 : first[0];
            }
        });
        if (!response.types().contains("finish") || response.types().contains("error")) {
            throw new IllegalStateException("stream " + chatId + " failed: " + response.types());
        }
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

    private static double percentile(List<Double> values, double p) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100 * sorted.size()) - 1));
    }

    private static void report(List<Double> directToken, List<Double> gatewayToken, List<Double> directFirst,
                               List<Double> gatewayFirst, List<Double> stepsWork) {
        System.out.printf(Locale.ROOT, "%n%d runs x %d tokens every %d ms; %d cores, %d MiB max heap, Java %s%n", RUNS, TOKENS, CADENCE_MS,
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() / (1024 * 1024), System.getProperty("java.version"));
        System.out.println("| measure | direct from provider (baseline) | through the gateway | added by the gateway |");
        System.out.println("| --- | --- | --- | --- |");
        for (double p : new double[] {50, 99}) {
            double direct = percentile(directToken, p);
            double gateway = percentile(gatewayToken, p);
            System.out.printf(Locale.ROOT, "| per-token latency p%.0f | %.3f ms | %.3f ms | %+.3f ms |%n", p, direct, gateway, gateway - direct);
        }
        double directTtft = percentile(directFirst, 50);
        double gatewayTtft = percentile(gatewayFirst, 50);
        double steps = percentile(stepsWork, 50);
        System.out.printf(Locale.ROOT, "| time to first token p50 | %.1f ms | %.1f ms (search + analyze: %.1f ms) | %+.1f ms overhead |%n",
                directTtft, gatewayTtft, steps, gatewayTtft - steps - directTtft);
    }
}
