package io.github.pgflowchat.events;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.pgflow.CommittedSteps;
import io.github.pgflowchat.pgflow.StepTask;

/**
 * The runs this instance follows, whichever event source wakes it. A broadcast or a notification about a run is a
 * hint: the run's state is then read from pgflow's tables ({@link RunStates}) and every event it implies that the
 * listener has not accepted yet is handed on, in pgflow's order, on one delivery thread. An event counts as delivered
 * only once the listener returned; one that threw is offered again. A timer of its own reconciles every followed run
 * the same way every {@code gateway.events.reconcile-interval}, so a lost broadcast, a lost NOTIFY or a source that is
 * down delays an event by that much at most.
 */
@Component
public class FollowedRuns implements CommittedSteps, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(FollowedRuns.class);
    /** Broadcast names a reading of the run never yields: pgflow sends {@code run:started} with its first step's start. */
    private static final Set<String> NEVER_READ = Set.of("run:started");

    private final RunStates states;
    private final Map<UUID, Follower> followers = new ConcurrentHashMap<>();
    private final AtomicBoolean allPending = new AtomicBoolean();
    private final AtomicBoolean timerPending = new AtomicBoolean();
    private final AtomicLong deliveredOnHint = new AtomicLong();
    private final AtomicLong deliveredOnTimer = new AtomicLong();
    private final AtomicLong deliveredHere = new AtomicLong();
    private final AtomicLong hintsSpared = new AtomicLong();
    private final ExecutorService delivery = Executors.newSingleThreadExecutor(r -> daemon(r, "run-events"));
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "run-events-reconciler"));

    public FollowedRuns(RunStates states, @Value("${gateway.events.reconcile-interval}") Duration reconcileInterval) {
        this.states = states;
        timer.scheduleWithFixedDelay(this::reconcileOnTimer, reconcileInterval.toMillis(), reconcileInterval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Follows a run until the subscription is closed; subscribe before the run starts. */
    public RunEventSource.Subscription follow(UUID runId, Consumer<RunEvent> listener) {
        Follower follower = new Follower(runId, listener);
        followers.put(runId, follower);
        return () -> followers.remove(runId, follower);
    }

    /** Something happened to the run: read it again soon. Hints that arrive while one is pending are merged. */
    public void hint(UUID runId) {
        hint(runId, null);
    }

    /**
     * Something happened to the run, and the hint names the event it announces ({@code step:search:completed}, as
     * pgflow broadcasts it): the run is read again soon unless every event the pending hints named was delivered
     * already (this instance's worker reported it, see {@link #completed}) or is one no reading yields
     * ({@code run:started}). A hint cannot make an event be delivered, only make the run be read; so one that names an
     * event it does not announce, forged or not, can at worst spare a reading that another hint or the timer then does.
     */
    public void hint(UUID runId, String event) {
        Follower follower = followers.get(runId);
        if (follower == null) {
            return;
        }
        follower.hints.incrementAndGet();
        if (event == null) {
            follower.unnamedHint = true;
        } else {
            follower.hintedEvents.add(event);
        }
        if (follower.pending.compareAndSet(false, true)) {
            delivery.execute(() -> {
                follower.pending.set(false);
                if (follower.committing.get() > 0) {
                    // A commit of this run is on its way back here: its reports come first, then the hints are looked at.
                    follower.hintsWaiting = true;
                    return;
                }
                lookAtHints(follower);
            });
        }
    }

    private void lookAtHints(Follower follower) {
        if (follower.needsReading()) {
            reconcile(List.of(follower));
        } else {
            hintsSpared.incrementAndGet();
        }
    }

    @Override
    public boolean follows(UUID runId) {
        return followers.containsKey(runId);
    }

    @Override
    public Commit committing(UUID runId) {
        Follower follower = followers.get(runId);
        if (follower == null) {
            return Commit.NONE;
        }
        follower.committing.incrementAndGet();
        AtomicBoolean closed = new AtomicBoolean();
        return () -> {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            // The commit counts as on its way until its reports have been delivered, not merely sent: on the delivery
            // thread, queued after them. A hint queued ahead of the reports (the thread was busy) then still waits for
            // them, rather than finding the commit done and its events not yet delivered, and reading the run.
            delivery.execute(() -> {
                if (follower.committing.decrementAndGet() == 0 && follower.hintsWaiting) {
                    follower.hintsWaiting = false;
                    lookAtHints(follower);
                }
            });
        };
    }

    /**
     * An event this instance's own worker has just committed to pgflow for a followed run (it claimed a step, so pgflow
     * had started it; it completed one, with the output pgflow stored): a fact of this database written from here, not
     * something a message claims. It is handed on at once, without reading the run, if every event in {@code after}
     * (the events pgflow's order puts before it) was delivered; otherwise the run is read, which delivers them all in
     * order ({@code after} null: always read). Nothing is built for a run not followed here.
     */
    private void committedHere(UUID runId, List<String> after, Supplier<RunEvent> event) {
        Follower follower = followers.get(runId);
        if (follower == null) {
            return;
        }
        delivery.execute(() -> {
            if (followers.get(runId) != follower) {
                return;
            }
            if (after == null || !follower.delivered.containsAll(after)) {
                reconcile(List.of(follower));
                return;
            }
            RunEvent committed = event.get();
            deliveredHere.addAndGet(follower.deliver(Map.of(committed.event(), committed)));
        });
    }

    /**
     * The source was away (a reconnect, a rejoin), or the timer is due: every followed run may have missed events. At
     * most one such reading waits at a time, so a slow database (an outage) does not pile them up behind the hints.
     */
    public void hintAll() {
        followers.values().forEach(follower -> follower.hints.incrementAndGet());
        if (allPending.compareAndSet(false, true)) {
            delivery.execute(() -> {
                allPending.set(false);
                reconcileAll();
            });
        }
    }

    /**
     * The timer's reading: what it delivers is what no hint brought in time (the fallback). A run with a commit on its
     * way here is left to that commit's reports (and read by the next tick if the commit failed): under load the
     * reports wait behind other deliveries, and the timer would read the run for events they are about to bring.
     */
    private void reconcileOnTimer() {
        if (timerPending.compareAndSet(false, true)) {
            delivery.execute(() -> {
                timerPending.set(false);
                reconcile(followers.values().stream().filter(follower -> follower.committing.get() == 0).toList(), true);
            });
        }
    }

    private void reconcileAll() {
        reconcile(List.copyOf(followers.values()), false);
    }

    /** Events handed on after a hint (a broadcast, a NOTIFY, a join's or reconnect's catch-up). */
    public long eventsDeliveredOnHint() {
        return deliveredOnHint.get();
    }

    @Override
    public void started(StepTask task, List<String> dependsOn) {
        if (task.taskIndex() == 0 && task.stepStartedAt() != null) {
            committedHere(task.runId(), completionsOf(dependsOn),
                    () -> states.stepStarted(task.runId(), task.stepSlug(), task.stepStartedAt()));
        }
    }

    @Override
    public void stepsStarted(UUID runId, List<StartedStep> steps) {
        for (StartedStep step : steps) {
            if (step.dependsOn() == null) {
                // What it waited for is not known here: a reading delivers it in order.
                committedHere(runId, null, null);
                return;
            }
            committedHere(runId, completionsOf(step.dependsOn()),
                    () -> states.stepStarted(runId, step.stepSlug(), step.startedAt()));
        }
    }

    @Override
    public void completed(StepTask task, String completedAt, String output) {
        if (task.taskIndex() == 0) {
            committedHere(task.runId(), List.of("step:" + task.stepSlug() + ":started"),
                    () -> states.stepCompleted(task.runId(), task.stepSlug(), completedAt, output));
        }
    }

    @Override
    public void runCompleted(UUID runId, String completedAt, String output, List<String> steps) {
        committedHere(runId, completionsOf(steps),
                () -> states.runCompleted(runId, completedAt, output));
    }

    /** The names of the steps' completion events, as pgflow broadcasts them. */
    private static List<String> completionsOf(List<String> steps) {
        return steps.stream().map(step -> "step:" + step + ":completed").toList();
    }

    /** Events this instance's worker reported as it committed them, handed on without a reading. */
    public long eventsDeliveredFromHere() {
        return deliveredHere.get();
    }

    /** Hints that needed no reading: every event they named had been delivered. */
    public long hintsSpared() {
        return hintsSpared.get();
    }

    /** Events the reconciler's timer handed on for a run no hint had come for since its last reading: the fallback. */
    public long eventsDeliveredOnTimer() {
        return deliveredOnTimer.get();
    }

    private void reconcile(List<Follower> batch) {
        reconcile(batch, false);
    }

    /** Runs on the delivery thread only, so each listener sees its run's events one at a time and in order. */
    private void reconcile(List<Follower> batch, boolean onTimer) {
        if (batch.isEmpty()) {
            return;
        }
        Map<UUID, Follower> byRun = new HashMap<>();
        Map<UUID, Long> hintsBefore = new HashMap<>();
        batch.forEach(follower -> {
            byRun.put(follower.runId, follower);
            hintsBefore.put(follower.runId, follower.hints.get());
        });
        try {
            Map<UUID, Map<String, RunEvent>> implied = states.impliedEvents(byRun.keySet(),
                    (runId, name) -> !byRun.get(runId).delivered.contains(name));
            implied.forEach((runId, events) -> {
                Follower follower = byRun.get(runId);
                boolean unhinted = onTimer && hintsBefore.get(runId) == follower.hintsRead;
                (unhinted ? deliveredOnTimer : deliveredOnHint).addAndGet(follower.deliver(events));
            });
            hintsBefore.forEach((runId, hints) -> byRun.get(runId).hintsRead = hints);
        } catch (RuntimeException e) {
            log.warn("Could not read the state of {} followed run(s): {}", batch.size(), e.getMessage());
        }
    }

    @Override
    public void destroy() {
        timer.shutdownNow();
        delivery.shutdownNow();
    }

    private static Thread daemon(Runnable runnable, String name) {
        Thread thread = new Thread(runnable, name);
        thread.setDaemon(true);
        return thread;
    }

    private final class Follower {
        private final UUID runId;
        private final Consumer<RunEvent> listener;
        /** Names of the events the listener accepted; touched only on the delivery thread. */
        private final Set<String> delivered = new HashSet<>();
        private final AtomicBoolean pending = new AtomicBoolean();
        /** Hints received for the run, and how many of them a reading had seen (delivery thread only). */
        private final AtomicLong hints = new AtomicLong();
        private long hintsRead;
        /** Events named by hints not yet looked at, and whether a hint named none (a join's or reconnect's catch-up). */
        private final Queue<String> hintedEvents = new ConcurrentLinkedQueue<>();
        private volatile boolean unnamedHint;
        /** Commits of the run this instance has sent and not yet reported, and whether hints wait for them (delivery thread). */
        private final AtomicInteger committing = new AtomicInteger();
        private boolean hintsWaiting;

        Follower(UUID runId, Consumer<RunEvent> listener) {
            this.runId = runId;
            this.listener = listener;
        }

        /** Whether the hints since the last look name an event not delivered yet (delivery thread only). */
        boolean needsReading() {
            boolean needed = unnamedHint;
            unnamedHint = false;
            for (String event = hintedEvents.poll(); event != null; event = hintedEvents.poll()) {
                needed |= !delivered.contains(event) && !NEVER_READ.contains(event);
            }
            return needed;
        }

        /** Returns how many events the listener accepted. */
        int deliver(Map<String, RunEvent> events) {
            int accepted = 0;
            for (Map.Entry<String, RunEvent> event : events.entrySet()) {
                if (followers.get(runId) != this || delivered.contains(event.getKey())) {
                    continue;
                }
                try {
                    listener.accept(event.getValue());
                    delivered.add(event.getKey());
                    accepted++;
                } catch (RuntimeException e) {
                    // Not marked delivered: the next reconcile offers it again, and nothing after it overtakes it.
                    log.warn("Listener of run {} failed on {}: {}", runId, event.getKey(), e.getMessage(), e);
                    return accepted;
                }
            }
            return accepted;
        }
    }
}
