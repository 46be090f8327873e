package io.github.pgflowchat.bench;

import java.util.concurrent.atomic.AtomicInteger;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * An OpenAI-compatible chat completions endpoint on Vert.x, so that it holds thousands of answers without a thread
 * each. A streamed request ({@code "stream": true}) gets its response headers at once, then nothing for
 * {@link #hold(long)} milliseconds, then {@code tokens} {@code chat.completion.chunk} events {@code cadenceMs} apart,
 * the last chunk's {@code finish_reason} and {@code data: [DONE]}, as OpenAI streams. A request without streaming
 * (the analysis) gets its JSON completion at once.
 */
final class HeldOpenAi implements AutoCloseable {

    private static final String ANALYSIS = "{\"intent\":\"how-to\",\"keyTerms\":[\"tests\"],\"sources\":[1],\"summary\":\"x\"}";

    private final Vertx vertx;
    private final HttpServer server;
    private final int tokens;
    private final int cadenceMs;
    private final AtomicInteger held = new AtomicInteger();
    private final AtomicInteger released = new AtomicInteger();
    private final AtomicInteger streamed = new AtomicInteger();
    private final AtomicInteger closedEarly = new AtomicInteger();
    private volatile long holdMs;

    HeldOpenAi(Vertx vertx, int tokens, int cadenceMs) throws Exception {
        this.vertx = vertx;
        this.tokens = tokens;
        this.cadenceMs = cadenceMs;
        this.server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0).setAcceptBacklog(4096))
                .requestHandler(this::handle);
        server.listen().toCompletionStage().toCompletableFuture().get();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.actualPort() + "/v1";
    }

    /** Streamed answers that arrive from now on wait this long before their first token. */
    void hold(long millis) {
        holdMs = millis;
    }

    /** Streamed answers whose headers are sent and which wait for their first token. */
    int held() {
        return held.get();
    }

    /** Streamed answers whose hold has ended (they are streaming or done). */
    int released() {
        return released.get();
    }

    /** Streamed requests received. */
    int streamed() {
        return streamed.get();
    }

    /** Streamed answers whose connection the gateway closed before [DONE]. */
    int closedEarly() {
        return closedEarly.get();
    }

    void resetCounts() {
        released.set(0);
        streamed.set(0);
        closedEarly.set(0);
    }

    @Override
    public void close() throws Exception {
        server.close().toCompletionStage().toCompletableFuture().get();
    }

    private void handle(HttpServerRequest request) {
        if (!request.path().endsWith("/chat/completions")) {
            request.response().setStatusCode(404).end();
            return;
        }
        request.body().onSuccess(buffer -> {
            JsonObject body = buffer.toJsonObject();
            String model = body.getString("model", "bench");
            if (!body.getBoolean("stream", false)) {
                JsonObject completion = new JsonObject().put("id", "chatcmpl-held").put("object", "chat.completion")
                        .put("created", 1_764_000_000L).put("model", model)
                        .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("finish_reason", "stop")
                                .put("message", new JsonObject().put("role", "assistant").put("content", ANALYSIS))))
                        .put("usage", new JsonObject().put("prompt_tokens", 50).put("completion_tokens", 20).put("total_tokens", 70));
                request.response().putHeader("Content-Type", "application/json").end(completion.encode());
                return;
            }
            streamed.incrementAndGet();
            HttpServerResponse response = request.response().setChunked(true)
                    .putHeader("Content-Type", "text/event-stream").putHeader("Cache-Control", "no-cache");
            response.writeHead();
            boolean[] ended = {false};
            response.closeHandler(closed -> {
                if (!ended[0]) {
                    closedEarly.incrementAndGet();
                }
            });
            held.incrementAndGet();
            vertx.setTimer(Math.max(1, holdMs), timer -> {
                held.decrementAndGet();
                released.incrementAndGet();
                writeToken(response, model, 0, ended);
            });
        }).onFailure(failure -> request.response().setStatusCode(400).end());
    }

    private void writeToken(HttpServerResponse response, String model, int index, boolean[] ended) {
        if (response.closed()) {
            return;
        }
        JsonObject choice = new JsonObject().put("index", 0);
        if (index < tokens) {
            JsonObject delta = new JsonObject().put("content", "t" + index + " ");
            if (index == 0) {
                delta.put("role", "assistant");
            }
            choice.put("delta", delta).putNull("finish_reason");
        } else {
            choice.put("delta", new JsonObject()).put("finish_reason", "stop");
        }
        JsonObject chunk = new JsonObject().put("id", "chatcmpl-held").put("object", "chat.completion.chunk")
                .put("created", 1_764_000_000L).put("model", model).put("choices", new JsonArray().add(choice));
        response.write("data: " + chunk.encode() + "\n\n");
        if (index < tokens) {
            vertx.setTimer(cadenceMs, timer -> writeToken(response, model, index + 1, ended));
        } else {
            ended[0] = true;
            response.end("data: [DONE]\n\n");
        }
    }
}
