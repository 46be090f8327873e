package io.github.pgflowchat.chat;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param maxStreamDuration  how long one response stream may stay open before it ends with an error chunk
 * @param keepAliveInterval  idle time after which an SSE comment keeps proxies from closing the connection
 * @param maxMessageChars    longest user message accepted
 * @param resumeRetention    how long an ended stream can still be replayed by {@code GET /api/chat/{chatId}/stream}
 * @param disconnectGrace    how long a stream whose client went away waits for it to resume before the answer is
 *                           cancelled
 * @param maxOpenStreams     chat streams this instance holds at once, all users together
 */
@ConfigurationProperties("gateway.chat")
public record ChatProperties(Duration maxStreamDuration, Duration keepAliveInterval, int maxMessageChars,
                             Duration resumeRetention, Duration disconnectGrace, int maxOpenStreams) {

    public ChatProperties {
        if (maxStreamDuration.isNegative() || maxStreamDuration.isZero()) {
            throw new IllegalArgumentException("gateway.chat.max-stream-duration must be positive");
        }
        if (keepAliveInterval.toMillis() <= 0) {
            throw new IllegalArgumentException("gateway.chat.keep-alive-interval must be at least 1 ms");
        }
        if (maxOpenStreams < 1) {
            throw new IllegalArgumentException("gateway.chat.max-open-streams must be at least 1");
        }
        if (maxMessageChars <= 0) {
            throw new IllegalArgumentException("gateway.chat.max-message-chars must be positive");
        }
    }
}
