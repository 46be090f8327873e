package io.github.pgflowchat.realtime;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.github.pgflowchat.logging.LogSafe;

/**
 * The channels of every followed run spread over a few sockets to Supabase Realtime, within its quotas (protocols.md
 * §3.7): at most {@link Limits#maxChannelsPerSocket()} channels on a socket (Supabase refuses the 101st with
 * {@code ChannelRateLimitReached}), at most {@link Limits#maxSockets()} sockets (each counts toward the project's
 * connections), and joins paced by one {@link JoinPacer} for all sockets, as the joins quota is the project's.
 * Channels fill the first socket before another is opened; a socket other than the first that has had no channel for
 * {@link Limits#idleSocketTimeout()} is closed (the first stays, so health and the next join need no new handshake).
 * <p>
 * Quota errors: a join refused with {@code ChannelRateLimitReached} marks its socket full at what it holds and goes
 * to another socket, opened if allowed, or waits for room; {@code ClientJoinRateLimitReached} pauses every join for a
 * jittered back-off and retries the join after it; a {@code system} "Too many messages per second" stops joins on
 * that socket for a jittered back-off before the channel is joined again. While a channel is not joined its run is
 * still read from the database by the reconciler's timer, and the join's own catch-up read (the listener's
 * {@code onJoined}) brings what was missed.
 * <p>
 * All state lives on one Vert.x context, shared with its sockets' {@link RealtimeClient}s.
 */
public final class RealtimeSocketPool implements AutoCloseable {

    /**
     * @param maxChannelsPerSocket channels on one socket at most
     * @param maxSockets           sockets at most
     * @param joinsPerSecond       joins sent per second at most, over all sockets
     * @param idleSocketTimeout    a socket (not the first) without a channel for this long is closed
     */
    public record Limits(int maxChannelsPerSocket, int maxSockets, double joinsPerSecond, Duration idleSocketTimeout) {
        public Limits {
            if (maxChannelsPerSocket <= 0 || maxSockets <= 0 || joinsPerSecond <= 0 || idleSocketTimeout == null) {
                throw new IllegalArgumentException("Realtime pool limits must be positive: " + maxChannelsPerSocket + " channels per socket, "
                        + maxSockets + " sockets, " + joinsPerSecond + " joins per second, idle timeout " + idleSocketTimeout);
            }
        }
    }

    /** Why a join was refused, as a metric tag. */
    enum Refusal {
        CHANNELS_PER_SOCKET("channels_per_socket"), JOINS_PER_SECOND("joins_per_second"), OTHER("other");

        final String tag;

        Refusal(String tag) {
            this.tag = tag;
        }

        static Refusal of(String reason) {
            if (reason.contains("ChannelRateLimitReached") || reason.contains("Too many channels")) {
                return CHANNELS_PER_SOCKET;
            }
            if (reason.contains("ClientJoinRateLimitReached") || reason.contains("Too many joins")) {
                return JOINS_PER_SECOND;
            }
            return OTHER;
        }
    }

    static boolean isMessageRateLimit(String systemMessage) {
        return systemMessage.contains("Too many messages per second");
    }

    private static final Logger log = LoggerFactory.getLogger(RealtimeSocketPool.class);

    private final Vertx vertx;
    private final Context context;
    private final URI uri;
    private final String vsn;
    private final ObjectMapper json;
    private final Supplier<String> accessToken;
    private final Duration heartbeatInterval;
    private final Duration joinTimeout;
    private final Limits limits;
    private final JoinPacer pacer;
    /** Read by other threads (health, gauges); changed on the context only. */
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Map<String, RealtimeClient.ChannelListener> wanted = new HashMap<>();
    private final Map<String, Socket> placed = new HashMap<>();
    /** Channels no socket has room for, in the order they came. */
    private final Set<String> unplaced = new LinkedHashSet<>();
    private final AtomicInteger channelGauge = new AtomicInteger();
    private final Map<Refusal, Counter> refused = new HashMap<>();
    private final Counter retried;
    private final Counter messageRateLimited;
    private final AtomicInteger socketsOpened = new AtomicInteger();
    private volatile long closedSocketsMessages;
    private int nextSocketId;
    private boolean closed;

