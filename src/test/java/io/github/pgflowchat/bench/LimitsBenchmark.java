package io.github.pgflowchat.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import com.github.benmanes.caffeine.cache.Ticker;
import io.lettuce.core.RedisClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import io.github.pgflowchat.limits.Limits;
import io.github.pgflowchat.limits.PostgresLimitsStore;
import io.github.pgflowchat.limits.RedisLimitsStore;
import io.github.pgflowchat.limits.SlotLease;
import io.github.pgflowchat.limits.UserSlots;
import io.github.pgflowchat.support.LocalRedis;
import io.github.pgflowchat.web.PerCallerRate;

/**
 * What the per-user limits cost a chat request, by limit store: the request's rate token, its stream slot taken and
 * given back at the stream's end, as {@code POST /api/chat} does them, one request after another on one thread.
 * Local (each instance counting on its own, what every instance did before) is the baseline; PostgreSQL is the
 * gateway's own embedded default database through its own pool; Redis the server at TEST_REDIS_URL (database 14).
 * The stores take turns in rounds so that each sees the same moments of the shared machine.
 */
final class LimitsBenchmark {

    private static final int USERS = 100;
    private static final int ROUNDS = 10;
    private static final int PER_ROUND = 300;
    private static final int WARM_UP = 300;
    static final int REDIS_DATABASE = 14;

    private LimitsBenchmark() {
    }

    private record Store(String name, PerCallerRate rate, UserSlots streams, List<Double> micros) {
        void request(int i) {
            String user = "bench-user-" + (i % USERS);
            rate.take(user);
            Optional<SlotLease> slot = streams.tryTake(user);
            slot.orElseThrow(() -> new IllegalStateException(name + ": no slot for " + user)).release();
        }
    }

    static Table run() throws Exception {
        try (BenchGateway gateway = BenchGateway.start(BenchGateway.offlineWithoutTokenDelay())) {
            RedisClient redis = LocalRedis.client(REDIS_DATABASE, Duration.ofSeconds(2));
            List<Limits> all = new ArrayList<>();
            try {
                Map<String, Store> stores = new LinkedHashMap<>();
                Limits local = new Limits(null, Duration.ofSeconds(30), new SimpleMeterRegistry());
                Limits postgres = new Limits(new PostgresLimitsStore(gateway.dataSource()), Duration.ofSeconds(30), new SimpleMeterRegistry());
                Limits onRedis = new Limits(new RedisLimitsStore(redis, Duration.ofSeconds(2)), Duration.ofSeconds(30), new SimpleMeterRegistry());
                all.addAll(List.of(local, postgres, onRedis));
                for (Limits limits : all) {
                    String suffix = "-" + System.nanoTime();
                    stores.put(limits.storeName(), new Store(limits.storeName(),
                            limits.rate("bench" + suffix, 1_000_000, "bench requests", Ticker.systemTicker()),
                            limits.slots("bench" + suffix, 3), new ArrayList<>()));
                }
                for (Store store : stores.values()) {
                    for (int i = 0; i < WARM_UP; i++) {
                        store.request(i);
                    }
                }
                for (int round = 0; round < ROUNDS; round++) {
                    List<Store> order = new ArrayList<>(stores.values());
                    java.util.Collections.rotate(order, round);
                    for (Store store : order) {
                        for (int i = 0; i < PER_ROUND; i++) {
                            long start = System.nanoTime();
                            store.request(i);
                            store.micros().add((System.nanoTime() - start) / 1e3);
                        }
                    }
                }
                for (Limits limits : all) {
                    if (limits.degraded()) {
                        throw new IllegalStateException("the " + limits.storeName() + " store failed during the benchmark");
                    }
                }
                Store baseline = stores.get("local");
                double baseMean = mean(baseline.micros());
                Table table = new Table("Per-user limits: cost per chat request by limit store")
                        .note("One request = a rate token (Bucket4j), a stream slot taken and released; %d requests per store in %d "
                                + "interleaved rounds after %d of warm-up, %d users, one thread. Baseline: `local` (each instance "
                                + "counts on its own). PostgreSQL: the embedded default through the gateway's pool; Redis: %s.",
                                ROUNDS * PER_ROUND, ROUNDS, WARM_UP, USERS, LocalRedis.url(REDIS_DATABASE));
                for (Store store : stores.values()) {
                    if (store == baseline) {
                        table.row("local: mean / p50 / p99", "", micros(store.micros()), "", "", null);
                        continue;
                    }
                    table.row(store.name() + ": mean / p50 / p99", micros(baseline.micros()), micros(store.micros()),
                            String.format(Locale.ROOT, "%s mean (+%.0f µs)", Table.times(mean(store.micros()) / baseMean),
                                    mean(store.micros()) - baseMean), "", null);
                }
                return table;
            } finally {
                all.forEach(Limits::destroy);
                redis.shutdown();
            }
        }
    }

    private static double mean(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    }

    private static String micros(List<Double> values) {
        return String.format(Locale.ROOT, "%.1f / %.1f / %.1f µs", mean(values), Table.percentile(values, 50), Table.percentile(values, 99));
    }
}
