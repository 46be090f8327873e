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
}
