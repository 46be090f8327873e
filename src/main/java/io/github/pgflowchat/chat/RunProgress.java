package io.github.pgflowchat.chat;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.logging.LogSafe;

/**
 * Turns pgflow run events into progress parts of a chat stream. Which event calls which method, and which step
 * outputs become which {@code data-<name>} parts, is declared in the {@code run-progress} route
 * ({@code routes/run-progress.yaml}); each method writes through {@link ChatStream}. An event is its JSON payload as
 * pgflow broadcasts it ({@code event_type}, {@code step_slug}, {@code status}, {@code output}, {@code error_message}, ...).
 */
@Component("runProgress")
public class RunProgress {

    private static final Logger log = LoggerFactory.getLogger(RunProgress.class);
    /** The key of the gateway's fields in a part's {@code providerMetadata}. */
    public static final String PROVIDER_METADATA_KEY = "pgflowChat";

    public void stepStarted(ChatStream stream, JsonNode event) {
        Map<String, Object> changes = new LinkedHashMap<>();
        changes.put("status", "started");
        changes.put("startedAt", event.path("started_at").asText(null));
        stream.updateStep(stepOf(event), changes);
    }

    public void stepCompleted(ChatStream stream, JsonNode event) {
        Map<String, Object> changes = new LinkedHashMap<>();
        changes.put("status", "completed");
        String completedAt = event.path("completed_at").asText(null);
        changes.put("completedAt", completedAt);
        Object startedAt = stream.stepValue(stepOf(event), "startedAt");
        if (startedAt != null && completedAt != null) {
            changes.put("durationMs", Duration.between(OffsetDateTime.parse(startedAt.toString()), OffsetDateTime.parse(completedAt)).toMillis());
        }
        stream.updateStep(stepOf(event), changes);
    }

    /** An attempt failed and pgflow will run the step again: the coming attempt, of how many, and why. */
    public void stepRetrying(ChatStream stream, JsonNode event) {
        Map<String, Object> changes = new LinkedHashMap<>();
        changes.put("status", "retrying");
        changes.put("attempt", event.path("attempt").asInt());
        changes.put("maxAttempts", event.path("max_attempts").asInt());
        changes.put("error", event.path("error_message").asText("no reason recorded"));
        stream.updateStep(stepOf(event), changes);
    }

    public void stepFailed(ChatStream stream, JsonNode event) {
        String reason = event.path("error_message").asText("no reason recorded");
        Map<String, Object> changes = new LinkedHashMap<>();
        changes.put("status", "failed");
        changes.put("failedAt", event.path("failed_at").asText(null));
        changes.put("error", reason);
        stream.updateStep(stepOf(event), changes);
        stream.fail("Step '" + stepOf(event) + "' failed: " + reason + " (run " + stream.runId() + ")");
        log.warn("run {} failed at step {} (chat {}, user {}): {}; {}", stream.runId(), stepOf(event), LogSafe.prefix(stream.chatId()),
                LogSafe.prefix(stream.userId()), LogSafe.prefix(reason, 200), stream.stepSummary());
    }

    /**
     * A {@code data-<name>} part with the given data (its id is the name, so a later part of that name replaces it):
     * what the run-progress route makes of a step's output.
     */
    public void part(ChatStream stream, String name, JsonNode data) {
        stream.send(UiChunks.data(name, name, data));
    }

    /**
     * A {@code source-document} part per search result, after its {@code data-search} part: the AI SDK's own way to
     * list what an answer draws on. {@code search} is what the run-progress route made of the step's output
     * ({@code results} with rank, documentId, source, title, snippet, score); the gateway's fields go in
     * {@code providerMetadata.pgflowChat}.
     */
    public void sources(ChatStream stream, JsonNode search) {
        for (JsonNode result : search.path("results")) {
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("rank", result.path("rank").asInt());
            fields.put("documentId", result.path("documentId").asText());
            fields.put("snippet", result.path("snippet").asText(""));
            fields.put("score", result.path("score").asDouble());
            String source = result.path("source").asText();
            String title = result.path("title").asText(source);
            stream.send(UiChunks.sourceDocument("document-" + result.path("documentId").asText(), "text/markdown",
                    title.isBlank() ? source : title, source, Map.of(PROVIDER_METADATA_KEY, fields)));
        }
    }

    /**
     * The run is done. If the answer was produced where no token reached this stream (another instance, say), the
     * stored answer is sent as one text part, so the client always gets the text it would have seen.
     */
    public void runCompleted(ChatStream stream, JsonNode event) {
        // One step under the stream's lock: the sweeper may finish a stream whose terminal event also arrives.
        synchronized (stream) {
            if (stream.isEnded()) {
                return;
            }
            JsonNode respond = event.path("output").path("respond");
            if (!stream.hasText() && respond.hasNonNull("answer")) {
                stream.send(UiChunks.startStep());
                stream.sendText("text-" + stream.runId(), respond.path("answer").asText());
                stream.closeText();
                stream.send(UiChunks.finishStep());
            }
            stream.closeText();
            Map<String, Object> metadata = new LinkedHashMap<>();
            metadata.put("runId", stream.runId().toString());
            metadata.put("model", respond.path("model").asText(null));
            metadata.put("citations", respond.path("citations"));
            if (respond.has("usage")) {
                metadata.put("usage", respond.path("usage"));
            }
            metadata.put("timings", timings(stream, respond));
            stream.send(UiChunks.finish("stop", metadata));
            stream.end();
        }
        log.info("run {} completed (chat {}, user {}): {}", stream.runId(), LogSafe.prefix(stream.chatId()), LogSafe.prefix(stream.userId()), stream.stepSummary());
    }

    /** Each step's duration, the answer's time to its first token, and the whole chat's time, in milliseconds. */
    private static Map<String, Object> timings(ChatStream stream, JsonNode respond) {
        Map<String, Object> timings = new LinkedHashMap<>();
        timings.put("steps", stream.stepValues("durationMs"));
        if (respond.path("timings").has("firstTokenMs")) {
            timings.put("answerFirstTokenMs", respond.path("timings").path("firstTokenMs").asLong());
        }
        timings.put("totalMs", (System.nanoTime() - stream.createdAtNanos()) / 1_000_000);
        return timings;
    }

    private static String stepOf(JsonNode event) {
        return event.path("step_slug").asText(null);
    }

    public void runFailed(ChatStream stream, JsonNode event) {
        String reason = event.path("error_message").asText("no reason recorded");
        stream.fail("Run " + stream.runId() + " failed: " + reason);
        log.warn("run {} failed (chat {}, user {}): {}; {}", stream.runId(), LogSafe.prefix(stream.chatId()), LogSafe.prefix(stream.userId()),
                LogSafe.prefix(reason, 200), stream.stepSummary());
    }
}
