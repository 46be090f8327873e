package io.github.pgflowchat.limits;

import java.util.Map;

import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.support.LocalRedis;

/** {@link LimitsAcrossInstances} with the limits in Redis (database 13 unless TEST_REDIS_URL names one). */
class LimitsAcrossInstancesOnRedisTest extends LimitsAcrossInstances {

    static final int DATABASE = 13;
    private static final Map<String, String> STORE = Map.of("gateway.limits.store", "auto", "gateway.redis.url", LocalRedis.url(DATABASE));

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) throws Exception {
        LocalRedis.client(DATABASE, java.time.Duration.ofSeconds(2)).shutdown();
        register(registry, STORE);
    }

    @Override
    Map<String, String> store() {
        return STORE;
    }

    @Override
    String expectedStore() {
        return "redis";
    }
}
