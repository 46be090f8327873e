package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.github.pgflowchat.web.ApiException;

// A reader blocks in wait(); the timeout interrupts it so a broken stream fails the test instead of hanging the build.
@Timeout(10)
class ChatStreamTest {

    private static final Duration LONG = Duration.ofMinutes(1);
    private static final Duration READ_DEADLINE = Duration.ofSeconds(5);
    private static final String DONE = "data: [DONE]\n\n";

    private final ObjectMapper json = new ObjectMapper();
    private final UUID runId = UUID.fromString("5c0e8f4a-1b2c-4d3e-8f90-123456789abc");

    @Test
    void eventsAreNumberedFromOneAndWrittenAsSseEvents() throws IOException {
        ChatStream stream = stream(LONG, LONG);
        stream.send(UiChunks.start("msg-1", null));
        stream.send(UiChunks.data("run", "run", Map.of("status", "started")));
        stream.send(UiChunks.finish("stop", null));
        stream.end();

        assertThat(readToEnd(stream.reader(0))).isEqualTo(
                "id: 5c0e8f4a-1\ndata: {\"type\":\"start\",\"messageId\":\"msg-1\"}\n\n"
                        + "id: 5c0e8f4a-2\ndata: {\"type\":\"data-run\",\"id\":\"run\",\"data\":{\"status\":\"started\"}}\n\n"
                        + "id: 5c0e8f4a-3\ndata: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\n"
                        + DONE);
    }

    @Test
    void endAppendsDoneThenReadersHitEndOfStreamAndLaterChunksAreDropped() throws IOException {
        ChatStream stream = stream(LONG, LONG);
        stream.send(UiChunks.start("msg-1", null));
        stream.end();
        stream.send(UiChunks.finish("stop", null));
        InputStream reader = stream.reader(0);

        assertThat(nextEvent(reader)).startsWith("id: 5c0e8f4a-1\n");
        assertThat(nextEvent(reader)).isEqualTo(DONE);
        assertThat(reader.read()).isEqualTo(-1);
        assertThat(reader.read(new byte[8], 0, 8)).isEqualTo(-1);
        assertThat(stream.isEnded()).isTrue();
    }

    @Test
    void lateReaderReplaysFromTheStartWhileAnEarlyReaderFollowsLive() throws Exception {
        ChatStream stream = stream(LONG, LONG);
        stream.send(UiChunks.start("msg-1", null));
        InputStream early = stream.reader(0);
        assertThat(nextEvent(early)).startsWith("id: 5c0e8f4a-1\n");
        // The early reader now has to wait for events the test has not sent yet.
        CompletableFuture<String> followed = CompletableFuture.supplyAsync(() -> readToEndUnchecked(early));

        stream.send(UiChunks.textStart("t1"));
        stream.send(UiChunks.textDelta("t1", "Hello"));
        stream.end();

        String rest = followed.get(5, TimeUnit.SECONDS);
        String replayed = readToEnd(stream.reader(0));
        assertThat(rest).startsWith("id: 5c0e8f4a-2\n").contains("id: 5c0e8f4a-3\n").endsWith(DONE);
        assertThat(replayed).startsWith("id: 5c0e8f4a-1\n").endsWith(rest);
    }

    @Test
    void readerFromEventKStartsAfterTheFirstKEvents() throws IOException {
        ChatStream stream = stream(LONG, LONG);
        stream.send(UiChunks.start("msg-1", null));
        stream.send(UiChunks.textStart("t1"));
        stream.send(UiChunks.textEnd("t1"));
        stream.end();

        assertThat(readToEnd(stream.reader(2)))
                .isEqualTo("id: 5c0e8f4a-3\ndata: {\"type\":\"text-end\",\"id\":\"t1\"}\n\n" + DONE);
    }

