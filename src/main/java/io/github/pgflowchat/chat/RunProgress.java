package io.github.pgflowchat.chat;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.events.RunEvent;
import io.github.pgflowchat.logging.LogSafe;

/**
 * Turns pgflow run events into progress parts of a chat stream. Which event calls which method is declared in the
 * {@code run-progress} route ({@code routes/run-progress.yaml}); each method writes through {@link ChatStream}.
 */
@Component("runProgress")
public class RunProgress {

    private static final Logger log = LoggerFactory.getLogger(RunProgress.class);

    public void stepStarted(ChatStream stream, RunEvent event) {
        Map<String, Object> changes = new LinkedHashMap<>();
        changes.put("status", "started");
        changes.put("startedAt", event.payload().path("started_at").asText(null));
        stream.updateStep(event.stepSlug(), changes);
    }

    public void stepCompleted(ChatStream stream, RunEvent event) {
        Map<String, Object> changes = new LinkedHashMap<>();
        changes.put("status", "completed");
        String completedAt = event.payload().path("completed_at").asText(null);
        changes.put("completedAt", completedAt);
        Object startedAt = stream.stepValue(event.stepSlug(), "startedAt");
        if (startedAt != null && completedAt != null) {
            changes.put("durationMs", Duration.between(OffsetDateTime.parse(startedAt.toString()), OffsetDateTime.parse(completedAt)).toMillis());
        }
        stream.updateStep(event.stepSlug(), changes);
    }

    /** An attempt failed and pgflow will run the step again: the coming attempt, of how many, and why. */
    public void stepRetrying(ChatStream stream, RunEvent event) {
        Map<String, Object> changes = new LinkedHashMap<>();
        changes.put("status", "retrying");
        changes.put("attempt", event.payload().path("attempt").asInt());
        changes.put("maxAttempts", event.payload().path("max_attempts").asInt());
        changes.put("error", event.payload().path("error_message").asText("no reason recorded"));
        stream.updateStep(event.stepSlug(), changes);
    }

    public void stepFailed(ChatStream stream, RunEvent event) {
        String reason = event.payload().path("error_message").asText("no reason recorded");
        Map<String, Object> changes = new LinkedHashMap<>();
        changes.put("status", "failed");
        changes.put("failedAt", event.payload().path("failed_at").asText(null));
        changes.put("error", reason);
        stream.updateStep(event.stepSlug(), changes);
        stream.fail("Step '" + event.stepSlug() + "' failed: " + reason + " (run " + stream.runId() + ")");
        log.warn("run {} failed at step {} (chat {}, user {}): {}; {}", stream.runId(), event.stepSlug(), LogSafe.prefix(stream.chatId()),
                LogSafe.prefix(stream.userId()), LogSafe.prefix(reason, 200), stream.stepSummary());
    }

    /** The search results the answer draws on, as the {@code data-search} part. */
    public void searchSummary(ChatStream stream, RunEvent event) {
        JsonNode output = event.payload().path("output");
        List<Map<String, Object>> results = new ArrayList<>();
        for (JsonNode result : output.path("results")) {
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("rank", result.path("rank").asInt());
            // what GET /api/documents/{documentId} opens, so a client can link each cited source to its text
            item.put("documentId", result.path("documentId").asLong());
            item.put("source", result.path("source").asText());
            item.put("title", result.path("title").asText());
            item.put("snippet", result.path("snippet").asText());
            item.put("score", result.path("score").asDouble());
            results.add(item);
        }
        stream.send(UiChunks.data("search", "search", Map.of("query", output.path("query").asText(""), "results", results)));
    }

    /** What the analysis decided (intent, key terms, sources to use), as the {@code data-analysis} part. */
    public void analysisSummary(ChatStream stream, RunEvent event) {
        stream.send(UiChunks.data("analysis", "analysis", event.payload().path("output")));
    }

    /**
     * The run is done. If the answer was produced where no token reached this stream (another instance, say), the
     * stored answer is sent as one text part, so the client always gets the text it would have seen.
     */
    public void runCompleted(ChatStream stream, RunEvent event) {
        // One step under the stream's lock: the sweeper may finish a stream whose terminal event also arrives.
        synchronized (stream) {
            if (stream.isEnded()) {
                return;
            }
            JsonNode respond = event.payload().path("output").path("respond");
            if (!stream.hasText() && respond.hasNonNull("answer")) {
                stream.sendText("text-" + stream.runId(), respond.path("answer").asText());
            }
            stream.closeText();
            Map<String, Object> metadata = new LinkedHashMap<>();
            metadata.put("runId", stream.runId().toString());
            metadata.put("model", respond.path("model").asText(null));
            metadata.put("citations", respond.path("citations"));
            stream.send(UiChunks.finish("stop", metadata));
            stream.end();
        }
        log.info("run {} completed (chat {}, user {}): {}", stream.runId(), LogSafe.prefix(stream.chatId()), LogSafe.prefix(stream.userId()), stream.stepSummary());
    }

    public void runFailed(ChatStream stream, RunEvent event) {
        String reason = event.payload().path("error_message").asText("no reason recorded");
        stream.fail("Run " + stream.runId() + " failed: " + reason);
        log.warn("run {} failed (chat {}, user {}): {}; {}", stream.runId(), LogSafe.prefix(stream.chatId()), LogSafe.prefix(stream.userId()),
                LogSafe.prefix(reason, 200), stream.stepSummary());
    }
}
