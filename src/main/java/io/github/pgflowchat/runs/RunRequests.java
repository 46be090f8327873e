package io.github.pgflowchat.runs;

import java.util.UUID;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.db.StoredJson;
import io.github.pgflowchat.pipeline.RespondStep;
import io.github.pgflowchat.web.ApiException;

/**
 * {@code GET /api/runs/{runId}}: a malformed id is a 400, a run that is not the caller's a 404; an answer being
 * written on this instance shows the text so far.
 */
@Component("runRequests")
public class RunRequests {

    private static final Pattern CANONICAL_UUID =
            Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private final RespondStep respondStep;
    private final ObjectMapper json;

    public RunRequests(RespondStep respondStep, ObjectMapper json) {
        this.respondStep = respondStep;
        this.json = json;
    }

    public void checkRunId(String runId) {
        if (runId == null || !CANONICAL_UUID.matcher(runId).matches()) {
            throw ApiException.badRequest("invalid_run_id", "The run id must be a UUID.");
        }
    }

    /** No row means no run of this user with that id; the answer is the same whether or not it exists for others. */
    public String found(String status, String runId) {
        if (status == null) {
            throw ApiException.notFound("run_not_found", "No run " + runId + " was found for this user.");
        }
        return status;
    }

    /**
     * Adds {@code answerSoFar} to the respond step while its answer is being written here: a client whose stream
     * ended early (its maximum duration, a lost connection) can show the text written so far.
     */
    public String withAnswerSoFar(String status, String runId) {
        return respondStep.answerSoFar(UUID.fromString(runId)).map(answer -> {
            JsonNode run = StoredJson.read(json, status, "a run status");
            for (JsonNode step : run.path("steps")) {
                if ("respond".equals(step.path("step").asText()) && "started".equals(step.path("status").asText())) {
                    ((ObjectNode) step).put("answerSoFar", answer);
                }
            }
            return run.toString();
        }).orElse(status);
    }
}