    @Test
    void waitingReaderGetsAKeepAliveCommentThenTheNextEvent() throws IOException {
        ChatStream stream = stream(Duration.ofMillis(50), LONG);
        InputStream reader = stream.reader(0);

        assertThat(nextEvent(reader)).isEqualTo(": keep-alive\n\n");
        stream.send(UiChunks.start("msg-1", null));
        assertThat(nextEvent(reader)).isEqualTo("id: 5c0e8f4a-1\ndata: {\"type\":\"start\",\"messageId\":\"msg-1\"}\n\n");
        stream.end();
        assertThat(nextEvent(reader)).isEqualTo(DONE);
    }

    @Test
    void streamPastItsMaximumDurationEndsWithAnErrorNamingTheRun() throws IOException {
        ChatStream stream = stream(LONG, Duration.ofMillis(100));
        stream.send(UiChunks.start("msg-1", null));

        List<String> events = events(readToEnd(stream.reader(0)));

        assertThat(events).hasSize(3);
        assertThat(events.get(2)).isEqualTo(DONE);
        JsonNode error = data(events.get(1));
        assertThat(error.path("type").asText()).isEqualTo("error");
        assertThat(error.path("errorText").asText()).contains(runId.toString());
        assertThat(stream.isEnded()).isTrue();
    }

    @Test
    void failWhileTextIsOpenEndsTheTextPartBeforeTheError() throws IOException {
        ChatStream stream = stream(LONG, LONG);
        stream.sendText("t1", "Hel");
        stream.sendText("t1", "lo");
        stream.fail("Step 'respond' failed");

        List<JsonNode> chunks = chunks(stream);

        assertThat(chunks).extracting(c -> c.path("type").asText())
                .containsExactly("text-start", "text-delta", "text-delta", "text-end", "error");
        assertThat(chunks.get(3).path("id").asText()).isEqualTo("t1");
        assertThat(chunks.get(4).path("errorText").asText()).isEqualTo("Step 'respond' failed");
    }

    @Test
    void textWithANewIdClosesThePreviousTextPart() throws IOException {
        ChatStream stream = stream(LONG, LONG);
        stream.sendText("t1", "first try");
        stream.sendText("t2", "second try");
        stream.closeText();
        stream.end();

        List<JsonNode> chunks = chunks(stream);

        assertThat(chunks).extracting(c -> c.path("type").asText() + " " + c.path("id").asText())
                .containsExactly("text-start t1", "text-delta t1", "text-end t1", "text-start t2", "text-delta t2",
                        "text-end t2");
        assertThat(chunks.get(4).path("delta").asText()).isEqualTo("second try");
        assertThat(stream.hasText()).isTrue();
    }

    @Test
    void theMessageIsWhatAClientThatReadEveryEventHolds() throws IOException {
        ChatStream stream = stream(LONG, LONG);
        stream.send(UiChunks.start("msg-1", Map.of("runId", "r-1")));
        stream.updateStep("search", Map.of("status", "started"));
        stream.send(UiChunks.sourceDocument("doc-1", "text/markdown", "Pricing", "pricing.md", Map.of()));
        stream.updateStep("search", Map.of("status", "completed"));
        stream.send(UiChunks.startStep());
        stream.sendText("t1", "Plans start ");
        stream.sendText("t1", "at 10 €.");
        stream.closeText();
        stream.send(UiChunks.finishStep());
        stream.send(UiChunks.data("note", null, Map.of("said", "a part of its own")));
        stream.send(UiChunks.finish("stop", Map.of("model", "offline")));

        JsonNode expected = json.readTree("""
                {"id": "msg-1", "role": "assistant", "metadata": {"runId": "r-1", "model": "offline"}, "parts": [
                  {"type": "data-step", "id": "step-search", "data": {"step": "search", "status": "completed"}},
                  {"type": "source-document", "sourceId": "doc-1", "mediaType": "text/markdown", "title": "Pricing",
                   "filename": "pricing.md", "providerMetadata": {}},
                  {"type": "step-start"},
                  {"type": "text", "text": "Plans start at 10 €.", "state": "done"},
                  {"type": "data-note", "data": {"said": "a part of its own"}}]}
                """);
        assertThat((JsonNode) json.valueToTree(stream.message())).isEqualTo(expected);
        stream.end();
        assertThat((JsonNode) json.valueToTree(stream.message())).isEqualTo(expected);
    }

