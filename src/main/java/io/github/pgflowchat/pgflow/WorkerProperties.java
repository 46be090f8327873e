package io.github.pgflowchat.pgflow;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param concurrency            tasks this instance runs at once of the steps that share the worker's pool (those whose
 *                               route sets no {@code concurrency} of its own and is not streamed): the steps that use
 *                               CPU and the database; it reads no more messages than it has free slots
 * @param streamedConcurrency    tasks of each streamed step ({@code streamed=true} on its route, unless the route sets
 *                               its own {@code concurrency}) this instance runs at once: such a task waits on the
 *                               model and writes to a chat stream, so it is sized for the streams an instance holds
 * @param readVisibilitySeconds  how long a freshly read message stays hidden before its task's timeout is applied
 * @param fallbackPollInterval   polling period for retries whose delay has passed (new tasks arrive by NOTIFY)
 * @param heartbeatInterval      how often the worker row's last_heartbeat_at and the running tasks' leases are renewed
 * @param visibilityLease        how long a running task's message stays hidden without a renewal (at most its step
 *                               timeout + 2 s)
 * @param deadWorkerAfter        a started task whose worker has sent no heartbeat for this long goes back to pgflow
 *                               (fail_task); the fallback for workers whose lock cannot tell (decision record 0012)
 * @param stalledSweepInterval   how often stalled tasks are looked for: bounds how long the tasks of an instance whose
 *                               lock came free wait
 * @param streamHandoff          how long another instance hides a streamed step's message it read, leaving the task
 *                               to the stream's instance
 */
@ConfigurationProperties("gateway.worker")
public record WorkerProperties(int concurrency, int streamedConcurrency, int readVisibilitySeconds, Duration fallbackPollInterval,
                               Duration heartbeatInterval, Duration visibilityLease, Duration deadWorkerAfter,
                               Duration stalledSweepInterval, Duration streamHandoff) {

    public WorkerProperties {
        if (concurrency < 1) {
            throw new IllegalArgumentException("gateway.worker.concurrency must be at least 1");
        }
        if (streamedConcurrency < 1) {
            throw new IllegalArgumentException("gateway.worker.streamed-concurrency must be at least 1");
        }
        // Otherwise a live worker would lose its lease, or be taken for dead, between two heartbeats.
        requireTwoHeartbeats("visibility-lease", visibilityLease, heartbeatInterval);
        requireTwoHeartbeats("dead-worker-after", deadWorkerAfter, heartbeatInterval);
        if (streamHandoff == null || streamHandoff.toSeconds() < 1) {
            throw new IllegalArgumentException("gateway.worker.stream-handoff must be at least 1s (pgmq hides messages by the second)");
        }
    }

    private static void requireTwoHeartbeats(String name, Duration value, Duration heartbeatInterval) {
        if (value.compareTo(heartbeatInterval.multipliedBy(2)) < 0) {
            throw new IllegalArgumentException("gateway.worker." + name + " (" + value
                    + ") must be at least twice gateway.worker.heartbeat-interval (" + heartbeatInterval + ")");
        }
    }
}
