package io.github.pgflowchat.retention;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param runs        how long a finished run (completed or failed) is kept with its steps and tasks, and how long the
 *                    queue's archived messages are; zero keeps them for ever
 * @param deadWorkers how long a pgflow worker row is kept after its last heartbeat
 * @param interval    time between two prunings
 * @param batchSize   rows deleted per statement, so no delete holds its locks for long
 */
@ConfigurationProperties("gateway.retention")
public record RetentionProperties(Duration runs, Duration deadWorkers, Duration interval, int batchSize) {
}