    public RealtimeSocketPool(Vertx vertx, URI uri, String vsn, ObjectMapper json, Supplier<String> accessToken,
                              Duration heartbeatInterval, Duration joinTimeout, Limits limits, MeterRegistry meters) {
        this.vertx = vertx;
        this.context = vertx.getOrCreateContext();
        this.uri = uri;
        this.vsn = vsn;
        this.json = json;
        this.accessToken = accessToken;
        this.heartbeatInterval = heartbeatInterval;
        this.joinTimeout = joinTimeout;
        this.limits = limits;
        this.pacer = new JoinPacer(vertx, limits.joinsPerSecond());
        Gauge.builder("gateway.realtime.sockets", sockets, List::size)
                .description("Sockets open to Supabase Realtime").register(meters);
        Gauge.builder("gateway.realtime.channels", channelGauge, AtomicInteger::get)
                .description("Run channels placed on a Realtime socket (joined or joining)").register(meters);
        for (Refusal refusal : Refusal.values()) {
            refused.put(refusal, Counter.builder("gateway.realtime.joins.refused").tag("reason", refusal.tag)
                    .description("Channel joins Supabase Realtime refused").register(meters));
        }
        this.retried = Counter.builder("gateway.realtime.joins.retried")
                .description("Refused channel joins tried again (on another socket or after a back-off)").register(meters);
        this.messageRateLimited = Counter.builder("gateway.realtime.messages.rate.limited")
                .description("Channels Realtime stopped with \"Too many messages per second\"").register(meters);
    }

    /** Opens the first socket in the background; an unreachable server is retried, never an error here. */
    public void start() {
        context.runOnContext(v -> {
            if (sockets.isEmpty()) {
                open();
            }
        });
    }

    /** Whether any socket is connected. */
    public boolean isConnected() {
        return sockets.stream().anyMatch(socket -> socket.client.isConnected());
    }

    /** Frames received since start, over all sockets (closed ones included). */
    public long messagesReceived() {
        return sockets.stream().mapToLong(socket -> socket.client.messagesReceived()).sum() + closedSocketsMessages;
    }

    /** Sockets open now. */
    public int sockets() {
        return sockets.size();
    }

    /** Sockets opened since start, closed ones included. */
    public int socketsOpened() {
        return socketsOpened.get();
    }

    /** Channels placed on a socket (joined or joining). */
    public int channels() {
        return channelGauge.get();
    }

    public double joinsRefused() {
        return refused.values().stream().mapToDouble(Counter::count).sum();
    }

    public void join(String topic, RealtimeClient.ChannelListener listener) {
        context.runOnContext(v -> {
            if (closed) {
                return;
            }
            wanted.put(topic, listener);
            place(topic);
        });
    }

    public void leave(String topic) {
        context.runOnContext(v -> {
            wanted.remove(topic);
            unplaced.remove(topic);
            Socket socket = placed.remove(topic);
            if (socket != null) {
                socket.topics.remove(topic);
                channelGauge.set(placed.size());
                socket.client.leave(topic);
                if (socket.topics.isEmpty()) {
                    socket.idleSince();
                }
                placeWaiting();
            }
        });
    }

