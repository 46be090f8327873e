package io.github.pgflowchat.limits;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.github.benmanes.caffeine.cache.Ticker;
import io.github.bucket4j.ConsumptionProbe;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.github.pgflowchat.support.DroppableTcpProxy;
import io.github.pgflowchat.web.ApiException;
import io.github.pgflowchat.web.PerCallerRate;

/**
 * What a shared limit store must do, run on the real server by each store's test: two store objects stand for two
 * instances (each with connections of its own), and what one takes the other sees.
 */
abstract class LimitsStoreContract {

    private final List<AutoCloseable> opened = new ArrayList<>();
    /** A user id of each test's own, so other tests' and earlier runs' keys and rows never count. */
    private String user;

    @BeforeEach
    void newUser() {
        user = "user-" + UUID.randomUUID();
    }

    /** A store on the test's server; {@code port} a proxy in front of it, or 0 for the server itself. */
    abstract SharedLimitsStore open(int port) throws Exception;

    /** The server's own port, for a proxy in front of it. */
    abstract int serverPort();

    /** Closed after the test, after what was opened later. */
    void closeAfter(AutoCloseable closeable) {
        opened.add(closeable);
    }

    SharedLimitsStore instance() throws Exception {
        SharedLimitsStore store = open(0);
        opened.add(store);
        return store;
    }

    @AfterEach
    void closeStores() throws Exception {
        for (AutoCloseable closeable : opened.reversed()) {
            closeable.close();
        }
    }

    @Test
    void aRateBucketIsOneForBothInstances() throws Exception {
        SharedLimitsStore a = instance();
        SharedLimitsStore b = instance();
        var perMinute = PerCallerRate.configuration(5);

        for (int i = 0; i < 3; i++) {
            assertThat(a.tryConsume("chat:" + user, perMinute).isConsumed()).as("request %d on A", i).isTrue();
        }
        for (int i = 0; i < 2; i++) {
            assertThat(b.tryConsume("chat:" + user, perMinute).isConsumed()).as("request %d on B", i).isTrue();
        }
        ConsumptionProbe refused = b.tryConsume("chat:" + user, perMinute);

        assertThat(refused.isConsumed()).as("the sixth request in a minute, whichever instance gets it").isFalse();
        assertThat(a.tryConsume("chat:" + user, perMinute).isConsumed()).isFalse();
        assertThat(refused.getNanosToWaitForRefill()).isBetween(1L, TimeUnit.SECONDS.toNanos(13));
        assertThat(a.tryConsume("documents:" + user, perMinute).isConsumed()).as("another limit's bucket").isTrue();
    }

