package io.github.pgflowchat.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Redis, when {@code REDIS_URL} ({@code gateway.redis.url}) is set: one Lettuce client for the whole gateway (its
 * connections are thread-safe and multiplexed, so each user of it opens the few it needs). Without it, every shared
 * state lives in PostgreSQL.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnExpression("!'${gateway.redis.url:}'.isBlank()")
public class RedisConfiguration {

    /** Whether a Redis URL is configured: the condition of every Redis-backed bean. */
    public static final String CONFIGURED = "!'${gateway.redis.url:}'.isBlank()";

    @Bean(destroyMethod = "shutdown")
    RedisClient redisClient(RedisProperties properties) {
        RedisURI uri = RedisURI.create(properties.url());
        uri.setTimeout(properties.commandTimeout());
        return RedisClient.create(uri);
    }
}
