package io.github.pgflowchat.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-compatible chat completions endpoint on a local socket that streams its answer at a fixed pace: one
 * token every {@code cadenceMs}, each reading {@code t<index>@<System.nanoTime() when written> } so a client in the
 * same JVM knows its latency. It notices a client that closes the connection mid-answer, which MockWebServer does not
 * report. Non-streaming requests (the analysis) get a small JSON completion at once. Answers can be held before their
 * first token, so that a benchmark can keep many streams open and idle, then let them all stream together.
 */
public final class PacedOpenAi implements AutoCloseable {

    private static final String ANALYSIS = "{\\\"intent\\\":\\\"how-to\\\",\\\"keyTerms\\\":[\\\"tests\\\"],\\\"sources\\\":[1],\\\"summary\\\":\\\"x\\\"}";

    private final ServerSocket server;
    private final int tokens;
    private final int cadenceMs;
    private final CountDownLatch clientClosed = new CountDownLatch(1);
    private final AtomicInteger heldAnswers = new AtomicInteger();
    private volatile CountDownLatch answersReleased = new CountDownLatch(0);
    private volatile long lastStreamRequestNanos;

    public PacedOpenAi(int tokens, int cadenceMs) throws IOException {
        this.tokens = tokens;
        this.cadenceMs = cadenceMs;
        this.server = new ServerSocket(0, 1000, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::acceptLoop, "paced-openai");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.getLocalPort() + "/v1";
    }

    /** Counted down when writing the streamed answer failed because the client had closed the connection. */
    public CountDownLatch clientClosed() {
        return clientClosed;
    }

    /** The latency of a token as written by this server, from the moment it arrived ({@link System#nanoTime()}). */
    public static double latencyMillis(String token, long arrivedNanos) {
        return (arrivedNanos - writtenNanos(token)) / 1e6;
    }

    /** {@link System#nanoTime()} when the latest streamed request had been read, body and all. */
    public long lastStreamRequestNanos() {
        return lastStreamRequestNanos;
    }

    /** The moment a token was written by this server ({@link System#nanoTime()}). */
    public static long writtenNanos(String token) {
        String text = token.strip();
        return Long.parseLong(text.substring(text.indexOf('@') + 1));
    }

    /** From now on, streamed answers wait before their first token until {@link #releaseAnswers()}. */
    public void holdAnswers() {
        answersReleased = new CountDownLatch(1);
    }

    /** Streamed answers that started (their response headers are sent) and wait for {@link #releaseAnswers()}. */
    public int heldAnswers() {
        return heldAnswers.get();
    }

    public void releaseAnswers() {
        answersReleased.countDown();
        heldAnswers.set(0);
    }

    @Override
    public void close() throws IOException {
        server.close();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                Thread handler = new Thread(() -> handle(socket), "paced-openai-request");
                handler.setDaemon(true);
                handler.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void handle(Socket socket) {
        try (socket) {
            InputStream in = socket.getInputStream();
            // Content-Length counts bytes, and the prompt is not ASCII: headers and body are read as bytes.
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    return;
                }
                head.write(b);
            }
            int contentLength = 0;
            for (String line : head.toString(StandardCharsets.ISO_8859_1).split("\r\n")) {
                if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                    contentLength = Integer.parseInt(line.substring("content-length:".length()).strip());
                }
            }
            String body = new String(in.readNBytes(contentLength), StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            if (!body.replace(" ", "").contains("\"stream\":true")) {
                byte[] json = ("{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"paced\",\"choices\":[{\"index\":0,"
                        + "\"message\":{\"role\":\"assistant\",\"content\":\"" + ANALYSIS + "\"},\"finish_reason\":\"stop\"}]}")
                        .getBytes(StandardCharsets.UTF_8);
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + json.length
                        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.UTF_8));
                out.write(json);
                out.flush();
                return;
            }
            lastStreamRequestNanos = System.nanoTime();
            out.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            try {
                CountDownLatch released = answersReleased;
                if (released.getCount() > 0) {
                    heldAnswers.incrementAndGet();
                    released.await();
                    // Independent streams are not in step: released answers start spread over one cadence.
                    Thread.sleep(ThreadLocalRandom.current().nextInt(cadenceMs));
                }
                for (int i = 0; i < tokens; i++) {
                    Thread.sleep(cadenceMs);
                    out.write(chunk("{\"content\":\"t" + i + "@" + System.nanoTime() + " \"}", "null"));
                    out.flush();
                }
                out.write(chunk("{}", "\"stop\""));
                out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                clientClosed.countDown();
            }
        } catch (IOException | InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static byte[] chunk(String delta, String finishReason) {
        return ("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"paced\","
                + "\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"finish_reason\":" + finishReason + "}]}\n\n")
                .getBytes(StandardCharsets.UTF_8);
    }
}
