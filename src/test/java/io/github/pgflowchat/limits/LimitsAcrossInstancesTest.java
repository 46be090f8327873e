package io.github.pgflowchat.limits;

import java.util.Map;

import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** {@link LimitsAcrossInstances} with the limits in PostgreSQL (the default without REDIS_URL). */
class LimitsAcrossInstancesTest extends LimitsAcrossInstances {

    private static final Map<String, String> STORE = Map.of("gateway.limits.store", "auto", "gateway.redis.url", "");

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) throws Exception {
        register(registry, STORE);
    }

    @Override
    Map<String, String> store() {
        return STORE;
    }

    @Override
    String expectedStore() {
        return "postgres";
    }
}
