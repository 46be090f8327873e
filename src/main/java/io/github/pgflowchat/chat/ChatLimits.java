package io.github.pgflowchat.chat;

import java.time.Duration;

import com.github.benmanes.caffeine.cache.Ticker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.limits.Limits;
import io.github.pgflowchat.limits.UserSlots;
import io.github.pgflowchat.web.PerCallerRate;

/**
 * What one user may ask of {@code POST /api/chat}: a request rate ({@link PerCallerRate}) and a number of messages
 * (the body size is bounded while it is read, by {@code RequestBodyLimitFilter}). Checked before anything is started;
 * a refusal is 413 or 429 with Retry-After. The rate and the open streams are counted where {@link Limits} counts: in
 * the store every instance shares (PostgreSQL or Redis), so a user has the same limits on one instance or five.
 */
@Component("chatLimits")
public class ChatLimits {

    /**
     * @param requestsPerMinute     chat requests one user may start per minute (bursts up to that many)
     * @param concurrentStreams     open chat streams one user may have at once
     * @param maxMessages           most messages (history included) in one request
     * @param readsPerMinute        requests one user may make per minute of the kept conversations (/api/chats)
     */
    @ConfigurationProperties("gateway.chat.limits")
    public record Properties(int requestsPerMinute, int concurrentStreams, int maxMessages, int readsPerMinute) {
    }

    private final Properties properties;
    private final PerCallerRate requestRate;
    private final PerCallerRate readRate;
    private final UserSlots streamSlots;

    @Autowired
    public ChatLimits(Properties properties, Limits limits) {
        this(properties, limits, Ticker.systemTicker());
    }

    /** Counted on this instance alone; {@code ticker} tells the local bucket store's time (a test moves it on). */
    ChatLimits(Properties properties, Ticker ticker) {
        this(properties, new Limits(null, Duration.ofSeconds(30), new SimpleMeterRegistry()), ticker);
    }

    private ChatLimits(Properties properties, Limits limits, Ticker ticker) {
        this.properties = properties;
        this.requestRate = limits.rate("chat", properties.requestsPerMinute(), "chat requests", ticker);
        this.readRate = limits.rate("chat-reads", properties.readsPerMinute(), "requests of your chats", ticker);
        this.streamSlots = limits.slots("streams", properties.concurrentStreams());
    }

    public Properties properties() {
        return properties;
    }

    /** Takes one request of {@code userId}'s rate, or refuses it with 429. */
    public void admit(String userId) {
        requestRate.take(userId);
    }

    /** Takes one request of {@code userId}'s rate of conversation reads and deletes, or refuses it with 429. */
    public void admitRead(String userId) {
        readRate.take(userId);
    }

    /** The open chat streams each user may hold at once (gateway.chat.limits.concurrent-streams). */
    UserSlots streamSlots() {
        return streamSlots;
    }

    /** How many users' local buckets are held. */
    long trackedUsers() {
        return requestRate.trackedCallers();
    }
}
