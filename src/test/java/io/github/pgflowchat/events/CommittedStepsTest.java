package io.github.pgflowchat.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.SQLException;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiPredicate;

import javax.sql.DataSource;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import io.github.pgflowchat.pgflow.CommittedSteps;
import io.github.pgflowchat.pgflow.PgflowSqlClient;
import io.github.pgflowchat.pgflow.StepTask;
import io.github.pgflowchat.support.OwnDatabase;

/**
 * The steps this instance's worker commits reach the runs it follows without a reading of the run, in pgflow's order;
 * a hint naming an event delivered that way spares its reading. Real pgflow SQL claims and completes the tasks, in a
 * database of the test's own.
 */
class CommittedStepsTest {

    private static final String DATABASE = OwnDatabase.named("committed_steps");
    private static final String FLOW = "committed_here";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static JdbcTemplate jdbc;
    private static PgflowSqlClient pgflow;
    private static UUID workerId;

    @BeforeAll
    static void migrated() throws SQLException {
        DataSource dataSource = OwnDatabase.migrated(DATABASE, null);
        jdbc = new JdbcTemplate(dataSource);
        pgflow = new PgflowSqlClient(jdbc, JSON, new TransactionTemplate(new DataSourceTransactionManager(dataSource)));
        jdbc.queryForList("select pgflow.create_flow(?)", FLOW);
        jdbc.queryForList("select pgflow.add_step(?, 'first')", FLOW);
        jdbc.queryForList("select pgflow.add_step(?, 'second', array['first'])", FLOW);
        workerId = UUID.randomUUID();
        jdbc.update("insert into pgflow.workers (worker_id, queue_name, function_name) values (?, ?, 'test')", workerId, FLOW);
    }

    @AfterAll
    static void drop() throws SQLException {
        OwnDatabase.drop(DATABASE);
    }

    @Test
    void stepsCommittedHereAreDeliveredWithoutReadingTheRunAndTheirHintsAreSpared() throws Exception {
        CountingStates states = new CountingStates();
        FollowedRuns runs = new FollowedRuns(states, Duration.ofMinutes(10));
        try {
            List<RunEvent> events = new CopyOnWriteArrayList<>();
            UUID runId = startedRun(runs, events);

            StepTask first = claim(runId, "first");
            runs.started(first, List.of());
            PgflowSqlClient.CompletedTask completed = pgflow.completeTask(first, workerId, JSON.readTree("{\"found\": [1, 2], \"a\": null}"), false).orElseThrow();
            runs.completed(first, completed.completedAt(), completed.output());
            await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 2);
            assertThat(states.readings.get()).isZero();

            runs.hint(runId, "run:started");
            runs.hint(runId, "step:first:completed");
            Thread.sleep(300);
            assertThat(states.readings.get()).isZero();
            assertThat(runs.hintsSpared()).isPositive();

            // The next step's start was not committed here: its hint reads the run.
            runs.hint(runId, "step:second:started");
            await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 3);
            assertThat(states.readings.get()).isEqualTo(1);
            assertThat(events).extracting(RunEvent::event).containsExactly("step:first:started", "step:first:completed", "step:second:started");
            assertThat(runs.eventsDeliveredFromHere()).isEqualTo(2);

