package io.github.pgflowchat.pgflow;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param concurrency            tasks this instance runs at once; it reads no more messages than it has free slots
 * @param readVisibilitySeconds  how long a freshly read message stays hidden before its task's timeout is applied
 * @param fallbackPollInterval   polling period for retries whose delay has passed (new tasks arrive by NOTIFY)
 * @param heartbeatInterval      how often the worker row's last_heartbeat_at is refreshed
 * @param deadWorkerAfter        a started task whose worker is silent this long goes back to pgflow via fail_task
 * @param stalledSweepInterval   how often stalled tasks are looked for
 */
@ConfigurationProperties("gateway.worker")
public record WorkerProperties(int concurrency, int readVisibilitySeconds, Duration fallbackPollInterval,
                               Duration heartbeatInterval, Duration deadWorkerAfter, Duration stalledSweepInterval) {

    public WorkerProperties {
        if (concurrency < 1) {
            throw new IllegalArgumentException("gateway.worker.concurrency must be at least 1");
        }
        if (deadWorkerAfter.compareTo(heartbeatInterval.multipliedBy(2)) < 0) {
            // A live worker would otherwise be taken for dead between two heartbeats.
            throw new IllegalArgumentException("gateway.worker.dead-worker-after (" + deadWorkerAfter
                    + ") must be at least twice gateway.worker.heartbeat-interval (" + heartbeatInterval + ")");
        }
    }
}
