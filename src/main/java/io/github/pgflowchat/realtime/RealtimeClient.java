package io.github.pgflowchat.realtime;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.github.pgflowchat.logging.LogSafe;

/**
 * One websocket to Supabase Realtime per service instance, multiplexing the channels of every followed run (Phoenix
 * channels protocol). It connects in the background and keeps trying with backoff, so the service starts and serves
 * while Realtime is unreachable; after every (re)connect it joins each channel again; it sends heartbeats and closes
 * a socket whose heartbeat went unanswered; it pushes a changed access token to the joined channels.
 * <p>
 * All state lives on one Vert.x event-loop context, so frames are handled one at a time in arrival order and a
 * channel's messages reach its listener in order. In a {@link RealtimeSocketPool} each socket is one client, and its
 * {@link Quotas} decide when a join may be sent and what a refused one leads to.
 */
public final class RealtimeClient implements AutoCloseable {

    /** What a channel's owner is told. Called on the client's event loop: hand work off, never block. */
    public interface ChannelListener {
        /** The join succeeded (first time or after a reconnect): broadcasts sent before now were not delivered. */
        void onJoined();

        void onBroadcast(String event, JsonNode payload);

        default void onJoinError(String reason) {
        }
    }

    /**
     * What the socket's owner decides about Realtime's quotas; every method is called on the client's context. Alone,
     * a client joins at once and retries anything refused with {@link #BACKOFF}.
     */
    public interface Quotas {
        Quotas NONE = new Quotas() {
        };

        /**
         * Runs {@code join} when a join may be sent; it answers whether it sent one (false: the channel no longer
         * wants it). Every join of this client passes here: the first, rejoins, and all joins after a reconnect.
         */
        default void pace(BooleanSupplier join) {
            join.getAsBoolean();
        }

        /**
         * Realtime refused the channel's join. Answers how long to wait before joining again on this socket, or
         * {@code null} when the channel leaves this client (the owner places it elsewhere).
         */
        default Duration onJoinRefused(String topic, ChannelListener listener, String reason, Duration backoff) {
            return backoff;
        }

        /** A {@code system} error ended the channel (e.g. too many messages per second): the delay before rejoining. */
        default Duration onSystemError(String topic, String message, Duration backoff) {
            return backoff;
        }
    }

    private static final Logger log = LoggerFactory.getLogger(RealtimeClient.class);
    /** Socket reconnect and channel rejoin delays, as realtime-js uses them; the last repeats. */
    private static final List<Duration> BACKOFF = List.of(Duration.ofSeconds(1), Duration.ofSeconds(2),
            Duration.ofSeconds(5), Duration.ofSeconds(10));

    private enum State { CLOSED, WAITING, JOINING, JOINED }

    private final class Channel {
        final String topic;
        final ChannelListener listener;
        State state = State.CLOSED;
        String joinRef;
        int rejoinAttempts;
        /** Which request to join is current: a paced join that waited past a reconnect or a leave is dropped. */
        long joinRequest;
        long rejoinTimer = -1;
        long rejoinDueMillis;

        Channel(String topic, ChannelListener listener) {
            this.topic = topic;
            this.listener = listener;
        }
    }

    private final Vertx vertx;
    private final Context context;
    private final WebSocketClient client;
    private final URI uri;
    private final PhoenixSerializer serializer;
    private final ObjectMapper json;
    private final Supplier<String> accessToken;
    private final Duration heartbeatInterval;
    private final Duration joinTimeout;
    private final Quotas quotas;
    private final Map<String, Channel> channels = new HashMap<>();
    private WebSocket socket;
    private boolean closed;
    private int reconnectAttempts;
    private long ref;
    private String pendingHeartbeat;
    private long heartbeatTimer = -1;
    private String lastToken;
    private volatile boolean connected;
    private volatile long messagesReceived;

    public RealtimeClient(Vertx vertx, URI uri, String vsn, ObjectMapper json, Supplier<String> accessToken,
                          Duration heartbeatInterval, Duration joinTimeout) {
        this(vertx, uri, vsn, json, accessToken, heartbeatInterval, joinTimeout, Quotas.NONE);
    }

