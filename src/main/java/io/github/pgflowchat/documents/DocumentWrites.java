package io.github.pgflowchat.documents;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.auth.Caller;
import io.github.pgflowchat.web.ApiException;

/**
 * Who may change the corpus every user's answers are drawn from: a document replaces all earlier sections of its
 * source and ranks in everyone's search, so writes are for the write role only (403 otherwise), at a bounded rate
 * per caller (token bucket, Bucket4j, per instance; 429 with Retry-After). Checked before the body is read.
 */
@Component("documentWrites")
public class DocumentWrites {

    /**
     * @param role      the role ({@code role} or {@code app_metadata.role} claim) a token needs to write documents
     * @param perMinute document writes one caller may make per minute (bursts up to that many)
     */
    @ConfigurationProperties("gateway.documents.writes")
    public record Properties(String role, int perMinute) {
    }

    private final Properties properties;
    private final Caller caller;
    /** Only callers holding the write role get a bucket, so there are as many as there are writers. */
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    public DocumentWrites(Properties properties, Caller caller) {
        this.properties = properties;
        this.caller = caller;
    }

    public void admit() {
        if (!caller.hasRole(properties.role())) {
            throw new ApiException(403, "forbidden", "Only tokens whose role (or app_metadata.role) is '" + properties.role()
                    + "' may change documents.");
        }
        Bucket bucket = buckets.computeIfAbsent(caller.userId(), id -> Bucket.builder()
                .addLimit(Bandwidth.builder().capacity(properties.perMinute())
                        .refillGreedy(properties.perMinute(), Duration.ofMinutes(1)).build())
                .build());
        ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
        if (!probe.isConsumed()) {
            long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForRefill()) + 1);
            throw new ApiException(429, "rate_limited", "Too many document writes: at most " + properties.perMinute()
                    + " per minute. Try again in " + seconds + " s.", seconds);
        }
    }
}
