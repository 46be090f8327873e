package io.github.pgflowchat.web;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;

/**
 * A request rate per caller: a token bucket (Bucket4j) of {@code perMinute} requests, bursts up to that many, refused
 * with 429 and Retry-After. The bucket is the shared store's when there is one ({@code Limits.rate}, the same bucket on
 * every instance), and this instance's own otherwise or while that store fails. A local bucket idle for a minute has
 * refilled completely, so it is evicted then: a new one is exactly what its caller would find, and idle callers hold
 * no memory.
 */
public final class PerCallerRate {

    /** A bucket refills completely within this time. */
    public static final Duration REFILL_PERIOD = Duration.ofMinutes(1);

    /** The shared bucket of a caller: its probe, or null when the store could not be asked (then the local one counts). */
    @FunctionalInterface
    public interface SharedBuckets {
        ConsumptionProbe tryConsume(String caller, BucketConfiguration configuration);
    }

    private final int perMinute;
    private final String requests;
    private final Cache<String, Bucket> buckets;
    private final BucketConfiguration configuration;
    private final SharedBuckets shared;

    /**
     * Counted on this instance alone.
     *
     * @param requests what is counted, as the refusal names it ("chat requests")
     * @param ticker   the time of the bucket store (a test moves it on)
     */
    public PerCallerRate(int perMinute, String requests, Ticker ticker) {
        this(perMinute, requests, ticker, null);
    }

    /** Counted in {@code shared} first, in this instance's buckets when it answers null. */
    public PerCallerRate(int perMinute, String requests, Ticker ticker, SharedBuckets shared) {
        this.perMinute = perMinute;
        this.requests = requests;
        this.buckets = Caffeine.newBuilder().expireAfterAccess(REFILL_PERIOD).ticker(ticker).build();
        this.configuration = configuration(perMinute);
        this.shared = shared;
    }

    /** {@code perMinute} tokens, refilled evenly over a minute. */
    public static BucketConfiguration configuration(int perMinute) {
        return BucketConfiguration.builder()
                .addLimit(Bandwidth.builder().capacity(perMinute).refillGreedy(perMinute, REFILL_PERIOD).build())
                .build();
    }

    /** Takes one request of the caller's rate, or refuses it with 429. */
    public void take(String caller) {
        ConsumptionProbe probe = shared == null ? null : shared.tryConsume(caller, configuration);
        if (probe == null) {
            probe = buckets.get(caller, id -> Bucket.builder().addLimit(configuration.getBandwidths()[0]).build())
                    .tryConsumeAndReturnRemaining(1);
        }
        if (!probe.isConsumed()) {
            long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForRefill()) + 1);
            throw new ApiException(429, "rate_limited", "Too many " + requests + ": at most " + perMinute
                    + " per minute. Try again in " + seconds + " s.", seconds);
        }
    }

    /** How many callers' local buckets are held. */
    public long trackedCallers() {
        buckets.cleanUp();
        return buckets.estimatedSize();
    }
}
