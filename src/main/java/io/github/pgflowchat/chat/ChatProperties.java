package io.github.pgflowchat.chat;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param maxStreamDuration  how long one response stream may stay open before it ends with an error chunk
 * @param keepAliveInterval  idle time after which an SSE comment keeps proxies from closing the connection
 * @param maxMessageChars    longest user message accepted
 */
@ConfigurationProperties("gateway.chat")
public record ChatProperties(Duration maxStreamDuration, Duration keepAliveInterval, int maxMessageChars) {
}