    public RealtimeClient(Vertx vertx, URI uri, String vsn, ObjectMapper json, Supplier<String> accessToken,
                          Duration heartbeatInterval, Duration joinTimeout, Quotas quotas) {
        this.vertx = vertx;
        this.quotas = quotas;
        this.context = vertx.getOrCreateContext();
        this.client = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxFrameSize(5_000_000).setMaxMessageSize(5_000_000));
        this.uri = uri;
        this.serializer = new PhoenixSerializer(vsn, json);
        this.json = json;
        this.accessToken = accessToken;
        this.heartbeatInterval = heartbeatInterval;
        this.joinTimeout = joinTimeout;
    }

    /** Starts connecting in the background; an unreachable server is retried, never an error here. */
    public void start() {
        context.runOnContext(v -> connect());
    }

    public boolean isConnected() {
        return connected;
    }

    /** Frames received since start, for the per-run message budget. */
    public long messagesReceived() {
        return messagesReceived;
    }

    public void join(String topic, ChannelListener listener) {
        context.runOnContext(v -> {
            Channel channel = new Channel(topic, listener);
            channels.put(topic, channel);
            if (socket != null) {
                requestJoin(channel);
            }
        });
    }

    public void leave(String topic) {
        context.runOnContext(v -> {
            Channel channel = channels.remove(topic);
            // A join still in flight is left too: the server handles the leave after it, and the channel is not left
            // behind on the server, counting toward its channels-per-socket quota.
            if (channel != null && (channel.state == State.JOINED || channel.state == State.JOINING) && socket != null) {
                push(channel.joinRef, topic, PhoenixMessage.LEAVE, json.createObjectNode());
            }
        });
    }

    @Override
    public void close() {
        context.runOnContext(v -> {
            closed = true;
            if (heartbeatTimer != -1) {
                vertx.cancelTimer(heartbeatTimer);
            }
            if (socket != null) {
                socket.close();
            }
            client.close();
        });
    }

    private void connect() {
        if (closed) {
            return;
        }
        WebSocketConnectOptions options = new WebSocketConnectOptions().setAbsoluteURI(uri.toString());
        client.connect(options).onComplete(result -> {
            if (result.failed()) {
                log.warn("Supabase Realtime unreachable at {}://{}{} ({}); retrying", uri.getScheme(), uri.getAuthority(), uri.getPath(),
                        result.cause().getMessage());
                scheduleReconnect();
                return;
            }
            onConnected(result.result());
        });
    }

    private void onConnected(WebSocket webSocket) {
        if (closed) {
            webSocket.close();
            return;
        }
        socket = webSocket;
        connected = true;
        reconnectAttempts = 0;
        pendingHeartbeat = null;
        lastToken = accessToken.get();
        log.info("Connected to Supabase Realtime (vsn {}); joining {} channel(s)", serializer.vsn(), channels.size());
        webSocket.textMessageHandler(text -> onFrame(() -> serializer.decode(text)));
        webSocket.binaryMessageHandler(buffer -> onFrame(() -> serializer.decode(buffer.getBytes())));
        webSocket.exceptionHandler(error -> log.debug("Realtime socket error: {}", error.toString()));
        webSocket.closeHandler(v -> onDisconnected(webSocket));
        heartbeatTimer = vertx.setPeriodic(heartbeatInterval.toMillis(), id -> heartbeat());
        channels.values().forEach(this::requestJoin);
    }

    private void onDisconnected(WebSocket webSocket) {
        if (socket != webSocket) {
            return;
        }
        socket = null;
        connected = false;
        if (heartbeatTimer != -1) {
            vertx.cancelTimer(heartbeatTimer);
            heartbeatTimer = -1;
        }
        channels.values().forEach(channel -> channel.state = State.CLOSED);
        if (!closed) {
            log.warn("Supabase Realtime connection closed; reconnecting");
            scheduleReconnect();
        }
    }

    private void scheduleReconnect() {
        Duration delay = BACKOFF.get(Math.min(reconnectAttempts++, BACKOFF.size() - 1));
        vertx.setTimer(delay.toMillis(), id -> connect());
    }

    private void heartbeat() {
        if (socket == null) {
            return;
        }
        if (pendingHeartbeat != null) {
            log.warn("Supabase Realtime heartbeat unanswered; closing the socket to reconnect");
            socket.close();
            return;
        }
        pendingHeartbeat = push(null, PhoenixMessage.PHOENIX_TOPIC, PhoenixMessage.HEARTBEAT, json.createObjectNode());
        String token = accessToken.get();
        if (token != null && !token.equals(lastToken)) {
            lastToken = token;
            channels.values().stream().filter(c -> c.state == State.JOINED).forEach(channel -> {
                ObjectNode payload = json.createObjectNode().put(PhoenixMessage.ACCESS_TOKEN, token);
                push(channel.joinRef, channel.topic, PhoenixMessage.ACCESS_TOKEN, payload);
            });
        }
    }

    /** Asks the quotas for a slot to join in; the join is sent only if the channel still wants it then. */
    private void requestJoin(Channel channel) {
        channel.state = State.WAITING;
        long request = ++channel.joinRequest;
        quotas.pace(() -> {
            if (closed || socket == null || channels.get(channel.topic) != channel || channel.state != State.WAITING
                    || channel.joinRequest != request) {
                return false;
            }
            sendJoin(channel);
            return true;
        });
    }

    private void sendJoin(Channel channel) {
        ObjectNode payload = json.createObjectNode();
        ObjectNode config = payload.putObject("config");
        config.putObject("broadcast").put("ack", false).put("self", false);
        config.putObject("presence").put("key", "").put("enabled", false);
        config.putArray("postgres_changes");
        // pgflow 0.8.1 broadcasts on public topics (realtime.send(..., private => false)).
        config.put("private", false);
        payload.put(PhoenixMessage.ACCESS_TOKEN, accessToken.get());
        channel.state = State.JOINING;
        String joinRef = nextRef();
        channel.joinRef = joinRef;
        send(new PhoenixMessage(joinRef, joinRef, channel.topic, PhoenixMessage.JOIN, payload));
        vertx.setTimer(joinTimeout.toMillis(), id -> {
            if (channels.get(channel.topic) == channel && channel.state == State.JOINING && joinRef.equals(channel.joinRef)) {
                log.warn("No reply to the join of {} within {}; trying again", channel.topic, joinTimeout);
                scheduleRejoin(channel, nextBackoff(channel));
            }
        });
    }

    private Duration nextBackoff(Channel channel) {
        return BACKOFF.get(Math.min(channel.rejoinAttempts++, BACKOFF.size() - 1));
    }

    /**
     * Joins again after {@code delay}; a rejoin already due later stands (a {@code system} error's back-off is not
     * cut short by the {@code phx_close} that follows it).
     */
    private void scheduleRejoin(Channel channel, Duration delay) {
        channel.state = State.CLOSED;
        long due = System.currentTimeMillis() + delay.toMillis();
        if (channel.rejoinTimer != -1) {
            if (channel.rejoinDueMillis >= due) {
                return;
            }
            vertx.cancelTimer(channel.rejoinTimer);
        }
        channel.rejoinDueMillis = due;
        channel.rejoinTimer = vertx.setTimer(Math.max(1, delay.toMillis()), id -> {
            channel.rejoinTimer = -1;
            if (channels.get(channel.topic) == channel && channel.state == State.CLOSED && socket != null) {
                requestJoin(channel);
            }
        });
    }

    private void onFrame(Supplier<PhoenixMessage> decoding) {
        PhoenixMessage message;
        try {
            message = decoding.get();
        } catch (RuntimeException e) {
            log.warn("Ignoring a Realtime frame that cannot be read: {}", LogSafe.prefix(e.getMessage(), 200));
            return;
        }
        messagesReceived++;
        if (PhoenixMessage.PHOENIX_TOPIC.equals(message.topic())) {
            if (PhoenixMessage.REPLY.equals(message.event()) && message.ref() != null && message.ref().equals(pendingHeartbeat)) {
                pendingHeartbeat = null;
            }
            return;
        }
        Channel channel = channels.get(message.topic());
        if (channel == null) {
            return;
        }
        switch (message.event()) {
            case PhoenixMessage.REPLY -> onReply(channel, message);
            case PhoenixMessage.BROADCAST -> {
                if (message.joinRef() == null || message.joinRef().equals(channel.joinRef)) {
                    JsonNode broadcast = message.payload();
                    channel.listener.onBroadcast(broadcast.path("event").asText(), broadcast.path("payload"));
                }
            }
            case PhoenixMessage.ERROR, PhoenixMessage.CLOSE -> {
                if (channel.state == State.CLOSED && channel.rejoinTimer != -1) {
                    // Already ended (a system error, then this close) and due to join again: one back-off step, not two.
                    log.debug("Realtime channel {} ended ({}), already rejoining", channel.topic, message.event());
                } else if (message.joinRef() == null || message.joinRef().equals(channel.joinRef)) {
                    log.warn("Realtime channel {} ended ({}); joining again", channel.topic, message.event());
                    scheduleRejoin(channel, nextBackoff(channel));
                }
            }
            case PhoenixMessage.SYSTEM -> {
                if ("error".equals(message.payload().path("status").asText())) {
                    String text = message.payload().path("message").asText();
                    log.warn("Realtime channel {}: {}; joining again", channel.topic, LogSafe.prefix(text, 200));
                    scheduleRejoin(channel, quotas.onSystemError(channel.topic, text, nextBackoff(channel)));
                }
            }
            default -> log.debug("Ignoring {} on {}", LogSafe.prefix(message.event()), channel.topic);
        }
    }

    private void onReply(Channel channel, PhoenixMessage reply) {
        if (channel.state != State.JOINING || reply.ref() == null || !reply.ref().equals(channel.joinRef)) {
            return;
        }
        if ("ok".equals(reply.payload().path("status").asText())) {
            channel.state = State.JOINED;
            channel.rejoinAttempts = 0;
            channel.listener.onJoined();
        } else {
            String reason = reply.payload().path("response").path("reason").asText("join refused");
            log.warn("Realtime refused the join of {}: {}", channel.topic, LogSafe.prefix(reason, 200));
            channel.listener.onJoinError(reason);
            Duration delay = quotas.onJoinRefused(channel.topic, channel.listener, reason, nextBackoff(channel));
            if (delay == null) {
                channels.remove(channel.topic);
                channel.state = State.CLOSED;
            } else {
                scheduleRejoin(channel, delay);
            }
        }
    }

    private String push(String joinRef, String topic, String event, JsonNode payload) {
        String messageRef = nextRef();
        send(new PhoenixMessage(joinRef, messageRef, topic, event, payload));
        return messageRef;
    }

    private void send(PhoenixMessage message) {
        if (socket != null) {
            socket.writeTextMessage(serializer.encode(message));
        }
    }

    private String nextRef() {
        return Long.toString(++ref);
    }
}
