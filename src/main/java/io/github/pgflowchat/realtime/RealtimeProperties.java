package io.github.pgflowchat.realtime;

import java.net.URI;
import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param url               the project URL ({@code https://<ref>.supabase.co}) or the websocket URL itself
 *                          ({@code wss://…/realtime/v1/websocket})
 * @param apiKey            the project's anon (or publishable) key, sent as {@code apikey}
 * @param accessToken       the JWT sent with each join and refreshed on the channels; the API key when empty
 * @param vsn               protocol version: {@code 2.0.0} (array framing, binary broadcasts) or {@code 1.0.0}
 * @param heartbeatInterval Phoenix servers drop a socket after 60 s of silence
 * @param joinTimeout       a join without a reply by then is tried again
 */
@ConfigurationProperties("gateway.realtime")
public record RealtimeProperties(String url, String apiKey, String accessToken, String vsn, Duration heartbeatInterval,
                                 Duration joinTimeout) {

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
}
