package io.github.pgflowchat.chat;

import com.github.benmanes.caffeine.cache.Ticker;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.web.PerCallerRate;

/**
 * What one user may ask of {@code POST /api/chat}: a request rate ({@link PerCallerRate}) and a number of messages
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

    private final Properties properties;
    private final PerCallerRate requestRate;

    @Autowired
    public ChatLimits(Properties properties) {
        this(properties, Ticker.systemTicker());
    }

    /** {@code ticker} tells the bucket store's time (a test moves it on). */
    ChatLimits(Properties properties, Ticker ticker) {
        this.properties = properties;
        this.requestRate = new PerCallerRate(properties.requestsPerMinute(), "chat requests", ticker);
    }

    public Properties properties() {
        return properties;
    }

    /** Takes one request of {@code userId}'s rate, or refuses it with 429. */
    public void admit(String userId) {
        requestRate.take(userId);
    }

    /** How many users' buckets are held. */
    long trackedUsers() {
        return requestRate.trackedCallers();
    }
}
