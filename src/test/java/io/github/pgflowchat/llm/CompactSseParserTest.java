package io.github.pgflowchat.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.langchain4j.http.client.sse.DefaultServerSentEventParser;
import dev.langchain4j.http.client.sse.ServerSentEvent;
import dev.langchain4j.http.client.sse.ServerSentEventContext;
import dev.langchain4j.http.client.sse.ServerSentEventListener;
import dev.langchain4j.http.client.sse.ServerSentEventParser;

class CompactSseParserTest {

    private static final String STREAM = "data: {\"choices\":[{\"delta\":{\"content\":\"Grüße \uD83D\uDE00\"}}]}\n\n"
            + ": a comment\r\n"
            + "event: message\r\ndata: one\r\ndata:  two \r\n\r\n"
            + "\n\n\n"
            + "id: 7\rretry: 10\rdata: after CR\r\r"
            + "data: " + "x".repeat(5000) + "\n\n"
            + "data: [DONE]\n\n"
            + "event: trailing\ndata: no blank line at the end";

    @Test
    void readsTheSameEventsAsLangChain4jsParserWhateverTheReadSizes() {
        List<String> expected = parse(new DefaultServerSentEventParser(), new ByteArrayInputStream(bytes()));
        assertThat(expected).hasSize(6);
        assertThat(expected.get(1)).isEqualTo("message|one\ntwo");

        assertThat(parse(new CompactSseParser(), new ByteArrayInputStream(bytes()))).isEqualTo(expected);
        assertThat(parse(new CompactSseParser(), new OneByteAtATime(bytes()))).isEqualTo(expected);
    }

    @Test
    void aCancelledParseStopsAtTheEventThatCancelledIt() {
        List<String> seen = new ArrayList<>();
        new CompactSseParser().parse(new ByteArrayInputStream(bytes()), new ServerSentEventListener() {
            @Override
            public void onEvent(ServerSentEvent event, ServerSentEventContext context) {
                seen.add(event.data());
                context.parsingHandle().cancel();
            }

            @Override
            public void onError(Throwable error) {
                seen.add("error");
            }
        });
        assertThat(seen).containsExactly("{\"choices\":[{\"delta\":{\"content\":\"Grüße \uD83D\uDE00\"}}]}");
    }

    @Test
    void aFailedReadIsReportedAsAnError() {
        List<Throwable> errors = new ArrayList<>();
        new CompactSseParser().parse(new InputStream() {
            @Override
            public int read() throws IOException {
                throw new IOException("connection reset");
            }
        }, new ServerSentEventListener() {
            @Override
            public void onError(Throwable error) {
                errors.add(error);
            }
        });
        assertThat(errors).singleElement().extracting(Throwable::getMessage).isEqualTo("connection reset");
    }

    private static byte[] bytes() {
        return STREAM.getBytes(StandardCharsets.UTF_8);
    }

    private static List<String> parse(ServerSentEventParser parser, InputStream in) {
        List<String> events = new ArrayList<>();
        parser.parse(in, new ServerSentEventListener() {
            @Override
            public void onEvent(ServerSentEvent event) {
                events.add(event.event() == null ? event.data() : event.event() + "|" + event.data());
            }

            @Override
            public void onError(Throwable error) {
                events.add("error: " + error);
            }
        });
        return events;
    }

    private static final class OneByteAtATime extends InputStream {
        private final ByteArrayInputStream in;

        OneByteAtATime(byte[] bytes) {
            this.in = new ByteArrayInputStream(bytes);
        }

        @Override
        public int read() {
            return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) {
            return in.read(b, off, Math.min(len, 1));
        }
    }
}
