package io.github.pgflowchat.limits;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param store     where the per-user limits are counted: {@code postgres}, {@code redis}, {@code local} (each instance
 *                  on its own), or {@code auto}: redis when {@code gateway.redis.url} is set, postgres otherwise
 * @param slotLease how long a held slot (an open stream, a resume reader) counts without being renewed; its instance
 *                  renews it every third of this while it holds it, so a killed instance's slots free themselves
 *                  within this time
 */
@ConfigurationProperties("gateway.limits")
public record LimitsProperties(String store, Duration slotLease) {

    public LimitsProperties {
        store = store == null || store.isBlank() ? "auto" : store.strip().toLowerCase(java.util.Locale.ROOT);
        if (!java.util.List.of("auto", "postgres", "redis", "local").contains(store)) {
            throw new IllegalArgumentException("gateway.limits.store (LIMITS_STORE) is '" + store
                    + "'; it must be auto, postgres, redis or local");
        }
        if (slotLease == null || slotLease.compareTo(Duration.ofMillis(300)) < 0) {
            throw new IllegalArgumentException("gateway.limits.slot-lease (LIMITS_SLOT_LEASE) must be at least 300ms, not " + slotLease);
        }
    }
}
