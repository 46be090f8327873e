package io.github.pgflowchat.chat;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.web.ApiException;

/**
 * What one user may ask of {@code POST /api/chat}: a request rate (token bucket, Bucket4j) and a number of messages
 * (the body size is bounded while it is read, by {@code RequestBodyLimitFilter}). Checked before anything is started;
 * a refusal is 413 or 429 with Retry-After. The buckets live in this instance: with several instances each enforces
 * the rate on its own.
 */
@Component("chatLimits")
public class ChatLimits {

    /**
     * @param requestsPerMinute     chat requests one user may start per minute (bursts up to that many)
     * @param concurrentStreams     open chat streams one user may have at once
     * @param maxMessages           most messages (history included) in one request
     */
    @ConfigurationProperties("gateway.chat.limits")
    public record Properties(int requestsPerMinute, int concurrentStreams, int maxMessages) {
    }

    /** A bucket refills completely within this time, so one idle this long is full and can be made anew. */
    static final Duration REFILL_PERIOD = Duration.ofMinutes(1);

    private final Properties properties;
    private final Cache<String, Bucket> buckets;

    @Autowired
    public ChatLimits(Properties properties) {
        this(properties, Ticker.systemTicker());
    }

    /** {@code ticker} tells the bucket store's time (a test moves it on). */
    ChatLimits(Properties properties, Ticker ticker) {
        this.properties = properties;
        // Buckets of users idle for a refill period are evicted: a new bucket is exactly what they would find.
        this.buckets = Caffeine.newBuilder().expireAfterAccess(REFILL_PERIOD).ticker(ticker).build();
    }

    public Properties properties() {
        return properties;
    }

    /** Takes one request of {@code userId}'s rate, or refuses it with 429. */
    public void admit(String userId) {
        Bucket bucket = buckets.get(userId, id -> Bucket.builder()
                .addLimit(Bandwidth.builder().capacity(properties.requestsPerMinute())
                        .refillGreedy(properties.requestsPerMinute(), REFILL_PERIOD).build())
                .build());
        ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
        if (!probe.isConsumed()) {
            long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForRefill()) + 1);
            throw new ApiException(429, "rate_limited", "Too many chat requests: at most " + properties.requestsPerMinute()
                    + " per minute. Try again in " + seconds + " s.", seconds);
        }
    }

    /** How many users' buckets are held. */
    long trackedUsers() {
        buckets.cleanUp();
        return buckets.estimatedSize();
    }
}
