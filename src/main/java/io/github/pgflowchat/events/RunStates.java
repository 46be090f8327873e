package io.github.pgflowchat.events;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BiPredicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.db.StoredJson;

/**
 * The events a run's stored state implies, read from pgflow's own tables: the only account of a run the gateway
 * trusts. A broadcast or a NOTIFY only says "look again"; anyone holding the anon key can broadcast on a run's public
 * Realtime topic, so what a message claims (a step's output, a finished run) is never taken from the message.
 */
@Component
public class RunStates {

    /** Every step of the runs in flow order, with its first task (the chat pipeline's steps are single steps). */
    private static final String STATES = """
            select s.run_id, s.step_slug, s.status,
                   to_jsonb(s.started_at) #>> '{}' as started_at, to_jsonb(s.completed_at) #>> '{}' as completed_at,
                   to_jsonb(s.failed_at) #>> '{}' as failed_at, s.error_message,
                   t.status as task_status, t.attempts_count, t.error_message as task_error,
                   coalesce(st.opt_max_attempts, f.opt_max_attempts) as max_attempts,
                   r.status as run_status, to_jsonb(r.completed_at) #>> '{}' as run_completed_at,
                   to_jsonb(r.failed_at) #>> '{}' as run_failed_at
              from pgflow.step_states s
              join pgflow.runs r on r.run_id = s.run_id
              join pgflow.steps st on st.flow_slug = s.flow_slug and st.step_slug = s.step_slug
              join pgflow.flows f on f.flow_slug = s.flow_slug
              left join pgflow.step_tasks t on t.run_id = s.run_id and t.step_slug = s.step_slug and t.task_index = 0
             where s.run_id = any(?::uuid[])
             order by s.run_id, st.step_index
            """;
    private static final String STEP_OUTPUT =
            "select output::text from pgflow.step_tasks where run_id = ?::uuid and step_slug = ? and task_index = 0 and status = 'completed'";
    private static final String RUN_OUTPUT = "select output::text from pgflow.runs where run_id = ?::uuid";

    private final JdbcTemplate jdbc;
    private final ObjectMapper json;

    public RunStates(JdbcTemplate jdbc, ObjectMapper json) {
        this.jdbc = jdbc;
        this.json = json;
    }