            // What was delivered from here is what a reading of the run gives.
            Map<String, RunEvent> read = new RunStates(jdbc, JSON).impliedEvents(List.of(runId), (run, name) -> true).get(runId);
            assertThat(events.get(0).payload()).isEqualTo(read.get("step:first:started").payload());
            assertThat(events.get(1).payload()).isEqualTo(read.get("step:first:completed").payload());
        } finally {
            runs.destroy();
        }
    }

    @Test
    void aStepCommittedHereBeforeWhatPrecedesItWasDeliveredMakesTheRunBeRead() throws Exception {
        CountingStates states = new CountingStates();
        FollowedRuns runs = new FollowedRuns(states, Duration.ofMinutes(10));
        try {
            List<RunEvent> events = new CopyOnWriteArrayList<>();
            UUID runId = startedRun(runs, events);

            StepTask first = claim(runId, "first");
            PgflowSqlClient.CompletedTask completed = pgflow.completeTask(first, workerId, JSON.readTree("{}"), false).orElseThrow();
            // Its start was never delivered: the completion is not handed on ahead of it; the run is read instead.
            runs.completed(first, completed.completedAt(), completed.output());
            await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 3);

            assertThat(states.readings.get()).isEqualTo(1);
            assertThat(events).extracting(RunEvent::event).containsExactly("step:first:started", "step:first:completed", "step:second:started");
            assertThat(runs.eventsDeliveredFromHere()).isZero();

            StepTask second = claim(runId, "second");
            runs.started(second, List.of("first"));
            Thread.sleep(300);
            assertThat(events).hasSize(3);
        } finally {
            runs.destroy();
        }
    }

    @Test
    void aRunStartedAndCompletedHereIsDeliveredWholeFromItsCommitsWithoutAReadingEqualToAReading() throws Exception {
        CountingStates states = new CountingStates();
        FollowedRuns runs = new FollowedRuns(states, Duration.ofMinutes(10));
        try {
            List<RunEvent> events = new CopyOnWriteArrayList<>();
            UUID runId = UUID.randomUUID();
            runs.follow(runId, events::add);
            try (CommittedSteps.Commit commit = runs.committing(runId)) {
                List<PgflowSqlClient.StepStart> roots = pgflow.startFlowReadingStartedSteps(FLOW, JSON.readTree("{}"), runId);
                assertThat(roots).extracting(PgflowSqlClient.StepStart::stepSlug).containsExactly("first");
                runs.stepsStarted(runId, roots.stream().map(step -> new CommittedSteps.StartedStep(step.stepSlug(), step.startedAt(), List.of())).toList());
            }

            complete(runs, claim(runId, "first"), "{\"found\": [1, 2]}");
            // The broadcast of what the next commit does arrives before the commit's reports: it waits for them.
            StepTask second = claim(runId, "second");
            try (CommittedSteps.Commit commit = runs.committing(runId)) {
                runs.hint(runId, "step:second:completed");
                runs.hint(runId, "run:completed");
                Thread.sleep(200);
                assertThat(events).hasSize(3);
                PgflowSqlClient.CompletedTask done = pgflow.completeTask(second, workerId, JSON.readTree("{\"answer\": \"yes\"}"), true).orElseThrow();
                assertThat(done.started()).isEmpty();
                assertThat(done.run()).isNotNull();
                runs.completed(second, done.completedAt(), done.output());
                runs.runCompleted(runId, done.run().completedAt(), done.run().output(), done.run().steps());
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 5);
            Thread.sleep(300);

            assertThat(states.readings.get()).isZero();
            assertThat(runs.hintsSpared()).isPositive();
            assertThat(events).extracting(RunEvent::event).containsExactly("step:first:started", "step:first:completed",
                    "step:second:started", "step:second:completed", "run:completed");
            Map<String, RunEvent> read = new RunStates(jdbc, JSON).impliedEvents(List.of(runId), (run, name) -> true).get(runId);
            assertThat(read.keySet()).containsExactlyElementsOf(events.stream().map(RunEvent::event).toList());
            events.forEach(event -> assertThat(event.payload()).as(event.event()).isEqualTo(read.get(event.event()).payload()));
        } finally {
            runs.destroy();
        }
    }

    @Test
    void aHintQueuedBehindABusyDeliveryThreadStillWaitsForTheCommitsReports() throws Exception {
        CountingStates states = new CountingStates();
        FollowedRuns runs = new FollowedRuns(states, Duration.ofMinutes(10));
        CountDownLatch busy = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try {
            List<RunEvent> events = new CopyOnWriteArrayList<>();
            StepTask first = firstStepClaimedHere(runs, events);
            UUID runId = first.runId();

            // Another run's listener holds the delivery thread (its reading is the one reading this test expects).
            UUID other = UUID.randomUUID();
            runs.follow(other, event -> {
                busy.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            jdbc.queryForList("select run_id from pgflow.start_flow(?, '{}'::jsonb, ?::uuid)", FLOW, other.toString());
            runs.hint(other);
            assertThat(busy.await(5, TimeUnit.SECONDS)).isTrue();

            // The commit's broadcast is queued before its reports, and the commit is over before the thread gets to it.
            try (CommittedSteps.Commit commit = runs.committing(runId)) {
                runs.hint(runId, "step:first:completed");
                PgflowSqlClient.CompletedTask done = pgflow.completeTask(first, workerId, JSON.readTree("{}"), true).orElseThrow();
                runs.completed(first, done.completedAt(), done.output());
            }
            release.countDown();
            await().atMost(Duration.ofSeconds(5)).until(() -> events.size() >= 2);
            Thread.sleep(300);

            assertThat(events).extracting(RunEvent::event).containsExactly("step:first:started", "step:first:completed");
            assertThat(states.readings.get()).as("only the other run's reading").isEqualTo(1);
            assertThat(runs.hintsSpared()).isPositive();
        } finally {
            release.countDown();
            runs.destroy();
        }
    }

    @Test
    void theTimerLeavesARunWithACommitOnItsWayToThatCommitsReports() throws Exception {
        CountingStates states = new CountingStates();
        FollowedRuns runs = new FollowedRuns(states, Duration.ofMillis(100));
        try {
            List<RunEvent> events = new CopyOnWriteArrayList<>();
            StepTask first = firstStepClaimedHere(runs, events);
            UUID runId = first.runId();
            // The step's start may have come by the timer or from here: what follows is counted from now on.
            long fromHereBefore = runs.eventsDeliveredFromHere();
            long onTimerBefore = runs.eventsDeliveredOnTimer();

            try (CommittedSteps.Commit commit = runs.committing(runId)) {
                PgflowSqlClient.CompletedTask done = pgflow.completeTask(first, workerId, JSON.readTree("{}"), true).orElseThrow();
                // Committed, not yet reported: several ticks of the timer pass.
                Thread.sleep(500);
                assertThat(events).hasSize(1);
                runs.completed(first, done.completedAt(), done.output());
                runs.stepsStarted(runId, done.started().stream()
                        .map(step -> new CommittedSteps.StartedStep(step.stepSlug(), step.startedAt(), List.of("first"))).toList());
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 3);

            assertThat(events).extracting(RunEvent::event).containsExactly("step:first:started", "step:first:completed", "step:second:started");
            assertThat(runs.eventsDeliveredFromHere() - fromHereBefore).isEqualTo(2);
            assertThat(runs.eventsDeliveredOnTimer() - onTimerBefore).isZero();
        } finally {
            runs.destroy();
        }
    }

    @Test
    void aStartedStepWhoseDependenciesAreNotKnownHereMakesTheRunBeRead() throws Exception {
        CountingStates states = new CountingStates();
        FollowedRuns runs = new FollowedRuns(states, Duration.ofMinutes(10));
        try {
            List<RunEvent> events = new CopyOnWriteArrayList<>();
            UUID runId = startedRun(runs, events);
            runs.stepsStarted(runId, List.of(new CommittedSteps.StartedStep("first", "2026-01-01T00:00:00+00:00", null)));
            await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 1);

            assertThat(states.readings.get()).isEqualTo(1);
            assertThat(events.get(0).payload().path("started_at").asText()).as("the time as stored, not as reported").isNotEqualTo("2026-01-01T00:00:00+00:00");
        } finally {
            runs.destroy();
        }
    }

    /** Completes the task as the worker does for a followed run, reporting what the completion did. */
    private static void complete(FollowedRuns runs, StepTask task, String output) throws Exception {
        try (CommittedSteps.Commit commit = runs.committing(task.runId())) {
            PgflowSqlClient.CompletedTask done = pgflow.completeTask(task, workerId, JSON.readTree(output), true).orElseThrow();
            runs.completed(task, done.completedAt(), done.output());
            runs.stepsStarted(task.runId(), done.started().stream()
                    .map(step -> new CommittedSteps.StartedStep(step.stepSlug(), step.startedAt(), List.of(task.stepSlug()))).toList());
        }
    }

    private static UUID startedRun(FollowedRuns runs, List<RunEvent> events) {
        UUID runId = UUID.randomUUID();
        runs.follow(runId, events::add);
        jdbc.queryForList("select run_id from pgflow.start_flow(?, '{}'::jsonb, ?::uuid)", FLOW, runId.toString());
        return runId;
    }

    /** A run started in SQL whose first step this instance claimed and reported, once that start was delivered. */
    private static StepTask firstStepClaimedHere(FollowedRuns runs, List<RunEvent> events) {
        StepTask first = claim(startedRun(runs, events), "first");
        runs.started(first, List.of());
        await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 1);
        return first;
    }

    /** The run's queued task of the step, claimed with start_tasks as the worker claims it. */
    private static StepTask claim(UUID runId, String step) {
        Long msgId = jdbc.queryForObject("select msg_id from pgmq.read(?, 0, 100) where message ->> 'run_id' = ? and message ->> 'step_slug' = ?",
                Long.class, FLOW, runId.toString(), step);
        List<StepTask> tasks = pgflow.startTasks(FLOW, List.of(msgId), workerId, 30, 2);
        assertThat(tasks).hasSize(1);
        assertThat(tasks.get(0).stepStartedAt()).isNotNull();
        return tasks.get(0);
    }

    /** Counts the readings of runs, which are what the committed steps spare. */
    private static final class CountingStates extends RunStates {
        private final AtomicInteger readings = new AtomicInteger();

        CountingStates() {
            super(jdbc, JSON);
        }

        @Override
        public Map<UUID, Map<String, RunEvent>> impliedEvents(Collection<UUID> runIds, BiPredicate<UUID, String> wanted) {
            readings.incrementAndGet();
            return super.impliedEvents(runIds, wanted);
        }
    }
}