    @Test
    void theLastSlotGoesToOneOfManyRacingRequestsOnTwoInstances() throws Exception {
        SharedLimitsStore a = instance();
        SharedLimitsStore b = instance();
        UUID instanceA = UUID.randomUUID();
        UUID instanceB = UUID.randomUUID();
        int requests = 24;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(requests);
        try {
            List<Future<Boolean>> taken = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                SharedLimitsStore store = i % 2 == 0 ? a : b;
                UUID instance = i % 2 == 0 ? instanceA : instanceB;
                taken.add(threads.submit(() -> {
                    go.await();
                    return store.tryLease("streams", user, 3, UUID.randomUUID(), instance, Duration.ofSeconds(30));
                }));
            }
            go.countDown();
            int granted = 0;
            for (Future<Boolean> result : taken) {
                granted += result.get(30, TimeUnit.SECONDS) ? 1 : 0;
            }

            assertThat(granted).as("leases granted of 3 slots to %d racing requests", requests).isEqualTo(3);
            assertThat(a.held("streams", user)).isEqualTo(3);
            assertThat(b.held("readers", user)).as("another kind of slot").isZero();
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void aReleasedSlotIsFreeOnTheOtherInstance() throws Exception {
        SharedLimitsStore a = instance();
        SharedLimitsStore b = instance();
        UUID first = UUID.randomUUID();
        assertThat(a.tryLease("streams", user, 2, first, UUID.randomUUID(), Duration.ofSeconds(30))).isTrue();
        assertThat(a.tryLease("streams", user, 2, UUID.randomUUID(), UUID.randomUUID(), Duration.ofSeconds(30))).isTrue();
        assertThat(b.tryLease("streams", user, 2, UUID.randomUUID(), UUID.randomUUID(), Duration.ofSeconds(30))).isFalse();

        a.release(SlotLease.of(first, "streams", user));

        assertThat(b.tryLease("streams", user, 2, UUID.randomUUID(), UUID.randomUUID(), Duration.ofSeconds(30))).isTrue();
        assertThat(b.held("streams", user)).isEqualTo(2);
    }

    @Test
    void aLeaseNotRenewedExpiresAndOneRenewedStays() throws Exception {
        SharedLimitsStore a = instance();
        SharedLimitsStore b = instance();
        UUID instance = UUID.randomUUID();
        Duration lease = Duration.ofMillis(800);
        UUID renewed = UUID.randomUUID();
        String other = user + "-other";
        assertThat(a.tryLease("streams", user, 1, renewed, instance, lease)).isTrue();
        assertThat(a.tryLease("streams", other, 1, UUID.randomUUID(), instance, lease)).isTrue();

        // The instance of `other` is killed: its lease is not renewed. `user`'s lease is renewed.
        long until = System.nanoTime() + Duration.ofMillis(1600).toNanos();
        while (System.nanoTime() < until) {
            a.renew(List.of(SlotLease.of(renewed, "streams", user)), instance, lease);
            Thread.sleep(200);
        }

        assertThat(b.tryLease("streams", user, 1, UUID.randomUUID(), UUID.randomUUID(), lease))
                .as("the renewed lease still holds the only slot").isFalse();
        assertThat(b.tryLease("streams", other, 1, UUID.randomUUID(), UUID.randomUUID(), lease))
                .as("the slot of the lease that expired is free").isTrue();
    }

    @Test
    void aRenewalPutsBackALeaseTheStoreLost() throws Exception {
        SharedLimitsStore a = instance();
        UUID instance = UUID.randomUUID();
        UUID id = UUID.randomUUID();
        SlotLease lease = SlotLease.of(id, "readers", user);
        assertThat(a.tryLease("readers", user, 1, id, instance, Duration.ofSeconds(30))).isTrue();
        a.release(lease);
        assertThat(a.held("readers", user)).isZero();

        a.renew(List.of(lease), instance, Duration.ofSeconds(30));

        assertThat(a.held("readers", user)).isEqualTo(1);
        assertThat(a.tryLease("readers", user, 1, UUID.randomUUID(), instance, Duration.ofSeconds(30))).isFalse();
    }

    @Test
    void whenTheStoreIsDownAnInstanceCountsOnItsOwnAndGoesBackWhenItIsUp() throws Exception {
        SharedLimitsStore direct = instance();
        try (DroppableTcpProxy proxy = new DroppableTcpProxy(serverPort())) {
            SharedLimitsStore proxied = open(proxy.port());
            SimpleMeterRegistry meters = new SimpleMeterRegistry();
            Limits limits = new Limits(proxied, Duration.ofMillis(600), meters);
            opened.add(limits::destroy);
            UserSlots streams = limits.slots("streams", 1);
            PerCallerRate rate = limits.rate("chat", 2, "chat requests", Ticker.systemTicker());
            Optional<SlotLease> shared = streams.tryTake(user);
            assertThat(shared).isPresent();
            assertThat(direct.held("streams", user)).isEqualTo(1);
            String during = user + "-during";

            proxy.refuseConnections(true);
            Optional<SlotLease> local = streams.tryTake(during);

            assertThat(local).as("a slot while the store is down: counted here, not refused").isPresent();
            assertThat(limits.degraded()).isTrue();
            assertThat(meters.get("gateway.limits.store.failures").counter().count()).isGreaterThanOrEqualTo(1);
            assertThat(meters.get("gateway.limits.store.degraded").gauge().value()).isEqualTo(1);
            assertThat(streams.tryTake(during)).as("the local count still holds the limit").isEmpty();
            rate.take(during);
            rate.take(during);
            assertThatThrownBy(() -> rate.take(during)).isInstanceOf(ApiException.class).hasMessageContaining("at most 2 per minute");

            proxy.refuseConnections(false);

            await().atMost(Duration.ofSeconds(15)).until(() -> !limits.degraded());
            assertThat(meters.get("gateway.limits.store.degraded").gauge().value()).isZero();
            assertThat(direct.held("streams", during)).as("the lease taken while the store was down, put back").isEqualTo(1);
            assertThat(direct.held("streams", user)).as("the lease held all along, renewed").isEqualTo(1);
            assertThat(streams.tryTake(during)).isEmpty();
            local.get().release();
            assertThat(direct.held("streams", during)).isZero();
            assertThat(streams.tryTake(during)).isPresent();
        }
    }
}
