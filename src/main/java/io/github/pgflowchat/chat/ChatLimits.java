package io.github.pgflowchat.chat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.web.ApiException;

/**
 * What one user may ask of {@code POST /api/chat}: a request rate (token bucket, Bucket4j), a body size and a number
 * of messages. Checked before anything is parsed or started; a refusal is 413 or 429 with Retry-After. The buckets
 * live in this instance: with several instances each enforces the rate on its own.
 */
@Component("chatLimits")
public class ChatLimits {

    /**
     * @param requestsPerMinute     chat requests one user may start per minute (bursts up to that many)
     * @param concurrentStreams     open chat streams one user may have at once
     * @param maxBodyBytes          largest request body accepted
     * @param maxMessages           most messages (history included) in one request
     */
    @ConfigurationProperties("gateway.chat.limits")
    public record Properties(int requestsPerMinute, int concurrentStreams, long maxBodyBytes, int maxMessages) {
    }

    private final Properties properties;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    public ChatLimits(Properties properties) {
        this.properties = properties;
    }

    public Properties properties() {
        return properties;
    }

    /** Called with the declared Content-Length (null for a chunked body) before the body is read. */
    public void admit(String userId, Long contentLength) {
        if (contentLength != null && contentLength > properties.maxBodyBytes()) {
            throw tooLarge();
        }
        Bucket bucket = buckets.computeIfAbsent(userId, id -> Bucket.builder()
                .addLimit(Bandwidth.builder().capacity(properties.requestsPerMinute())
                        .refillGreedy(properties.requestsPerMinute(), Duration.ofMinutes(1)).build())
                .build());
        ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
        if (!probe.isConsumed()) {
            long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForRefill()) + 1);
            throw new ApiException(429, "rate_limited", "Too many chat requests: at most " + properties.requestsPerMinute()
                    + " per minute. Try again in " + seconds + " s.", seconds);
        }
    }

    public void checkBody(String body) {
        if (body != null && body.getBytes(StandardCharsets.UTF_8).length > properties.maxBodyBytes()) {
            throw tooLarge();
        }
    }

    private ApiException tooLarge() {
        return new ApiException(413, "body_too_large", "The request body is larger than " + properties.maxBodyBytes() + " bytes.");
    }
}