    /**
     * The events each run's state implies, in pgflow's order, keyed by pgflow's event name ({@code step:search:started},
     * {@code step:respond:retrying:2}, {@code run:completed}, …). Outputs are read only for the (run, name) pairs
     * {@code wanted} accepts, so a caller that has seen most of a run pays for no answer text it already has.
     */
    public Map<UUID, Map<String, RunEvent>> impliedEvents(Collection<UUID> runIds, BiPredicate<UUID, String> wanted) {
        Map<UUID, List<Map<String, Object>>> rowsByRun = new LinkedHashMap<>();
        if (runIds.isEmpty()) {
            return Map.of();
        }
        jdbc.query(STATES, rs -> {
            Map<String, Object> row = new LinkedHashMap<>();
            for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                row.put(rs.getMetaData().getColumnLabel(i), rs.getObject(i));
            }
            rowsByRun.computeIfAbsent(UUID.fromString(rs.getString("run_id")), id -> new ArrayList<>()).add(row);
        }, (Object) runIds.stream().map(UUID::toString).toArray(String[]::new));
        Map<UUID, Map<String, RunEvent>> events = new LinkedHashMap<>();
        rowsByRun.forEach((runId, rows) -> events.put(runId, eventsOf(runId, rows, wanted)));
        return events;
    }

    /** The terminal event ({@code run:completed} or {@code run:failed}) among a run's implied events, or null. */
    public static RunEvent terminalOf(Map<String, RunEvent> events) {
        RunEvent completed = events.get("run:completed");
        return completed != null ? completed : events.get("run:failed");
    }

    private Map<String, RunEvent> eventsOf(UUID runId, List<Map<String, Object>> steps, BiPredicate<UUID, String> wanted) {
        Map<String, RunEvent> events = new LinkedHashMap<>();
        String failedStepError = null;
        for (Map<String, Object> step : steps) {
            String slug = (String) step.get("step_slug");
            String status = (String) step.get("status");
            if (step.get("started_at") != null) {
                events.put("step:" + slug + ":started", stepStarted(runId, slug, (String) step.get("started_at")));
            }
            Number attempts = (Number) step.get("attempts_count");
            if ("queued".equals(step.get("task_status")) && attempts != null && attempts.intValue() > 0) {
                // pgflow queued a failed attempt again; the worker broadcasts this too, under the same name
                int attempt = attempts.intValue() + 1;
                ObjectNode retrying = event(runId, "step:retrying", slug, "retrying").put("attempt", attempt)
                        .put("error_message", (String) step.get("task_error"));
                if (step.get("max_attempts") != null) {
                    retrying.put("max_attempts", ((Number) step.get("max_attempts")).intValue());
                }
                put(events, runId, "step:" + slug + ":retrying:" + attempt, retrying);
            }
            if ("completed".equals(status)) {
                String name = "step:" + slug + ":completed";
                ObjectNode completed = event(runId, "step:completed", slug, "completed").put("completed_at", (String) step.get("completed_at"));
                if (wanted.test(runId, name)) {
                    completed.set("output", output(STEP_OUTPUT, runId.toString(), slug));
                }
                put(events, runId, name, completed);
            } else if ("failed".equals(status)) {
                failedStepError = (String) step.get("error_message");
                put(events, runId, "step:" + slug + ":failed", event(runId, "step:failed", slug, "failed")
                        .put("failed_at", (String) step.get("failed_at")).put("error_message", failedStepError));
            }
        }
        Map<String, Object> run = steps.get(0);
        if ("completed".equals(run.get("run_status"))) {
            ObjectNode completed = runEvent(runId, "run:completed", "completed").put("completed_at", (String) run.get("run_completed_at"));
            if (wanted.test(runId, "run:completed")) {
                completed.set("output", output(RUN_OUTPUT, runId.toString()));
            }
            put(events, runId, "run:completed", completed);
        } else if ("failed".equals(run.get("run_status"))) {
            put(events, runId, "run:failed", runEvent(runId, "run:failed", "failed")
                    .put("failed_at", (String) run.get("run_failed_at")).put("error_message", failedStepError));
        }
        return events;
    }

    /** The {@code step:<slug>:started} event of a step pgflow started at {@code startedAt}. */
    public RunEvent stepStarted(UUID runId, String stepSlug, String startedAt) {
        return new RunEvent(runId, "step:" + stepSlug + ":started", event(runId, "step:started", stepSlug, "started").put("started_at", startedAt));
    }

    /** The {@code step:<slug>:completed} event of a step pgflow completed with {@code output} (JSON text as stored). */
    public RunEvent stepCompleted(UUID runId, String stepSlug, String completedAt, String output) {
        ObjectNode completed = event(runId, "step:completed", stepSlug, "completed").put("completed_at", completedAt);
        completed.set("output", storedOutput(output));
        return new RunEvent(runId, "step:" + stepSlug + ":completed", completed);
    }

    /** The {@code run:completed} event of a run pgflow completed at {@code completedAt} with {@code output} (JSON text as stored). */
    public RunEvent runCompleted(UUID runId, String completedAt, String output) {
        ObjectNode completed = runEvent(runId, "run:completed", "completed").put("completed_at", completedAt);
        completed.set("output", storedOutput(output));
        return new RunEvent(runId, "run:completed", completed);
    }

    private static void put(Map<String, RunEvent> events, UUID runId, String name, JsonNode payload) {
        events.put(name, new RunEvent(runId, name, payload));
    }

    private JsonNode output(String sql, Object... arguments) {
        List<String> outputs = jdbc.queryForList(sql, String.class, arguments);
        return storedOutput(outputs.isEmpty() ? null : outputs.get(0));
    }

    /** An output as pgflow stored it (JSON text), or JSON null for none. */
    private JsonNode storedOutput(String output) {
        return output == null ? json.nullNode() : StoredJson.read(json, output, "a stored output");
    }

    private ObjectNode event(UUID runId, String eventType, String stepSlug, String status) {
        return runEvent(runId, eventType, status).put("step_slug", stepSlug);
    }

    private ObjectNode runEvent(UUID runId, String eventType, String status) {
        return json.createObjectNode().put("event_type", eventType).put("run_id", runId.toString()).put("status", status);
    }
}
