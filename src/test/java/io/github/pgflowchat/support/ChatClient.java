package io.github.pgflowchat.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Talks to a running gateway over real HTTP, the way a browser's useChat does, and reads SSE streams to the end. */
public final class ChatClient {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String baseUrl;
    private final String authorization;

    public ChatClient(int port) {
        this(port, null);
    }

    /** A client that sends {@code Authorization: Bearer <token>} with every request. */
    public ChatClient(int port, String bearerToken) {
        this.baseUrl = "http://127.0.0.1:" + port;
        this.authorization = bearerToken == null ? null : "Bearer " + bearerToken;
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(20));
        return authorization == null ? request : request.header("Authorization", authorization);
    }

    public record StreamResponse(int status, Map<String, List<String>> headers, List<SseEvent> events, List<String> comments) {

        public String header(String name) {
            return headers.getOrDefault(name.toLowerCase(), List.of()).stream().findFirst().orElse(null);
        }

        public List<JsonNode> chunks() {
            return events.stream().filter(e -> e.json() != null).map(SseEvent::json).toList();
        }

        public List<String> types() {
            return chunks().stream().map(c -> c.path("type").asText()).toList();
        }

        public List<JsonNode> chunksOfType(String type) {
            return chunks().stream().filter(c -> type.equals(c.path("type").asText())).toList();
        }

        public String text() {
            StringBuilder text = new StringBuilder();
            chunksOfType("text-delta").forEach(c -> text.append(c.path("delta").asText()));
            return text.toString();
        }

        public String runId() {
            return chunksOfType("data-run").get(0).path("data").path("runId").asText();
        }
    }

    public record JsonResponse(int status, JsonNode body, Map<String, List<String>> headers) {
    }

    /** The body DefaultChatTransport sends for a new user message. */
    public static String chatBody(String chatId, String question) {
        return JSON.createObjectNode()
                .put("id", chatId)
                .put("trigger", "submit-message")
                .set("messages", JSON.createArrayNode().add(JSON.createObjectNode()
                        .put("id", "user-" + chatId)
                        .put("role", "user")
                        .set("parts", JSON.createArrayNode().add(JSON.createObjectNode().put("type", "text").put("text", question)))))
                .toString();
    }

    public StreamResponse postChat(String body) throws IOException, InterruptedException {
        return postChat(body, event -> { });
    }

    /** Reads the whole stream, telling {@code onEvent} about each event and comment as soon as it arrives. */
    public StreamResponse postChat(String body, Consumer<SseEvent> onEvent) throws IOException, InterruptedException {
        return readStream(jsonPost("/api/chat", body), onEvent);
    }

    private HttpRequest jsonPost(String path, String body) {
        return request(path)
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    /** A POST without a body that answers with a stream (e.g. retrying a run). */
    public StreamResponse postStream(String path) throws IOException, InterruptedException {
        return readStream(request(path).timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.noBody()).build(), event -> { });
    }

    /** {@code GET /api/chat/{chatId}/stream}, as useChat's resume calls it; {@code lastEventId} may be null. */
    public StreamResponse resume(String chatId, String lastEventId) throws IOException, InterruptedException {
        HttpRequest.Builder request = request("/api/chat/" + chatId + "/stream").timeout(Duration.ofSeconds(60)).GET();
        if (lastEventId != null) {
            request.header("Last-Event-ID", lastEventId);
        }
        return readStream(request.build(), event -> { });
    }

    private StreamResponse readStream(HttpRequest request, Consumer<SseEvent> onEvent) throws IOException, InterruptedException {
        HttpResponse<Stream<String>> response = http.send(request, HttpResponse.BodyHandlers.ofLines());
        SseLines sse = new SseLines(onEvent, response.statusCode() == 200);
        try (Stream<String> lines = response.body()) {
            lines.forEach(sse::accept);
        }
        return new StreamResponse(response.statusCode(), response.headers().map(), sse.events(), sse.comments());
    }

    /**
     * {@link #postChat(String, Consumer)} without a thread waiting on it: the stream is read by the HTTP client's own
     * event handling, so one process can hold a thousand streams open. {@code onEvent} runs on the client's threads.
     */
    public CompletableFuture<StreamResponse> postChatAsync(String body, Consumer<SseEvent> onEvent) {
        return postStreamAsync("/api/chat", body, onEvent);
    }

    /**
     * Sends a chat and returns once its answer has begun (a {@code text-delta} has come), with the stream going on;
     * the future completes when it ends. Fails if no answer text comes within {@code timeout}.
     */
    public CompletableFuture<StreamResponse> postChatUntilAnswering(String body, Duration timeout) throws InterruptedException {
        CountDownLatch answering = new CountDownLatch(1);
        CompletableFuture<StreamResponse> stream = postChatAsync(body, event -> {
            if ("text-delta".equals(event.type())) {
                answering.countDown();
            }
        });
        if (!answering.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            stream.cancel(true);
            throw new IllegalStateException("no answer text came within " + timeout);
        }
        return stream;
    }

    /** Any JSON POST answered with an SSE stream, read as {@link #postChatAsync} reads a chat. */
    public CompletableFuture<StreamResponse> postStreamAsync(String path, String body, Consumer<SseEvent> onEvent) {
        return http.sendAsync(jsonPost(path, body), info -> {
            SseLines sse = new SseLines(onEvent, info.statusCode() == 200);
            return HttpResponse.BodySubscribers.fromLineSubscriber(new LineSubscriber(sse), subscriber -> sse, StandardCharsets.UTF_8, null);
        }).thenApply(response -> new StreamResponse(response.statusCode(), response.headers().map(),
                response.body().events(), response.body().comments()));
    }

    /** Hands each line to the parser; the response's future reports the end of the body and any error. */
    private record LineSubscriber(SseLines sse) implements Flow.Subscriber<String> {
        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(String line) {
            sse.accept(line);
        }

        @Override
        public void onError(Throwable error) {
        }

        @Override
        public void onComplete() {
        }
    }

    /** The body of a refused request, which is JSON rather than a stream. */
    public JsonResponse postChatExpectingError(String contentType, String body) throws IOException, InterruptedException {
        HttpRequest.Builder request = request("/api/chat").POST(HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        return new JsonResponse(response.statusCode(), readJson(response.body()), response.headers().map());
    }

    public JsonResponse postJson(String path, String body) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(request(path)
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        return new JsonResponse(response.statusCode(), readJson(response.body()), response.headers().map());
    }

    public record TextResponse(int status, String body, Map<String, List<String>> headers) {

        public String header(String name) {
            return headers.getOrDefault(name.toLowerCase(), List.of()).stream().findFirst().orElse(null);
        }
    }

    /** A GET whose answer is not JSON: the chat page, its assets, a document's text. */
    public TextResponse getText(String path) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
        return new TextResponse(response.statusCode(), response.body(), response.headers().map());
    }

    public JsonResponse delete(String path) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(request(path).DELETE().build(), HttpResponse.BodyHandlers.ofString());
        return new JsonResponse(response.statusCode(), response.body().isEmpty() ? null : readJson(response.body()), response.headers().map());
    }

    public JsonResponse get(String path) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(request(path).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        return new JsonResponse(response.statusCode(), readJson(response.body()), response.headers().map());
    }

    static JsonNode readJson(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }
}
