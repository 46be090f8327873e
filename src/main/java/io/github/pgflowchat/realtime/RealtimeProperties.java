package io.github.pgflowchat.realtime;

import java.net.URI;
import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.ConstructorBinding;

/**
 * @param url                    the project URL ({@code https://<ref>.supabase.co}) or the websocket URL itself
 *                               ({@code wss://…/realtime/v1/websocket})
 * @param apiKey                 the project's anon (or publishable) key, sent as {@code apikey}
 * @param accessToken            the JWT sent with each join and refreshed on the channels; the API key when empty
 * @param vsn                    protocol version: {@code 2.0.0} (array framing, binary broadcasts) or {@code 1.0.0}
 * @param heartbeatInterval      Phoenix servers drop a socket after 60 s of silence
 * @param joinTimeout            a join without a reply by then is tried again
 * @param maxChannelsPerSocket   channels joined on one socket at most (Supabase refuses the 101st on any plan)
 * @param maxSockets             sockets one instance opens at most; each counts toward the project's connections
 * @param joinsPerSecond         joins this instance sends per second at most, over all its sockets (Free allows 100
 *                               per project, shared with every other client of the project)
 * @param idleSocketTimeout      a socket other than the first with no channel for this long is closed
 */
@ConfigurationProperties("gateway.realtime")
public record RealtimeProperties(String url, String apiKey, String accessToken, String vsn, Duration heartbeatInterval,
                                 Duration joinTimeout, int maxChannelsPerSocket, int maxSockets, double joinsPerSecond,
                                 Duration idleSocketTimeout) {

    public static final int DEFAULT_MAX_CHANNELS_PER_SOCKET = 100;
    public static final int DEFAULT_MAX_SOCKETS = 10;
    public static final double DEFAULT_JOINS_PER_SECOND = 80;
    public static final Duration DEFAULT_IDLE_SOCKET_TIMEOUT = Duration.ofSeconds(60);

    @ConstructorBinding
    public RealtimeProperties {
        if (maxChannelsPerSocket <= 0 || maxSockets <= 0 || joinsPerSecond <= 0 || idleSocketTimeout == null || idleSocketTimeout.isNegative()) {
            throw new IllegalArgumentException("REALTIME_MAX_CHANNELS_PER_SOCKET, REALTIME_MAX_SOCKETS and REALTIME_JOINS_PER_SECOND must be "
                    + "positive and REALTIME_IDLE_SOCKET_TIMEOUT a duration, not " + maxChannelsPerSocket + ", " + maxSockets + ", "
                    + joinsPerSecond + ", " + idleSocketTimeout);
        }
    }

    /** The connection settings with the pool's defaults. */
    public RealtimeProperties(String url, String apiKey, String accessToken, String vsn, Duration heartbeatInterval,
                              Duration joinTimeout) {
        this(url, apiKey, accessToken, vsn, heartbeatInterval, joinTimeout, DEFAULT_MAX_CHANNELS_PER_SOCKET, DEFAULT_MAX_SOCKETS,
                DEFAULT_JOINS_PER_SECOND, DEFAULT_IDLE_SOCKET_TIMEOUT);
    }

    /** The websocket endpoint with {@code apikey} and {@code vsn}, as supabase-js builds it. */
    public URI websocketUri() {
        String base = url.strip().replaceAll("/+$", "");
        if (base.startsWith("https://")) {
            base = "wss://" + base.substring("https://".length());
        } else if (base.startsWith("http://")) {
            base = "ws://" + base.substring("http://".length());
        }
        if (!base.endsWith("/websocket")) {
            base = base + (base.endsWith("/realtime/v1") ? "" : "/realtime/v1") + "/websocket";
        }
        return URI.create(base + "?apikey=" + java.net.URLEncoder.encode(apiKey, java.nio.charset.StandardCharsets.UTF_8) + "&vsn=" + vsn);
    }

    public String token() {
        return accessToken == null || accessToken.isBlank() ? apiKey : accessToken;
    }

    /** How the socket pool is sized and paced. */
    public RealtimeSocketPool.Limits limits() {
        return new RealtimeSocketPool.Limits(maxChannelsPerSocket, maxSockets, joinsPerSecond, idleSocketTimeout);
    }
}
