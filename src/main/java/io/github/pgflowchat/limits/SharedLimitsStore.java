package io.github.pgflowchat.limits;

import java.time.Duration;
import java.util.Collection;
import java.util.UUID;

import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;

/**
 * Where every instance counts the same per-user limits: PostgreSQL or Redis. Each method either does what it says or
 * throws; {@link Limits} counts on this instance alone while the store throws.
 */
public interface SharedLimitsStore extends AutoCloseable {

    /** {@code postgres} or {@code redis}, as the metrics and logs name it. */
    String name();

    /** Takes one token from the bucket {@code key}, created with {@code configuration} when the store has none. */
    ConsumptionProbe tryConsume(String key, BucketConfiguration configuration);

    /**
     * Takes lease {@code leaseId} on one of the {@code limit} slots of {@code kind} of {@code userId}, unless that many
     * unexpired leases are held already: counting and taking are one atomic step, whichever instance asks.
     */
    boolean tryLease(String kind, String userId, int limit, UUID leaseId, UUID instanceId, Duration lease);

    /** Extends these leases by {@code lease} from now, putting back any the store no longer has. */
    void renew(Collection<SlotLease> leases, UUID instanceId, Duration lease);

    void release(SlotLease lease);

    /** How many unexpired leases of {@code kind} the user holds, on every instance. */
    long held(String kind, String userId);

    /** Deletes expired buckets and leases the store does not expire on its own; also tells whether it answers. */
    void removeExpired();

    @Override
    void close();
}
