package io.github.pgflowchat.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.RawHttp;

/**
 * The edges of the HTTP API, spoken to over a raw socket where a client library would hide them: bodies are bounded
 * while they are read (a 200 MiB chunked body is refused after a few MiB, on every route), and whatever refuses a
 * request (a route, Spring, Tomcat itself) answers in the one JSON error format.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpEdgesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long HUGE = 200L * 1024 * 1024;

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    private final ExecutorService senders = Executors.newCachedThreadPool();

    @AfterAll
    void stopSenders() {
        senders.shutdownNow();
    }

    private long runs() {
        return jdbc.queryForObject("select count(*) from pgflow.runs", Long.class);
    }

    private long documents() {
        return jdbc.queryForObject("select count(*) from public.documents", Long.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/api/chat", "/api/chat/some-chat/stop", "/api/documents"})
    void aChunkedBodyOf200MiBIsRefusedWith413LongBeforeItIsAllSent(String path) throws Exception {
        long runsBefore = runs();
        long documentsBefore = documents();

        RawResponse response = exchange("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n", HUGE);

        assertThat(response.status()).isEqualTo(413);
        assertThat(response.json().path("error").path("code").asText()).isEqualTo("body_too_large");
        assertThat(response.bodyFullySent()).as("the server stopped reading and closed the connection").isFalse();
        // What is in flight at most: the path's limit (4 MiB at most), Tomcat's swallow and both sockets' buffers.
        assertThat(response.bytesSent()).isLessThan(32L * 1024 * 1024);
        assertThat(runs()).isEqualTo(runsBefore);
        assertThat(documents()).isEqualTo(documentsBefore);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/api/chat", "/api/chat/some-chat/stop", "/api/documents", "/api/runs/00000000-0000-0000-0000-000000000000/retry"})
    void aDeclaredLengthOverTheLimitIsRefusedBeforeAnyOfTheBodyIsSent(String path) throws Exception {
        RawResponse response = exchange("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + HUGE + "\r\n\r\n", 0);

        assertThat(response.status()).isEqualTo(413);
        assertThat(response.json().path("error").path("code").asText()).isEqualTo("body_too_large");
    }

    @Test
    void aChunkedBodyWithinTheLimitReachesTheRouteWhole() throws Exception {
        byte[] body = ChatClient.chatBody("chat-chunked", "How do I run the tests?").getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> chat = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/chat"))
                .header("Content-Type", "application/json")
                // A body from a stream has no length: the client sends it chunked.
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body)))
                .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(chat.statusCode()).isEqualTo(200);
        assertThat(chat.body()).contains("\"type\":\"finish\"").endsWith("data: [DONE]\n\n");
    }

    @Test
    void trailerHeadersOverTheirLimitAreRefusedWith400InJson() throws Exception {
        String trailer = "X-Checksum: " + "a".repeat(2048) + "\r\n";
        RawResponse response = exchange("POST /api/chat/no-such-chat/stop HTTP/1.1\r\nHost: localhost\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n" + trailer + "\r\n", 0);

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().path("error").path("code").asText()).isEqualTo("bad_request");
    }

    @Test
    void anEmptyChunkedBodyIsAnEmptyBody() throws Exception {
        RawResponse response = exchange("POST /api/chat/no-such-chat/stop HTTP/1.1\r\nHost: localhost\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", 0);

        assertThat(response.status()).as("nothing is streaming in that chat").isEqualTo(204);
    }

    @Test
    void aDocumentMayBeLargerThanAChatRequest() throws Exception {
        // 600,000 characters of two UTF-8 bytes each: over the chat's 1 MiB, within the documents' limit.
        String content = "# Large\n\n" + "é".repeat(600_000);
        String body = JSON.createObjectNode().put("source", "large.md").put("content", content).toString();

        ChatClient.JsonResponse response = new ChatClient(port).postJson("/api/documents", body);

        assertThat(response.status()).isEqualTo(201);
    }

    @ParameterizedTest
    @CsvSource({
            "GET, /api/nope, 404, not_found",
            "GET, /nope, 404, not_found",
            "DELETE, /api/chat, 405, method_not_allowed",
            "PUT, /api/runs/x, 405, method_not_allowed",
            "GET, /api/chat, 405, method_not_allowed"
    })
    void refusalsOutsideTheRoutesAnswerTheJsonErrorFormat(String method, String path, int status, String code) throws Exception {
        RawResponse response = exchange(method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n", 0);

        assertThat(response.status()).isEqualTo(status);
        assertThat(response.header("content-type")).startsWith("application/json");
        assertThat(response.json().path("error").path("code").asText()).isEqualTo(code);
        assertThat(response.json().path("error").path("message").asText()).isNotBlank();
    }

    @Test
    void headersLargerThanTomcatAcceptsAreRefusedInTheJsonErrorFormat() throws Exception {
        RawResponse response = exchange("GET /api/config HTTP/1.1\r\nHost: localhost\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n", 0);

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.header("content-type")).startsWith("application/json");
        assertThat(response.json().path("error").path("code").asText()).isEqualTo("bad_request");
    }

    @Test
    void aBrokenChunkedBodyIs400InTheJsonErrorFormat() throws Exception {
        RawResponse response = exchange("POST /api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\nnot-a-chunk-size\r\n", 0);

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.header("content-type")).startsWith("application/json");
        assertThat(response.json().path("error").path("code").asText()).isEqualTo("bad_request");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"id\":\"c1\",\"messages\":[{\"id\":\"m\\u0000\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}|invalid_message",
            "{\"id\":\"c1\",\"messages\":[{\"id\":\"m\\ud800\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}|invalid_message",
            "{\"id\":\"c\\udc00\",\"messages\":[{\"id\":\"m1\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}|invalid_id",
            "{\"id\":\"c1\",\"messages\":[{\"id\":\"m1\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"hi\"}]}]} x|invalid_json",
            "{\"id\":\"c1\",\"messages\":[{\"id\":\"m1\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}{}|invalid_json"
    })
    void chatRequestsWithBadIdsOrTrailingBytesAre400AndStartNothing(String body, String code) throws Exception {
        long before = runs();

        ChatClient.JsonResponse response = new ChatClient(port).postChatExpectingError("application/json", body);

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.body().path("error").path("code").asText()).isEqualTo(code);
        assertThat(runs()).isEqualTo(before);
    }

    @Test
    void tenEarlierTurnsOf90000CharactersAre413NamingTheFirst() throws Exception {
        StringBuilder messages = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            messages.append("{\"id\":\"h").append(i).append("\",\"role\":\"").append(i % 2 == 0 ? "user" : "assistant")
                    .append("\",\"parts\":[{\"type\":\"text\",\"text\":\"").append("y".repeat(90_000)).append("\"}]},");
        }
        messages.append("{\"id\":\"q\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"short question\"}]}");
        long before = runs();

        ChatClient.JsonResponse response = new ChatClient(port).postChatExpectingError("application/json",
                "{\"id\":\"chat-long-history\",\"messages\":[" + messages + "]}");

        assertThat(response.status()).isEqualTo(413);
        assertThat(response.body().path("error").path("code").asText()).isEqualTo("message_too_long");
        assertThat(response.body().path("error").path("message").asText()).startsWith("messages[0] ");
        assertThat(runs()).isEqualTo(before);
    }

    @Test
    void aStartedServiceServesTheApiRatherThan503() throws Exception {
        ChatClient.JsonResponse config = new ChatClient(port).get("/api/config");

        assertThat(config.status()).isEqualTo(200);
    }

    private record RawResponse(int status, Map<String, String> headers, String body, long bytesSent, boolean bodyFullySent) {

        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        JsonNode json() throws IOException {
            return JSON.readTree(body);
        }
    }

    /**
     * Sends {@code head}, then (if {@code chunkedBytes} > 0) that many bytes of chunked body made on the fly, while
     * reading the response as it comes. The body is never held by the test: one 8 KiB chunk is written over and over.
     */
    private RawResponse exchange(String head, long chunkedBytes) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            out.write(head.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            AtomicLong sent = new AtomicLong();
            CompletableFuture<Boolean> sender = chunkedBytes == 0 ? CompletableFuture.completedFuture(true)
                    : CompletableFuture.supplyAsync(() -> sendChunks(out, chunkedBytes, sent), senders);
            byte[] raw = RawHttp.readResponse(socket.getInputStream());
            boolean fullySent = sender.get(60, TimeUnit.SECONDS);
            return parse(raw, sent.get(), fullySent);
        }
    }

    private static boolean sendChunks(OutputStream out, long total, AtomicLong sent) {
        byte[] data = new byte[8192];
        Arrays.fill(data, (byte) 'x');
        byte[] size = (Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] end = "\r\n".getBytes(StandardCharsets.US_ASCII);
        try {
            while (sent.get() < total) {
                out.write(size);
                out.write(data);
                out.write(end);
                sent.addAndGet(data.length);
            }
            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return true;
        } catch (IOException closedByServer) {
            return false;
        }
    }

    private static Map<String, String> headers(String head) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
        }
        return Collections.unmodifiableMap(headers);
    }

    private static RawResponse parse(byte[] raw, long bytesSent, boolean fullySent) {
        String text = new String(raw, StandardCharsets.UTF_8);
        int headEnd = text.indexOf("\r\n\r\n");
        assertThat(headEnd).as("a complete response head in: %s", text).isPositive();
        String head = text.substring(0, headEnd);
        int status = Integer.parseInt(head.split(" ", 3)[1]);
        Map<String, String> headers = headers(head);
        String body = text.substring(headEnd + 4);
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = dechunk(body);
        }
        return new RawResponse(status, headers, body, bytesSent, fullySent);
    }

    private static String dechunk(String chunked) {
        StringBuilder body = new StringBuilder();
        int at = 0;
        while (true) {
            int lineEnd = chunked.indexOf("\r\n", at);
            int size = Integer.parseInt(chunked.substring(at, lineEnd).trim(), 16);
            if (size == 0) {
                return body.toString();
            }
            body.append(chunked, lineEnd + 2, lineEnd + 2 + size);
            at = lineEnd + 2 + size + 2;
        }
    }
}
