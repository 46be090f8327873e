package io.github.pgflowchat.chat;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Chat streams copied to Redis (when {@code REDIS_URL} is set) so that any instance can serve a resume.
 *
 * @param enabled        copy streams to Redis and read other instances' streams from there (only with a Redis URL)
 * @param keyPrefix      prefix of every key this feature writes ({@code <prefix>stream:<runId>}, {@code <prefix>read:<runId>})
 * @param maxLength      events kept per stream (XADD MAXLEN, approximate): a longer stream loses its oldest events
 * @param expireAfterEnd how long a stream's copy stays in Redis after it ended (a running one expires after the
 *                       stream's maximum duration plus this)
 * @param queueCapacity  events waiting to be written to Redis, all streams together; past it, events are not copied
 *                       (counted) and a reader of their stream elsewhere gets an error instead of a gap
 * @param readerLease    how long a reader on another instance counts as reading after its last renewal: while one
 *                       does, the holding instance does not cancel the answer of a client that went away from it
 */
@ConfigurationProperties("gateway.chat.shared-streams")
public record SharedStreamsProperties(boolean enabled, String keyPrefix, int maxLength, Duration expireAfterEnd,
                                      int queueCapacity, Duration readerLease) {

    public SharedStreamsProperties {
        if (maxLength < 1) {
            throw new IllegalArgumentException("gateway.chat.shared-streams.max-length must be at least 1");
        }
        if (queueCapacity < 1) {
            throw new IllegalArgumentException("gateway.chat.shared-streams.queue-capacity must be at least 1");
        }
        if (expireAfterEnd.toMillis() < 1 || readerLease.toMillis() < 1) {
            throw new IllegalArgumentException("gateway.chat.shared-streams.expire-after-end and reader-lease must be at least 1 ms");
        }
    }
}
