package io.github.pgflowchat.runs;

import java.util.regex.Pattern;

import org.springframework.stereotype.Component;

import io.github.pgflowchat.web.ApiException;

/** Checks for {@code GET /api/runs/{runId}}: a malformed id is a 400, a run that is not the caller's a 404. */
@Component("runRequests")
public class RunRequests {

    private static final Pattern CANONICAL_UUID =
            Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

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
}
