package io.github.pgflowchat.runs;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.db.StoredJson;
import io.github.pgflowchat.pgflow.StepInvoker;
import io.github.pgflowchat.web.ApiException;

/**
 * {@code POST /api/runs/{runId}/retry}: pgflow 0.8.1 cannot restart a failed run, so a retry is a new run of the same
 * flow with the same input, plus the outputs of the steps that had completed ({@code reuse}), which the worker hands
 * back instead of computing them again.
 */
@Component("runRetries")
public class RunRetries {

    private final JdbcTemplate jdbc;
    private final ObjectMapper json;

    public RunRetries(JdbcTemplate jdbc, ObjectMapper json) {
        this.jdbc = jdbc;
        this.json = json;
    }

    public Map<String, Object> retryInput(String runId, String userId) {
        List<Map<String, Object>> runs = jdbc.queryForList(
                "select status, input::text as input from pgflow.runs where run_id = ?::uuid and input ->> 'userId' = ?", runId, userId);
        if (runs.isEmpty()) {
            throw ApiException.notFound("run_not_found", "No run " + runId + " was found for this user.");
        }
        String status = (String) runs.get(0).get("status");
        if (!"failed".equals(status)) {
            throw new ApiException(409, "run_not_failed", "Run " + runId + " is " + status + "; only a failed run can be retried.");
        }
        Map<String, Object> input = json.convertValue(StoredJson.read(json, (String) runs.get(0).get("input"), "a run input"),
                new TypeReference<LinkedHashMap<String, Object>>() { });
        Map<String, JsonNode> reuse = new LinkedHashMap<>();
        jdbc.query("select step_slug, output::text as output from pgflow.step_tasks where run_id = ?::uuid and status = 'completed' and task_index = 0",
                rs -> {
                    reuse.put(rs.getString("step_slug"), StoredJson.read(json, rs.getString("output"), "a step output"));
                }, runId);
        input.put(StepInvoker.REUSE, reuse);
        input.put("retryOf", UUID.fromString(runId).toString());
        return input;
    }
}
