package io.github.pgflowchat.realtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Vertx;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.github.pgflowchat.support.PhoenixTestServer;

/**
 * Keeps the Phoenix test server honest: the real @supabase/realtime-js client (pinned in package-lock.json) joins it
 * next to our client, and both must receive the same broadcasts, in the same order, in either framing.
 */
class RealtimeJsInteropTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "anon-key";
    private static final String CHANNEL = "pgflow:run:00000000-0000-0000-0000-000000000001";
    private static final int BROADCASTS = 6;

    @ParameterizedTest
    @ValueSource(strings = {PhoenixSerializer.V1, PhoenixSerializer.V2})
    void realtimeJsAndOurClientReceiveTheSameBroadcasts(String vsn) throws Exception {
        Vertx vertx = Vertx.vertx();
        try (PhoenixTestServer server = new PhoenixTestServer(KEY, KEY)) {
            server.start();
            Path stderrFile = Files.createTempFile("realtime-js", ".stderr");
            Process node = new ProcessBuilder("node", "--experimental-websocket", "src/test/js/realtime-js-listen.mjs",
                    server.url(), KEY, vsn, CHANNEL, String.valueOf(BROADCASTS)).redirectError(stderrFile.toFile()).start();
            List<JsonNode> fromRealtimeJs = new CopyOnWriteArrayList<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader lines = new BufferedReader(new InputStreamReader(node.getInputStream(), StandardCharsets.UTF_8))) {
                    lines.lines().forEach(line -> fromRealtimeJs.add(readJson(line)));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            reader.start();

            RealtimeClientTest.Recorder ours = new RealtimeClientTest.Recorder();
            RealtimeClient client = new RealtimeClient(vertx, URI.create(server.url() + "?apikey=" + KEY + "&vsn=" + vsn), vsn, JSON,
                    () -> KEY, Duration.ofSeconds(5), Duration.ofSeconds(5));
            client.start();
            client.join("realtime:" + CHANNEL, ours);
            try {
                await().atMost(Duration.ofSeconds(20)).until(() -> ours.joins.get() == 1
                        && fromRealtimeJs.stream().anyMatch(line -> "SUBSCRIBED".equals(line.path("status").asText())));
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                node.destroy();
                throw new AssertionError("not joined; realtime-js said " + fromRealtimeJs + " / " + Files.readString(stderrFile)
                        + "; server saw joins " + server.joins() + " rejected " + server.rejectedUpgrades() + "; ours joined " + ours.joins.get(), e);
            }

            List<String> events = List.of("run:started", "step:search:started", "step:search:completed",
                    "step:analyze:started", "step:analyze:completed", "run:completed");
            IntStream.range(0, BROADCASTS).forEach(i -> server.broadcast("realtime:" + CHANNEL, events.get(i),
                    JSON.createObjectNode().put("event_type", events.get(i)).put("n", i).put("note", "«ü» ✓")));

            assertThat(node.waitFor(30, TimeUnit.SECONDS)).isTrue();
            reader.join(5000);
            String stderr = Files.readString(stderrFile);
            assertThat(node.exitValue()).as("realtime-js: %s", stderr).isZero();
            await().atMost(Duration.ofSeconds(5)).until(() -> ours.events.size() == BROADCASTS);

            List<JsonNode> received = fromRealtimeJs.stream().filter(line -> line.has("event")).toList();
            assertThat(received.stream().map(line -> line.path("event").asText()).toList()).containsExactlyElementsOf(events);
            assertThat(ours.events).containsExactlyElementsOf(events);
            for (int i = 0; i < BROADCASTS; i++) {
                assertThat(ours.payloads.get(i)).isEqualTo(received.get(i).path("payload"));
            }
            client.close();
        } finally {
            vertx.close();
        }
    }

    private static JsonNode readJson(String line) {
        try {
            return JSON.readTree(line);
        } catch (Exception e) {
            throw new IllegalStateException("realtime-js printed something that is not JSON: " + line, e);
        }
    }
}