    @Test
    void stepUpdatesAreResentMergedUnderTheStepPartId() throws IOException {
        ChatStream stream = stream(LONG, LONG);
        stream.updateStep("search", Map.of("status", "waiting"));
        stream.updateStep("analyze", Map.of("status", "waiting"));
        stream.updateStep("search", Map.of("startedAt", "2025-01-01T00:00:00Z"));
        stream.updateStep("search", Map.of("status", "completed"));
        stream.end();

        List<JsonNode> chunks = chunks(stream);

        assertThat(chunks).extracting(c -> c.path("id").asText())
                .containsExactly("step-search", "step-analyze", "step-search", "step-search");
        assertThat(chunks.get(3).path("type").asText()).isEqualTo("data-step");
        assertThat(chunks.get(3).path("data")).isEqualTo(json.readTree(
                "{\"step\":\"search\",\"status\":\"completed\",\"startedAt\":\"2025-01-01T00:00:00Z\"}"));
        assertThat(stream.stepValue("search", "status")).isEqualTo("completed");
        assertThat(stream.stepValue("respond", "status")).isNull();
    }

    @Test
    void onEndRunsExactlyOnceHoweverOftenTheStreamIsEnded() {
        ChatStream stream = stream(LONG, LONG);
        AtomicInteger runs = new AtomicInteger();
        stream.onEnd(runs::incrementAndGet);

        stream.end();
        stream.end();
        stream.fail("too late");

        assertThat(runs).hasValue(1);
    }