    /** Closes every socket; waits (a few seconds at most) until they are told to, unless called on the pool's context. */
    @Override
    public void close() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Runnable closing = () -> {
            closed = true;
            pacer.clear();
            sockets.forEach(socket -> {
                socket.cancelIdle();
                socket.client.close();
            });
            sockets.clear();
            done.complete(null);
        };
        if (Vertx.currentContext() == context) {
            closing.run();
            return;
        }
        context.runOnContext(v -> closing.run());
        try {
            done.get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.debug("Realtime sockets not closed in time: {}", e.toString());
        }
    }

    private void place(String topic) {
        if (placed.containsKey(topic) || !wanted.containsKey(topic)) {
            return;
        }
        Socket socket = sockets.stream().filter(Socket::hasRoom).findFirst().orElse(null);
        if (socket == null && sockets.size() < limits.maxSockets()) {
            socket = open();
        }
        if (socket == null) {
            if (unplaced.add(topic) && unplaced.size() == 1) {
                log.warn("Every Realtime socket is full ({} sockets); runs wait for room and are read from the database meanwhile",
                        sockets.size());
            }
            return;
        }
        unplaced.remove(topic);
        socket.topics.add(topic);
        socket.cancelIdle();
        placed.put(topic, socket);
        channelGauge.set(placed.size());
        socket.client.join(topic, wanted.get(topic));
    }

    private void placeWaiting() {
        for (String topic : List.copyOf(unplaced)) {
            place(topic);
            if (unplaced.contains(topic)) {
                return;
            }
        }
    }

    private Socket open() {
        Socket socket = new Socket(++nextSocketId);
        sockets.add(socket);
        socketsOpened.incrementAndGet();
        socket.client.start();
        if (sockets.size() > 1) {
            log.info("Opened Realtime socket {} ({} open) for more channels", socket.id, sockets.size());
        }
        return socket;
    }

    private void closeIdle(Socket socket) {
        if (!socket.topics.isEmpty() || sockets.indexOf(socket) <= 0) {
            return;
        }
        sockets.remove(socket);
        closedSocketsMessages += socket.client.messagesReceived();
        socket.client.close();
        log.info("Closed Realtime socket {}, idle for {} ({} open)", socket.id, limits.idleSocketTimeout(), sockets.size());
    }

    /** A back-off of realtime-js's steps, spread by ±50 % so that refused joins do not come back together. */
    private static Duration jittered(Duration backoff) {
        return Duration.ofMillis((long) (backoff.toMillis() * ThreadLocalRandom.current().nextDouble(0.5, 1.5)));
    }

    /** One socket of the pool: a {@link RealtimeClient} whose quotas are the pool's. */
    private final class Socket implements RealtimeClient.Quotas {
        final int id;
        final RealtimeClient client;
        final Set<String> topics = new HashSet<>();
        /** Lowered to what the socket held when Realtime said it had too many channels. */
        int capacity = limits.maxChannelsPerSocket();
        /** No join is sent on this socket before this ({@link System#nanoTime()}), after "Too many messages per second". */
        long sendPausedUntil = System.nanoTime();
        long idleTimer = -1;

        Socket(int id) {
            this.id = id;
            this.client = new RealtimeClient(vertx, uri, vsn, json, accessToken, heartbeatInterval, joinTimeout, this);
        }

        boolean hasRoom() {
            return topics.size() < capacity;
        }

        void idleSince() {
            cancelIdle();
            idleTimer = vertx.setTimer(limits.idleSocketTimeout().toMillis(), id -> {
                idleTimer = -1;
                closeIdle(this);
            });
        }

        void cancelIdle() {
            if (idleTimer != -1) {
                vertx.cancelTimer(idleTimer);
                idleTimer = -1;
            }
        }

        @Override
        public void pace(BooleanSupplier join) {
            pacer.submit(join, () -> sendPausedUntil);
        }

        @Override
        public Duration onJoinRefused(String topic, RealtimeClient.ChannelListener listener, String reason, Duration backoff) {
            Refusal refusal = Refusal.of(reason);
            refused.get(refusal).increment();
            retried.increment();
            switch (refusal) {
                case CHANNELS_PER_SOCKET -> {
                    topics.remove(topic);
                    if (placed.get(topic) == this) {
                        placed.remove(topic);
                    }
                    if (capacity == limits.maxChannelsPerSocket()) {
                        log.warn("Realtime socket {} refused a channel ({}) before {}; it takes no more, others go to another socket",
                                id, LogSafe.prefix(reason, 100), limits.maxChannelsPerSocket());
                    }
                    // Joins still in flight may be refused too, each lowering it to what the socket really holds.
                    capacity = Math.min(capacity, topics.size());
                    channelGauge.set(placed.size());
                    if (topics.isEmpty()) {
                        idleSince();
                    }
                    place(topic);
                    return null;
                }
                case JOINS_PER_SECOND -> {
                    Duration delay = jittered(backoff);
                    pacer.pause(delay);
                    return delay;
                }
                default -> {
                    return backoff;
                }
            }
        }

        @Override
        public Duration onSystemError(String topic, String message, Duration backoff) {
            if (!isMessageRateLimit(message)) {
                return backoff;
            }
            messageRateLimited.increment();
            Duration delay = jittered(backoff);
            sendPausedUntil = Math.max(sendPausedUntil, System.nanoTime() + delay.toNanos());
            log.warn("Realtime socket {}: too many messages per second; no join on it for {} ms", id, delay.toMillis());
            return delay;
        }
    }
}
