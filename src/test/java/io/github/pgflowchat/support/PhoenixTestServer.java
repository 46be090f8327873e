package io.github.pgflowchat.support;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.ServerWebSocket;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import io.github.pgflowchat.realtime.PhoenixMessage;
import io.github.pgflowchat.realtime.PhoenixSerializer;

/**
 * A Phoenix channels server on loopback that behaves as Supabase Realtime does towards a client: it checks the
 * {@code apikey} at the upgrade (401 otherwise), answers joins (refusing a bad {@code access_token}), heartbeats and
 * leaves, and pushes broadcasts in the client's framing: JSON objects for vsn 1.0.0, binary kind-4 frames for 2.0.0.
 * It can relay a database's {@code realtime.send} broadcasts (the project's stand-in stores them and NOTIFYs), as
 * Supabase relays its {@code realtime.messages}. Tests can drop every socket and delay join replies.
 * <p>
 * It can enforce Supabase's quotas as a client meets them (protocols.md §3.7), each off until a test sets it:
 * channels per socket (the join past it is refused with {@code ChannelRateLimitReached: Too many channels}), joins
 * per second over all sockets, as the project's quota ({@code ClientJoinRateLimitReached: Too many joins per second}),
 * and messages per second a socket sends (a {@code system} error "Too many messages per second", then the channel is
 * closed). It counts what it refused, the sockets it accepted and the broadcasts it sent per topic.
 */