    @Test
    void waitingForAStepReturnsOnceAnotherThreadShowsItStarted() throws Exception {
        ChatStream stream = stream(LONG, LONG);
        stream.updateStep("respond", Map.of("status", "waiting"));
        Thread waiter = new Thread(() -> {
            try {
                stream.awaitStepStarted("respond", LONG);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });

        waiter.start();
        await().atMost(READ_DEADLINE).until(() -> waiter.getState() == Thread.State.TIMED_WAITING || !waiter.isAlive());
        assertThat(waiter.isAlive()).as("blocked while the step is waiting").isTrue();

        stream.updateStep("respond", Map.of("status", "started"));
        // Far below the wait's own timeout (LONG): only the step's start can have ended the wait.
        waiter.join(READ_DEADLINE.toMillis());
        assertThat(waiter.isAlive()).as("woken by the step's start").isFalse();
    }

    @Test
    void waitingForAStepThatIsNeverShownGivesUpAfterTheTimeout() throws Exception {
        ChatStream stream = stream(LONG, LONG);
        stream.updateStep("respond", Map.of("status", "waiting"));
        Duration timeout = Duration.ofMillis(200);

        long started = System.nanoTime();
        CompletableFuture<Void> waited = CompletableFuture.runAsync(() -> {
            try {
                stream.awaitStepStarted("respond", timeout);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });

        waited.get(READ_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("waited for the whole timeout").isGreaterThanOrEqualTo(timeout);
        assertThat(stream.stepValue("respond", "status")).isEqualTo("waiting");
    }

    @Test
    void theLastReaderClosingBeforeTheEndMeansTheClientWentAway() throws Exception {
        ChatStream stream = stream(LONG, LONG);
        java.util.concurrent.atomic.AtomicInteger detached = new java.util.concurrent.atomic.AtomicInteger();
        stream.onDetached(detached::incrementAndGet);
        java.io.InputStream first = stream.reader(0);
        java.io.InputStream second = stream.reader(0);

        first.close();
        assertThat(detached.get()).as("another reader is still there").isZero();
        second.close();
        second.close();
        assertThat(detached.get()).isEqualTo(1);

        java.io.InputStream afterEnd = stream.reader(0);
        stream.end();
        afterEnd.close();
        assertThat(detached.get()).as("closing after the end is no disconnect").isEqualTo(1);
    }

    @Test
    void cancellingRunsTheAnswersCancelNowOrAsSoonAsOneStarts() {
        ChatStream stream = stream(LONG, LONG);
        java.util.List<String> cancelled = new java.util.concurrent.CopyOnWriteArrayList<>();

        stream.cancel("stopped by the user");
        stream.whileAnswering(() -> cancelled.add("late"));
        stream.cancel("again");

        assertThat(stream.cancelReason()).isEqualTo("stopped by the user");
        assertThat(cancelled).containsExactly("late");
    }

    @Test
    void aLastEventIdNamesAnEventOfThisStreamOnly() {
        ChatStream stream = stream(LONG, LONG);
        stream.send(UiChunks.start("msg-1", null));
        stream.send(UiChunks.data("run", "run", Map.of("status", "started")));

        assertThat(stream.eventsReadBy("5c0e8f4a-2")).isEqualTo(2);
        assertThat(stream.eventsReadBy("0badc0de-1")).as("an event of another stream: this one is new to the reader").isZero();
        assertThatThrownBy(() -> stream.eventsReadBy("5c0e8f4a-3")).isInstanceOf(ApiException.class)
                .extracting(e -> ((ApiException) e).status()).isEqualTo(400);
        assertThatThrownBy(() -> stream.eventsReadBy("not-an-id")).isInstanceOf(ApiException.class);
    }

    private ChatStream stream(Duration keepAliveInterval, Duration maxDuration) {
        return new ChatStream(runId, "chat-1", "user-1", json, keepAliveInterval, maxDuration);
    }

    /** The JSON of every data event up to {@code [DONE]}. */
    private List<JsonNode> chunks(ChatStream stream) throws IOException {
        List<JsonNode> chunks = new ArrayList<>();
        for (String event : events(readToEnd(stream.reader(0)))) {
            if (!event.equals(DONE)) {
                chunks.add(data(event));
            }
        }
        return chunks;
    }

    private JsonNode data(String event) throws IOException {
        return json.readTree(event.substring(event.indexOf("data: ") + "data: ".length()).strip());
    }

    private static List<String> events(String stream) {
        List<String> events = new ArrayList<>();
        for (String event : stream.split("(?<=\n\n)")) {
            events.add(event);
        }
        return events;
    }

    /** One SSE event or comment, through its blank line; null at the end of the stream. */
    private static String nextEvent(InputStream reader) throws IOException {
        ByteArrayOutputStream event = new ByteArrayOutputStream();
        int b;
        while ((b = reader.read()) != -1) {
            event.write(b);
            String text = event.toString(StandardCharsets.UTF_8);
            if (text.endsWith("\n\n")) {
                return text;
            }
        }
        return event.size() == 0 ? null : event.toString(StandardCharsets.UTF_8);
    }

    /**
     * Everything up to the end of the stream. The deadline catches a stream that keeps sending keep-alives without
     * ending; the class timeout catches a read that blocks for good.
     */
    private static String readToEnd(InputStream reader) throws IOException {
        long deadline = System.nanoTime() + READ_DEADLINE.toNanos();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buffer = new byte[256];
        int count;
        while ((count = reader.read(buffer, 0, buffer.length)) != -1) {
            all.write(buffer, 0, count);
            if (System.nanoTime() > deadline) {
                fail("the stream did not end within " + READ_DEADLINE + "; read so far: " + all.toString(StandardCharsets.UTF_8));
            }
        }
        return all.toString(StandardCharsets.UTF_8);
    }

    private static String readToEndUnchecked(InputStream reader) {
        try {
            return readToEnd(reader);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
