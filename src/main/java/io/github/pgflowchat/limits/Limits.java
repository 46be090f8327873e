package io.github.pgflowchat.limits;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import com.github.benmanes.caffeine.cache.Ticker;
import io.lettuce.core.RedisClient;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.event.ContextRefreshedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.redis.RedisProperties;
import io.github.pgflowchat.web.PerCallerRate;

/**
 * The per-user limits of every instance, counted in one place (docs/decisions/0019): request rates as Bucket4j
 * buckets and held slots (open streams, resume readers) as leases, in PostgreSQL or Redis
 * ({@code gateway.limits.store}). This instance renews the leases it holds every third of
 * {@code gateway.limits.slot-lease}; a killed instance's leases expire and its users' slots come back.
 * <p>
 * The limit store never fails a request: when it throws, this instance logs a WARN, counts
 * {@code gateway.limits.store.failures}, sets {@code gateway.limits.store.degraded} to 1 and counts on its own (its own
 * buckets, the slots it holds) until a renewal reaches the store again, which also puts back the leases taken
 * meanwhile. With {@code local} there is no shared store: each instance counts its own users, as before.
 */
@Component("limits")
public class Limits implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(Limits.class);

    private final SharedLimitsStore store;
    private final Duration lease;
    private final UUID instanceId = UUID.randomUUID();
    /** The leases this instance holds, by kind and user: what it renews, and what it counts while the store fails. */
    private final Map<String, List<SlotLease>> held = new ConcurrentHashMap<>();
    private final AtomicInteger heldCount = new AtomicInteger();
    private final Counter failures;
    private volatile boolean degraded;
    /** Failures so far: a renewal under way when the store failed must not end the degraded state it did not see. */
    private final AtomicLong failuresSeen = new AtomicLong();
    private final ScheduledExecutorService renewer;
    private final AtomicBoolean renewing = new AtomicBoolean();

    @Autowired
    public Limits(LimitsProperties properties, ObjectProvider<DataSource> dataSource, ObjectProvider<RedisClient> redis,
                  ObjectProvider<RedisProperties> redisProperties, MeterRegistry meters) {
        // Renewals start once the context is up: before that the migrations may not have created the tables.
        this(open(properties.store(), dataSource, redis, redisProperties), properties.slotLease(), meters, false);
    }

    /** Over {@code store} (null: each instance counts alone), renewing from now on. */
    public Limits(SharedLimitsStore store, Duration lease, MeterRegistry meters) {
        this(store, lease, meters, true);
    }

    private Limits(SharedLimitsStore store, Duration lease, MeterRegistry meters, boolean renewNow) {
        this.store = store;
        this.lease = lease;
        String name = store == null ? "local" : store.name();
        this.failures = Counter.builder("gateway.limits.store.failures").tag("store", name)
                .description("Calls to the shared limit store that failed (the instance then counted on its own)")
                .register(meters);
        Gauge.builder("gateway.limits.store.degraded", this, limits -> limits.degraded ? 1 : 0).tag("store", name)
                .description("1 while this instance counts the per-user limits on its own because the shared store fails")
                .register(meters);
        Gauge.builder("gateway.limits.leases.held", heldCount, AtomicInteger::get)
                .description("Slots (open streams, resume readers) this instance holds").register(meters);
        if (store == null) {
            this.renewer = null;
            log.info("Per-user limits are counted by each instance on its own (gateway.limits.store=local)");
        } else {
            log.info("Per-user limits are shared between instances in {} (instance {})", name, instanceId);
            this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread thread = new Thread(r, "limits-lease-renewal");
                thread.setDaemon(true);
                return thread;
            });
            if (renewNow) {
                startRenewing();
            }
        }
    }

    /** Renews the leases held every third of the lease, from when the application context is up. */
    @EventListener(ContextRefreshedEvent.class)
    public void startRenewing() {
        if (renewer != null && renewing.compareAndSet(false, true)) {
            long every = Math.max(100, lease.toMillis() / 3);
            renewer.scheduleWithFixedDelay(this::renewAndSweep, every, every, TimeUnit.MILLISECONDS);
        }
    }

    private static SharedLimitsStore open(String store, ObjectProvider<DataSource> dataSource, ObjectProvider<RedisClient> redis,
                                          ObjectProvider<RedisProperties> redisProperties) {
        RedisClient client = redis.getIfAvailable();
        String chosen = store.equals("auto") ? (client != null ? "redis" : "postgres") : store;
        return switch (chosen) {
            case "local" -> null;
            case "postgres" -> new PostgresLimitsStore(dataSource.getObject());
            case "redis" -> {
                if (client == null) {
                    throw new IllegalStateException("gateway.limits.store=redis (LIMITS_STORE) needs REDIS_URL (gateway.redis.url)");
                }
                yield new RedisLimitsStore(client, redisProperties.getObject().commandTimeout());
            }
            default -> throw new IllegalStateException("unknown limit store " + chosen);
        };
    }

    /** The store's name: postgres, redis or local. */
    public String storeName() {
        return store == null ? "local" : store.name();
    }

    public UUID instanceId() {
        return instanceId;
    }

    /** Whether this instance counts on its own because the shared store fails. */
    public boolean degraded() {
        return degraded;
    }

    /**
     * A request rate of {@code perMinute} per caller named {@code name} ("chat", "documents"), shared between
     * instances like every limit here.
     */
    public PerCallerRate rate(String name, int perMinute, String requests, Ticker ticker) {
        if (store == null) {
            return new PerCallerRate(perMinute, requests, ticker);
        }
        return new PerCallerRate(perMinute, requests, ticker, (caller, configuration) -> {
            if (degraded) {
                return null;
            }
            try {
                return store.tryConsume(name + ":" + caller, configuration);
            } catch (RuntimeException e) {
                failed(e);
                return null;
            }
        });
    }

    /** {@code limit} slots of {@code kind} ("streams", "readers") per user. */
    public UserSlots slots(String kind, int limit) {
        return new UserSlots(this, kind, limit);
    }

    Optional<SlotLease> tryTake(String kind, String userId, int limit) {
        SlotLease slot = new SlotLease(UUID.randomUUID(), kind, userId, this);
        String key = kind + "\u0000" + userId;
        if (store != null && !degraded) {
            try {
                if (!store.tryLease(kind, userId, limit, slot.id(), instanceId, lease)) {
                    return Optional.empty();
                }
                held.compute(key, (k, list) -> {
                    List<SlotLease> leases = list == null ? new CopyOnWriteArrayList<>() : list;
                    leases.add(slot);
                    return leases;
                });
                heldCount.incrementAndGet();
                return Optional.of(slot);
            } catch (RuntimeException e) {
                failed(e);
            }
        }
        boolean[] taken = {false};
        held.compute(key, (k, list) -> {
            List<SlotLease> leases = list == null ? new CopyOnWriteArrayList<>() : list;
            if (leases.size() < limit) {
                leases.add(slot);
                taken[0] = true;
            }
            return leases.isEmpty() ? null : leases;
        });
        if (!taken[0]) {
            return Optional.empty();
        }
        heldCount.incrementAndGet();
        return Optional.of(slot);
    }

    void release(SlotLease slot) {
        boolean[] removed = {false};
        held.computeIfPresent(slot.kind() + "\u0000" + slot.userId(), (k, list) -> {
            removed[0] = list.remove(slot);
            return list.isEmpty() ? null : list;
        });
        if (removed[0]) {
            heldCount.decrementAndGet();
        }
        if (store != null && !degraded) {
            try {
                store.release(slot);
            } catch (RuntimeException e) {
                // Not renewed any more, the lease expires within gateway.limits.slot-lease.
                failed(e);
            }
        }
    }

    /** The renewal: every lease held, in one call; also how a degraded instance finds the store back. */
    void renewAndSweep() {
        long failuresBefore = failuresSeen.get();
        try {
            List<SlotLease> leases = new ArrayList<>(heldCount.get() + 8);
            held.values().forEach(leases::addAll);
            store.renew(leases, instanceId, lease);
            store.removeExpired();
            if (degraded && failuresSeen.get() == failuresBefore) {
                // Every lease held when the store failed is in this renewal; one taken locally while it ran, in the next.
                degraded = false;
                log.info("The limit store ({}) answers again: per-user limits are shared between instances again ({} leases put back)",
                        store.name(), leases.size());
            }
        } catch (RuntimeException e) {
            failed(e);
        }
    }

    private void failed(RuntimeException e) {
        failures.increment();
        failuresSeen.incrementAndGet();
        if (!degraded) {
            degraded = true;
            log.warn("The limit store ({}) failed: {}. Until it answers again this instance counts each user's rate and slots on its own.",
                    store.name(), e.toString());
        }
    }

    @Override
    public void destroy() {
        if (renewer != null) {
            renewer.shutdownNow();
        }
        if (store != null) {
            // What is still held when the context closes goes back at once rather than when its lease runs out.
            held.values().forEach(leases -> leases.forEach(SlotLease::release));
            store.close();
        }
    }
}