public final class PhoenixTestServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String apiKey;
    private final String validToken;
    private final Vertx vertx = Vertx.vertx();
    private final Map<ServerWebSocket, Client> clients = new ConcurrentHashMap<>();
    private final List<String> rejectedUpgrades = new CopyOnWriteArrayList<>();
    private final List<JsonNode> joins = new CopyOnWriteArrayList<>();
    private final List<String> tokenRefreshes = new CopyOnWriteArrayList<>();
    private final AtomicLong broadcastsSent = new AtomicLong();
    private volatile Duration joinReplyDelay = Duration.ZERO;
    private volatile int maxChannelsPerSocket;
    private volatile int maxJoinsPerSecond;
    private volatile int maxMessagesPerSecond;
    /** Times of the joins accepted for counting in the last second, over all sockets (the project's quota). */
    private final Deque<Long> recentJoins = new ArrayDeque<>();
    private final List<String> refusedJoins = new CopyOnWriteArrayList<>();
    private final AtomicInteger messageRateErrors = new AtomicInteger();
    private final AtomicInteger socketsAccepted = new AtomicInteger();
    private final AtomicInteger mostChannelsOnASocket = new AtomicInteger();
    private final AtomicInteger mostSocketsAtOnce = new AtomicInteger();
    private final Map<String, AtomicLong> broadcastsByTopic = new ConcurrentHashMap<>();
    private HttpServer server;
    private Thread relay;
    private volatile boolean relaying;

    private record Client(ServerWebSocket socket, PhoenixSerializer serializer, String connectionToken,
                          Map<String, String> joinRefsByTopic, Deque<Long> recentMessages) {
    }

    public PhoenixTestServer(String apiKey, String validToken) {
        this.apiKey = apiKey;
        this.validToken = validToken;
    }

    public int start() throws Exception {
        return startOn(0);
    }

    public int startOn(int port) throws Exception {
        server = vertx.createHttpServer().webSocketHandler(this::accept);
        return server.listen(port, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).actualPort();
    }

    public String url() {
        return "ws://127.0.0.1:" + server.actualPort() + "/realtime/v1/websocket";
    }

    public void delayJoinReplies(Duration delay) {
        this.joinReplyDelay = delay;
    }

    /** Refuses a join on a socket that already holds this many channels, as Supabase does past 100; 0: no limit. */
    public PhoenixTestServer limitChannelsPerSocket(int channels) {
        this.maxChannelsPerSocket = channels;
        return this;
    }

    /** Refuses joins past this many in any second, over all sockets (the project's quota); 0: no limit. */
    public PhoenixTestServer limitJoinsPerSecond(int joins) {
        this.maxJoinsPerSecond = joins;
        return this;
    }

    /** Stops a channel with a system error when its socket sent more than this many messages in a second; 0: no limit. */
    public PhoenixTestServer limitMessagesPerSecond(int messages) {
        this.maxMessagesPerSecond = messages;
        return this;
    }

    /** The reasons of the joins refused for a quota, in order. */
    public List<String> refusedJoins() {
        return refusedJoins;
    }

    /** Channels stopped with "Too many messages per second". */
    public int messageRateErrors() {
        return messageRateErrors.get();
    }

    /** Websockets accepted since start. */
    public int socketsAccepted() {
        return socketsAccepted.get();
    }

    public int mostChannelsOnASocket() {
        return mostChannelsOnASocket.get();
    }

    public int mostSocketsAtOnce() {
        return mostSocketsAtOnce.get();
    }

    /** Broadcasts sent to clients for the topic ({@code realtime:…}). */
    public long broadcastsSent(String topic) {
        AtomicLong sent = broadcastsByTopic.get(topic);
        return sent == null ? 0 : sent.get();
    }

    /** Channels each open socket holds now. */
    public List<Integer> channelsPerSocket() {
        return clients.values().stream().map(client -> client.joinRefsByTopic().size()).toList();
    }

    /** Closes every client socket, as a network drop or a server restart would. */
    public void dropConnections() {
        clients.keySet().forEach(ServerWebSocket::close);
    }

    public int connectedClients() {
        return clients.size();
    }

    public List<String> rejectedUpgrades() {
        return rejectedUpgrades;
    }

    public List<JsonNode> joins() {
        return joins;
    }

    /** The tokens clients pushed with {@code access_token} on their channels. */
    public List<String> tokenRefreshes() {
        return tokenRefreshes;
    }

    /** Ends the topic's channel on every client with {@code phx_error}, as a crashed channel process does. */
    public void crashChannel(String topic) {
        vertx.runOnContext(v -> clients.values().stream()
                .filter(client -> client.joinRefsByTopic().containsKey(topic))
                .forEach(client -> {
                    String joinRef = client.joinRefsByTopic().remove(topic);
                    client.socket().writeTextMessage(client.serializer().encode(
                            new PhoenixMessage(joinRef, joinRef, topic, PhoenixMessage.ERROR, JSON.createObjectNode())));
                }));
    }

    public long broadcastsSent() {
        return broadcastsSent.get();
    }

    /** Sends a broadcast to every client joined to the topic, each in its own framing. */
    public void broadcast(String topic, String event, JsonNode payload) {
        broadcast(topic, event, payload, false);
    }

    /**
     * Sends a broadcast for the topic to every connected client, joined or not: a frame the server had in flight when
     * the client left the channel arrives after the leave.
     */
    public void broadcastToEveryClient(String topic, String event, JsonNode payload) {
        broadcast(topic, event, payload, true);
    }

    private void broadcast(String topic, String event, JsonNode payload, boolean evenUnjoined) {
        vertx.runOnContext(v -> clients.values().stream()
                .filter(client -> evenUnjoined || client.joinRefsByTopic().containsKey(topic))
                .forEach(client -> {
                    broadcastsSent.incrementAndGet();
                    broadcastsByTopic.computeIfAbsent(topic, t -> new AtomicLong()).incrementAndGet();
                    ObjectNode meta = JSON.createObjectNode().put("id", payload.path("id").asText(""));
                    if (PhoenixSerializer.V2.equals(client.serializer().vsn())) {
                        client.socket().writeBinaryMessage(Buffer.buffer(client.serializer().encodeUserBroadcast(topic, event, meta, payload)));
                    } else {
                        ObjectNode body = JSON.createObjectNode().put("type", PhoenixMessage.BROADCAST).put("event", event);
                        body.set("payload", payload);
                        body.set("meta", meta);
                        client.socket().writeTextMessage(client.serializer().encode(
                                new PhoenixMessage(null, null, topic, PhoenixMessage.BROADCAST, body)));
                    }
                }));
    }

    /**
     * Relays the broadcasts the database records with the project's {@code realtime.send} stand-in to the joined
     * channels ({@code realtime:} + topic), as Supabase Realtime relays its {@code realtime.messages}.
     */
    public void relayFrom(String jdbcUrl, String user, String password) {
        relaying = true;
        relay = new Thread(() -> {
            try (Connection connection = DriverManager.getConnection(jdbcUrl, user, password);
                 Statement listen = connection.createStatement();
                 PreparedStatement read = connection.prepareStatement("select topic, event, payload::text from realtime.messages where id = ?")) {
                listen.execute("LISTEN realtime_broadcast");
                PGConnection pg = connection.unwrap(PGConnection.class);
                while (relaying) {
                    PGNotification[] notifications = pg.getNotifications(200);
                    for (PGNotification notification : notifications == null ? new PGNotification[0] : notifications) {
                        read.setLong(1, JSON.readTree(notification.getParameter()).path("id").asLong());
                        try (ResultSet row = read.executeQuery()) {
                            if (row.next()) {
                                broadcast("realtime:" + row.getString(1), row.getString(2), JSON.readTree(row.getString(3)));
                            }
                        }
                    }
                }
            } catch (Exception e) {
                if (relaying) {
                    throw new IllegalStateException("relay stopped", e);
                }
            }
        }, "phoenix-test-relay");
        relay.setDaemon(true);
        relay.start();
    }

    /** Stops relaying the database's broadcasts; call it before the database goes away. */
    public void stopRelay() throws InterruptedException {
        relaying = false;
        if (relay != null) {
            relay.join(2000);
        }
    }

    @Override
    public void close() throws Exception {
        stopRelay();
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private void accept(ServerWebSocket socket) {
        String query = socket.query() == null ? "" : socket.query();
        Map<String, String> params = new ConcurrentHashMap<>();
        for (String pair : query.split("&")) {
            String[] kv = pair.split("=", 2);
            if (kv.length == 2) {
                params.put(kv[0], java.net.URLDecoder.decode(kv[1], java.nio.charset.StandardCharsets.UTF_8));
            }
        }
        if (!socket.path().equals("/realtime/v1/websocket") || !apiKey.equals(params.get("apikey"))) {
            rejectedUpgrades.add(socket.path() + "?" + query);
            socket.reject(401);
            return;
        }
        String vsn = params.getOrDefault("vsn", PhoenixSerializer.V1);
        Client client = new Client(socket, new PhoenixSerializer(vsn.startsWith("2") ? PhoenixSerializer.V2 : PhoenixSerializer.V1, JSON),
                params.get("apikey"), new ConcurrentHashMap<>(), new ArrayDeque<>());
        clients.put(socket, client);
        socketsAccepted.incrementAndGet();
        mostSocketsAtOnce.accumulateAndGet(clients.size(), Math::max);
        socket.closeHandler(v -> clients.remove(socket));
        socket.textMessageHandler(text -> onMessage(client, client.serializer().decode(text)));
    }

    private void onMessage(Client client, PhoenixMessage message) {
        if (!PhoenixMessage.HEARTBEAT.equals(message.event()) && overMessageRate(client)) {
            stopForMessageRate(client, message);
            return;
        }
        switch (message.event()) {
            case PhoenixMessage.HEARTBEAT -> reply(client, message, "ok", JSON.createObjectNode());
            case PhoenixMessage.JOIN -> {
                joins.add(message.payload());
                // As Realtime does, a join without its own token is checked with the connection's token.
                String token = message.payload().path(PhoenixMessage.ACCESS_TOKEN).asText(client.connectionToken());
                Runnable answer = () -> {
                    if (!validToken.equals(token)) {
                        reply(client, message, "error", JSON.createObjectNode().put("reason", "Invalid token"));
                        return;
                    }
                    String refusal = quotaRefusal(client, message.topic());
                    if (refusal != null) {
                        refusedJoins.add(refusal);
                        reply(client, message, "error", JSON.createObjectNode().put("reason", refusal));
                        return;
                    }
                    client.joinRefsByTopic().put(message.topic(), message.joinRef());
                    mostChannelsOnASocket.accumulateAndGet(client.joinRefsByTopic().size(), Math::max);
                    ObjectNode response = JSON.createObjectNode();
                    response.putArray("postgres_changes");
                    reply(client, message, "ok", response);
                };
                if (joinReplyDelay.isZero()) {
                    answer.run();
                } else {
                    vertx.setTimer(joinReplyDelay.toMillis(), id -> answer.run());
                }
            }
            case PhoenixMessage.ACCESS_TOKEN -> tokenRefreshes.add(message.payload().path(PhoenixMessage.ACCESS_TOKEN).asText());
            case PhoenixMessage.LEAVE -> {
                client.joinRefsByTopic().remove(message.topic());
                reply(client, message, "ok", JSON.createObjectNode());
                client.socket().writeTextMessage(client.serializer().encode(
                        new PhoenixMessage(message.joinRef(), message.joinRef(), message.topic(), PhoenixMessage.CLOSE, JSON.createObjectNode())));
            }
            default -> { }
        }
    }

    /** The reason Supabase gives when the join passes a quota, or null. Runs on the server's event loop. */
    private String quotaRefusal(Client client, String topic) {
        if (maxChannelsPerSocket > 0 && !client.joinRefsByTopic().containsKey(topic)
                && client.joinRefsByTopic().size() >= maxChannelsPerSocket) {
            return "ChannelRateLimitReached: Too many channels";
        }
        if (maxJoinsPerSecond > 0) {
            synchronized (recentJoins) {
                long now = System.nanoTime();
                while (!recentJoins.isEmpty() && now - recentJoins.peekFirst() >= 1_000_000_000L) {
                    recentJoins.removeFirst();
                }
                if (recentJoins.size() >= maxJoinsPerSecond) {
                    return "ClientJoinRateLimitReached: Too many joins per second";
                }
                recentJoins.addLast(now);
            }
        }
        return null;
    }

    private boolean overMessageRate(Client client) {
        if (maxMessagesPerSecond <= 0) {
            return false;
        }
        Deque<Long> recent = client.recentMessages();
        synchronized (recent) {
            long now = System.nanoTime();
            while (!recent.isEmpty() && now - recent.peekFirst() >= 1_000_000_000L) {
                recent.removeFirst();
            }
            recent.addLast(now);
            return recent.size() > maxMessagesPerSecond;
        }
    }

    /**
     * As Realtime's channel does past the messages quota: a {@code system} error on the channel, then it is closed.
     * A join is not answered.
     */
    private void stopForMessageRate(Client client, PhoenixMessage message) {
        messageRateErrors.incrementAndGet();
        String joinRef = PhoenixMessage.JOIN.equals(message.event()) ? message.joinRef() : client.joinRefsByTopic().remove(message.topic());
        if (PhoenixMessage.JOIN.equals(message.event())) {
            client.joinRefsByTopic().remove(message.topic());
        }
        ObjectNode system = JSON.createObjectNode().put("extension", "system").put("status", "error")
                .put("message", "Too many messages per second").put("channel", message.topic().replaceFirst("^realtime:", ""));
        client.socket().writeTextMessage(client.serializer().encode(
                new PhoenixMessage(joinRef, null, message.topic(), PhoenixMessage.SYSTEM, system)));
        client.socket().writeTextMessage(client.serializer().encode(
                new PhoenixMessage(joinRef, joinRef, message.topic(), PhoenixMessage.CLOSE, JSON.createObjectNode())));
    }

    private void reply(Client client, PhoenixMessage to, String status, JsonNode response) {
        ObjectNode payload = JSON.createObjectNode().put("status", status);
        payload.set("response", response);
        client.socket().writeTextMessage(client.serializer().encode(
                new PhoenixMessage(to.joinRef(), to.ref(), to.topic(), PhoenixMessage.REPLY, payload)));
    }

    public Set<String> joinedTopics() {
        Set<String> topics = ConcurrentHashMap.newKeySet();
        clients.values().forEach(client -> topics.addAll(client.joinRefsByTopic().keySet()));
        return topics;
    }
}
