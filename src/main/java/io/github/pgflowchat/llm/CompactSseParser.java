package io.github.pgflowchat.llm;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import dev.langchain4j.http.client.sse.DefaultServerSentEventParsingHandle;
import dev.langchain4j.http.client.sse.ServerSentEvent;
import dev.langchain4j.http.client.sse.ServerSentEventContext;
import dev.langchain4j.http.client.sse.ServerSentEventListener;
import dev.langchain4j.http.client.sse.ServerSentEventListenerUtils;
import dev.langchain4j.http.client.sse.ServerSentEventParser;
import dev.langchain4j.http.client.sse.ServerSentEventParsingHandle;

/**
 * The provider's server-sent events, parsed as LangChain4j's {@code DefaultServerSentEventParser} does (a blank line
 * ends an event; {@code event:} names it; {@code data:} lines, trimmed, are joined by newlines; other lines are
 * ignored; a line ends at LF, CR or CRLF), but with a few hundred bytes of buffer per answer instead of that parser's
 * {@code BufferedReader} and {@code InputStreamReader} (a {@code char[8192]} and a {@code byte[8192]}): an answer the
 * model has not started yet keeps its reader waiting, and 2,000 of them at once held 48 KiB each in those two
 * (issue 13). Each line's bytes are decoded as UTF-8 once the line is complete, so a character split across two reads
 * is decoded whole.
 */
final class CompactSseParser implements ServerSentEventParser {

    private static final int READ_SIZE = 512;

    @Override
    public void parse(InputStream body, ServerSentEventListener listener) {
        ServerSentEventParsingHandle handle = new DefaultServerSentEventParsingHandle(body);
        ServerSentEventContext context = new ServerSentEventContext(handle);
        byte[] read = new byte[READ_SIZE];
        byte[] line = new byte[128];
        int lineLength = 0;
        boolean afterCr = false;
        String event = null;
        StringBuilder data = new StringBuilder();
        try (body) {
            int n;
            while (!handle.isCancelled() && (n = body.read(read)) != -1) {
                for (int i = 0; i < n && !handle.isCancelled(); i++) {
                    byte b = read[i];
                    if (b == '\n' && afterCr) {
                        afterCr = false;
                        continue;
                    }
                    afterCr = b == '\r';
                    if (b != '\n' && b != '\r') {
                        if (lineLength == line.length) {
                            line = Arrays.copyOf(line, line.length * 2);
                        }
                        line[lineLength++] = b;
                        continue;
                    }
                    String text = new String(line, 0, lineLength, StandardCharsets.UTF_8);
                    lineLength = 0;
                    if (line.length > 1024) {
                        line = new byte[128];
                    }
                    if (text.isEmpty()) {
                        if (!data.isEmpty()) {
                            dispatch(listener, new ServerSentEvent(event, data.toString()), context);
                            event = null;
                            data.setLength(0);
                        }
                    } else if (text.startsWith("event:")) {
                        event = text.substring("event:".length()).trim();
                    } else if (text.startsWith("data:")) {
                        if (!data.isEmpty()) {
                            data.append('\n');
                        }
                        data.append(text.substring("data:".length()).trim());
                    }
                }
            }
            if (!handle.isCancelled()) {
                if (lineLength > 0) {
                    String text = new String(line, 0, lineLength, StandardCharsets.UTF_8);
                    if (text.startsWith("event:")) {
                        event = text.substring("event:".length()).trim();
                    } else if (text.startsWith("data:")) {
                        if (!data.isEmpty()) {
                            data.append('\n');
                        }
                        data.append(text.substring("data:".length()).trim());
                    }
                }
                if (!data.isEmpty()) {
                    dispatch(listener, new ServerSentEvent(event, data.toString()), context);
                }
            }
        } catch (IOException e) {
            ServerSentEventListenerUtils.ignoringExceptions(() -> listener.onError(e));
        }
    }

    private static void dispatch(ServerSentEventListener listener, ServerSentEvent event, ServerSentEventContext context) {
        ServerSentEventListenerUtils.ignoringExceptions(() -> listener.onEvent(event, context));
    }
}
