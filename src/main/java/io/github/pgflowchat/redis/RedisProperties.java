package io.github.pgflowchat.redis;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param url            {@code redis://[user:password@]host:port[/db]} (or {@code rediss://} for TLS); empty: no Redis
 * @param commandTimeout a command without a reply by then fails (the caller falls back or answers 503)
 */
@ConfigurationProperties("gateway.redis")
public record RedisProperties(String url, Duration commandTimeout) {
}
