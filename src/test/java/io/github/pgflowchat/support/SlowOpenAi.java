package io.github.pgflowchat.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;

/**
 * An OpenAI-compatible chat completions endpoint on a local socket that streams its answer slowly (one chunk every
 * 100 ms, for a minute) and notices when the client closes the connection, which MockWebServer does not report.
 * Non-streaming requests (the analysis) get a small JSON completion at once.
 */
public final class SlowOpenAi implements AutoCloseable {

    private static final String ANALYSIS = "{\\\"intent\\\":\\\"how-to\\\",\\\"keyTerms\\\":[\\\"tests\\\"],\\\"sources\\\":[1],\\\"summary\\\":\\\"x\\\"}";

    private final ServerSocket server;
    private final CountDownLatch streamStarted = new CountDownLatch(1);
    private final CountDownLatch clientClosed = new CountDownLatch(1);
    private final Thread acceptor;

    public SlowOpenAi() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(this::acceptLoop, "slow-openai");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.getLocalPort() + "/v1";
    }

    public CountDownLatch streamStarted() {
        return streamStarted;
    }

    /** Counted down when writing the streamed answer failed because the client had closed the connection. */
    public CountDownLatch clientClosed() {
        return clientClosed;
    }

    @Override
    public void close() throws IOException {
        server.close();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                Thread handler = new Thread(() -> handle(socket), "slow-openai-request");
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
                if (line.toLowerCase().startsWith("content-length:")) {
                    contentLength = Integer.parseInt(line.substring("content-length:".length()).strip());
                }
            }
            String body = new String(in.readNBytes(contentLength), StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            if (!body.replace(" ", "").contains("\"stream\":true")) {
                String json = "{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"slow\",\"choices\":[{\"index\":0,"
                        + "\"message\":{\"role\":\"assistant\",\"content\":\"" + ANALYSIS + "\"},\"finish_reason\":\"stop\"}]}";
                byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length
                        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.UTF_8));
                out.write(bytes);
                out.flush();
                return;
            }
            out.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            streamStarted.countDown();
            try {
                for (int i = 0; i < 600; i++) {
                    String chunk = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"slow\","
                            + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word" + i + " \"},\"finish_reason\":null}]}\n\n";
                    out.write(chunk.getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    Thread.sleep(100);
                }
            } catch (IOException e) {
                clientClosed.countDown();
            }
        } catch (IOException | InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
