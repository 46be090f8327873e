package io.github.pgflowchat.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import io.vertx.core.Vertx;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Answers in flight at once are not bounded by the provider's HTTP/2 stream limit. A server that speaks HTTP/2
 * (here cleartext, h2c, as Vert.x and others accept by default; hosted APIs over TLS) says how many streams one
 * connection may carry (SETTINGS_MAX_CONCURRENT_STREAMS, often 100 to 256), and the JDK client fails a request past
 * it ("too many concurrent streams") rather than open another connection. Each answer streams for as long as the
 * model takes, so a busy instance would fail every answer past the limit.
 */
class ConcurrentAnswersTest {

    /** Vert.x's default, which it also advertises on a connection upgraded from HTTP/1.1 (h2c). */
    private static final int STREAM_LIMIT = 100;
    private static final int ANSWERS = STREAM_LIMIT + 10;

    private final Vertx vertx = Vertx.vertx();
    private final List<HttpServerResponse> held = new ArrayList<>();
    private final AtomicInteger protocols = new AtomicInteger();
    private final AtomicInteger connections = new AtomicInteger();
    private HttpServer server;

    @BeforeEach
    void startProvider() throws Exception {
        // Every answer is held until all of them are in flight, so that they are open at the same time.
        server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0)
                        .setInitialSettings(new Http2Settings().setMaxConcurrentStreams(STREAM_LIMIT)))
                .connectionHandler(connection -> connections.incrementAndGet())
                .requestHandler(request -> request.body().onSuccess(body -> {
                    if (request.version() == io.vertx.core.http.HttpVersion.HTTP_2) {
                        protocols.incrementAndGet();
                    }
                    HttpServerResponse response = request.response().setChunked(true).putHeader("Content-Type", "text/event-stream");
                    response.writeHead();
                    held.add(response);
                    // Vert.x runs this handler on its event loop, one request at a time.
                    if (held.size() == ANSWERS) {
                        held.forEach(ConcurrentAnswersTest::answer);
                    }
                }));
        server.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void stopProvider() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void moreAnswersAtOnceThanTheProvidersStreamLimitAllComplete() throws Exception {
        LlmProperties properties = new LlmProperties("openai",
                new LlmProperties.OpenAi("key", "http://127.0.0.1:" + server.actualPort() + "/v1", "answer-model", Duration.ofSeconds(20)),
                new LlmProperties.Analysis("", "", "", "none"), new LlmProperties.Offline(Duration.ZERO));
        // The provider is configured, so the offline model and its embeddings are not used.
        StreamingChatModel model = new LlmConfiguration().answerModel(properties, null);

        List<CompletableFuture<String>> answers = new ArrayList<>();
        for (int i = 0; i < ANSWERS; i++) {
            answers.add(ask(model));
            // The first request would be the one that upgrades its connection to HTTP/2, which the others then share.
            Thread.sleep(i == 0 ? 2000 : 10);
        }

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!answers.stream().allMatch(CompletableFuture::isDone) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        List<String> failed = answers.stream().filter(CompletableFuture::isCompletedExceptionally)
                .map(answer -> answer.exceptionNow().toString()).distinct().toList();
        assertThat(failed).as("answers that failed, over %d connection(s)", connections.get()).isEmpty();
        for (CompletableFuture<String> answer : answers) {
            assertThat(answer.getNow("not done within 20 s")).isEqualTo("hello");
        }
        // The JDK runs sendAsync's dependent actions on the common ForkJoinPool, a platform thread each for as long as
        // the answer lasts, and at most 256 of them.
        assertThat(readOnPlatformThreads.get()).as("answers read on a platform thread").isZero();
        assertThat(protocols.get()).as("answers that came over HTTP/2, which can carry only %d at once", STREAM_LIMIT).isZero();
    }

    private final AtomicInteger readOnPlatformThreads = new AtomicInteger();

    private CompletableFuture<String> ask(StreamingChatModel model) {
        CompletableFuture<String> answer = new CompletableFuture<>();
        StringBuilder text = new StringBuilder();
        // The call reads the answer on the caller's thread when its response has arrived before it returns, as the
        // respond step's task does on a virtual thread of its own.
        Thread.startVirtualThread(() -> model.chat(List.of(UserMessage.from("Hi")), new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                if (!Thread.currentThread().isVirtual()) {
                    readOnPlatformThreads.incrementAndGet();
                }
                text.append(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                answer.complete(text.toString());
            }

            @Override
            public void onError(Throwable error) {
                answer.completeExceptionally(error);
            }
        }));
        return answer;
    }

    private static void answer(HttpServerResponse response) {
        response.write("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
                + "\"delta\":{\"role\":\"assistant\",\"content\":\"hello\"},\"finish_reason\":null}]}\n\n");
        response.write("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
                + "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
        response.end("data: [DONE]\n\n");
    }
}
