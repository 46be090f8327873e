package io.github.pgflowchat.llm;

import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.net.URI;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import dev.langchain4j.exception.HttpException;
import dev.langchain4j.exception.TimeoutException;
import dev.langchain4j.http.client.HttpClient;
import dev.langchain4j.http.client.HttpClientBuilder;
import dev.langchain4j.http.client.HttpRequest;
import dev.langchain4j.http.client.SuccessfulHttpResponse;
import dev.langchain4j.http.client.jdk.JdkHttpClient;
import dev.langchain4j.http.client.jdk.JdkHttpClientBuilder;
import dev.langchain4j.http.client.sse.ServerSentEventListener;
import dev.langchain4j.http.client.sse.ServerSentEventListenerUtils;
import dev.langchain4j.http.client.sse.ServerSentEventParser;

/**
 * LangChain4j's JDK HTTP client, except that a streamed response is read on a virtual thread of its own.
 * {@link JdkHttpClient} reads it in a dependent action of {@code sendAsync}'s future, and the JDK runs those on the
 * common ForkJoinPool: each answer in flight held one of its platform threads for as long as the model took, and past
 * the pool's 256 spare threads further answers waited for one (issue 13: 257 pool threads with 702 answers held by
 * the provider). Plain requests (the analysis) are {@link JdkHttpClient}'s own.
 */
final class VirtualThreadHttpClient implements HttpClient {

    private final JdkHttpClient plain;
    private final java.net.http.HttpClient streaming;
    private final Duration readTimeout;

    private VirtualThreadHttpClient(Builder builder) {
        this.plain = builder.jdk.build();
        java.net.http.HttpClient.Builder client = builder.jdk.httpClientBuilder();
        if (builder.jdk.connectTimeout() != null) {
            client.connectTimeout(builder.jdk.connectTimeout());
        }
        this.streaming = client.build();
        this.readTimeout = builder.jdk.readTimeout();
    }

    static Builder builder(java.net.http.HttpClient.Builder client) {
        return new Builder(client);
    }

    @Override
    public SuccessfulHttpResponse execute(HttpRequest request) {
        return plain.execute(request);
    }

    @Override
    public void execute(HttpRequest request, ServerSentEventParser parser, ServerSentEventListener listener) {
        java.net.http.HttpRequest.Builder jdk = java.net.http.HttpRequest.newBuilder(URI.create(request.url()))
                .method(request.method().name(), request.body() == null
                        ? java.net.http.HttpRequest.BodyPublishers.noBody()
                        : java.net.http.HttpRequest.BodyPublishers.ofString(request.body()));
        request.headers().forEach((name, values) -> values.forEach(value -> jdk.header(name, value)));
        if (readTimeout != null) {
            jdk.timeout(readTimeout);
        }
        Thread.ofVirtual().name("model-response").start(() -> stream(jdk.build(), parser, listener));
    }

    private void stream(java.net.http.HttpRequest request, ServerSentEventParser parser, ServerSentEventListener listener) {
        HttpResponse<InputStream> response;
        try {
            response = streaming.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpTimeoutException e) {
            ServerSentEventListenerUtils.ignoringExceptions(() -> listener.onError(new TimeoutException(e)));
            return;
        } catch (IOException | RuntimeException e) {
            ServerSentEventListenerUtils.ignoringExceptions(() -> listener.onError(e));
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ServerSentEventListenerUtils.ignoringExceptions(() -> listener.onError(e));
            return;
        }
        try (InputStream body = response.body()) {
            if (response.statusCode() < 200 || response.statusCode() >= 300) {
                HttpException failure = new HttpException(response.statusCode(), new String(body.readAllBytes(), StandardCharsets.UTF_8));
                ServerSentEventListenerUtils.ignoringExceptions(() -> listener.onError(failure));
                return;
            }
            SuccessfulHttpResponse opened = SuccessfulHttpResponse.builder().statusCode(response.statusCode())
                    .headers(response.headers().map()).build();
            ServerSentEventListenerUtils.ignoringExceptions(() -> listener.onOpen(opened));
            parser.parse(afterFirstByte(body), listener);
            ServerSentEventListenerUtils.ignoringExceptions(listener::onClose);
        } catch (IOException | RuntimeException e) {
            ServerSentEventListenerUtils.ignoringExceptions(() -> listener.onError(e));
        }
    }

    /**
     * The body, once its first byte has come. A parser sets up its reader's buffers as it starts (LangChain4j's, a
     * {@code BufferedReader} over an {@code InputStreamReader}: 24 KiB); a model may take many seconds before its
     * first token, and an answer waited for this way holds one byte instead (issue 13: heap per idle stream).
     */
    private static InputStream afterFirstByte(InputStream body) throws IOException {
        PushbackInputStream first = new PushbackInputStream(body, 1);
        int b = first.read();
        if (b != -1) {
            first.unread(b);
        }
        return first;
    }

    static final class Builder implements HttpClientBuilder {

        private final JdkHttpClientBuilder jdk;

        private Builder(java.net.http.HttpClient.Builder client) {
            this.jdk = JdkHttpClient.builder().httpClientBuilder(client);
        }

        @Override
        public Duration connectTimeout() {
            return jdk.connectTimeout();
        }

        @Override
        public Builder connectTimeout(Duration timeout) {
            jdk.connectTimeout(timeout);
            return this;
        }

        @Override
        public Duration readTimeout() {
            return jdk.readTimeout();
        }

        @Override
        public Builder readTimeout(Duration timeout) {
            jdk.readTimeout(timeout);
            return this;
        }

        @Override
        public VirtualThreadHttpClient build() {
            return new VirtualThreadHttpClient(this);
        }
    }
}
