package io.github.pgflowchat.chat;

import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import io.lettuce.core.LettuceFutures;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.SetArgs;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.XReadArgs.StreamOffset;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.redis.RedisConfiguration;
import io.github.pgflowchat.redis.RedisProperties;
import io.github.pgflowchat.web.ApiException;

/**
 * Chat streams shared through Redis Streams, so a resume can be served by any instance (decision record 0020).
 *
 * <p>The instance holding a stream copies each event it appends, SSE bytes as sent and all, to the Redis stream
 * {@code <prefix>stream:<runId>} under the entry id {@code 0-<event number>}; the end is one more entry,
 * {@code 0-<n+1>} with the field {@code done}. The token path only queues the copy: one writer thread sends what
 * has queued up as one pipeline (XADD with an approximate MAXLEN, PEXPIRE) and waits for its replies before the next.
 * A Redis outage never reaches the stream: the copies fail, are counted, and a WARN is logged once per outage.
 *
 * <p>Another instance serves a resume from that copy: it takes a reader lease ({@code <prefix>read:<runId>}, so the
 * holder does not cancel an answer whose client went away from it to here), then one loop per instance follows every
 * copy its readers need with a single {@code XREAD BLOCK} from each stream's lowest position, and hands each reader
 * the entries after its own. Entry ids are event numbers, so a reader detects a missing event (a copy that failed)
 * and ends with an error instead of a gap; duplicates are skipped by number.
 */
@Component
@ConditionalOnExpression(RedisConfiguration.CONFIGURED + " and ${gateway.chat.shared-streams.enabled:true}")
public class SharedStreams implements StreamMirror, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(SharedStreams.class);
    private static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);
    static final String EVENT_FIELD = "e";
    static final String DONE_FIELD = "done";
    private static final int MAX_BATCH = 1024;
    private static final long BLOCK_MILLIS = 1000;
    private static final long RECONNECT_PAUSE_MILLIS = 1000;
    /** The wake stream of an instance that stopped goes away on its own. */
    private static final long WAKE_EXPIRY_MILLIS = 60_000;

    private final RedisClient client;
    private final SharedStreamsProperties properties;
    private final Duration commandTimeout;
    private final Duration liveExpiry;
    private final String instanceId = UUID.randomUUID().toString();
    private final String wakeKey;
    private final BlockingQueue<Copy> copies;
    private final Counter copied;
    private final Counter notCopied;
    private final Lazy writerConnection;
    private final Lazy commandConnection;
    private final Lazy readerConnection;
    private final Thread writer;
    private final Thread follower;
    private final Map<String, List<RemoteReader>> readers = new ConcurrentHashMap<>();
    private final Object followerSignal = new Object();
    private volatile boolean running = true;
    private volatile boolean writesFailing;
    private volatile boolean readsFailing;

    private record Copy(UUID runId, long number, byte[] event) {
    }

    public SharedStreams(RedisClient client, RedisProperties redis, SharedStreamsProperties properties, MeterRegistry meters,
                         @Value("${gateway.chat.max-stream-duration}") Duration maxStreamDuration) {
        this.client = client;
        this.properties = properties;
        this.commandTimeout = redis.commandTimeout();
        this.liveExpiry = maxStreamDuration.plus(properties.expireAfterEnd());
        this.wakeKey = properties.keyPrefix() + "wake:" + instanceId;
        this.copies = new ArrayBlockingQueue<>(properties.queueCapacity());
        this.copied = Counter.builder("gateway.chat.shared-streams.copied")
                .description("Chat stream events written to Redis").register(meters);
        this.notCopied = Counter.builder("gateway.chat.shared-streams.not-copied")
                .description("Chat stream events that could not be written to Redis (outage, full queue)").register(meters);
        Gauge.builder("gateway.chat.shared-streams.queued", copies, BlockingQueue::size)
                .description("Chat stream events waiting to be written to Redis").register(meters);
        Gauge.builder("gateway.chat.shared-streams.remote-readers", readers, r -> r.values().stream().mapToInt(List::size).sum())
                .description("Resumed streams this instance serves from another instance's copy in Redis").register(meters);
        this.writerConnection = new Lazy(() -> {
            StatefulRedisConnection<String, byte[]> connection = client.connect(CODEC);
            // Commands are written to the socket when a batch is complete: one pipeline per batch.
            connection.setAutoFlushCommands(false);
            return connection;
        });
        this.commandConnection = new Lazy(() -> client.connect(CODEC));
        this.readerConnection = new Lazy(() -> client.connect(CODEC));
        this.writer = Thread.ofPlatform().name("chat-stream-copy").daemon().start(this::writeLoop);
        this.follower = Thread.ofPlatform().name("chat-stream-follow").daemon().start(this::followLoop);
    }

    static String streamKey(String prefix, UUID runId) {
        return prefix + "stream:" + runId;
    }

    private String streamKey(UUID runId) {
        return streamKey(properties.keyPrefix(), runId);
    }

    private String leaseKey(UUID runId) {
        return properties.keyPrefix() + "read:" + runId;
    }

    // ---- the holder: copying its streams ----

    @Override
    public void appended(UUID runId, long number, byte[] event) {
        queue(new Copy(runId, number, event));
    }

    @Override
    public void ended(UUID runId, long doneNumber) {
        queue(new Copy(runId, doneNumber, null));
    }

    private void queue(Copy copy) {
        if (!copies.offer(copy)) {
            notCopied.increment();
            if (!writesFailing) {
                writesFailing = true;
                log.warn("Chat stream events are not copied to Redis: {} are waiting already (gateway.chat.shared-streams.queue-capacity); "
                        + "a resume of those streams on another instance will end with an error", properties.queueCapacity());
            }
        }
    }

    private void writeLoop() {
        List<Copy> batch = new ArrayList<>(MAX_BATCH);
        while (running) {
            try {
                Copy first = copies.poll(1, TimeUnit.SECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                copies.drainTo(batch, MAX_BATCH - 1);
                write(batch);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                writeFailed(batch.size(), e);
            } finally {
                batch.clear();
            }
        }
    }

    private void write(List<Copy> batch) {
        StatefulRedisConnection<String, byte[]> connection = writerConnection.get();
        if (connection == null) {
            writeFailed(batch.size(), writerConnection.failure());
            return;
        }
        RedisAsyncCommands<String, byte[]> redis = connection.async();
        List<RedisFuture<?>> replies = new ArrayList<>(batch.size() + 8);
        for (Copy copy : batch) {
            String key = streamKey(copy.runId());
            XAddArgs args = new XAddArgs().id("0-" + copy.number()).maxlen(properties.maxLength()).approximateTrimming();
            replies.add(redis.xadd(key, args, Map.of(copy.event() == null ? DONE_FIELD : EVENT_FIELD,
                    copy.event() == null ? new byte[0] : copy.event())));
            if (copy.number() == 1) {
                // A holder that dies leaves no end: its copy goes away on its own.
                replies.add(redis.pexpire(key, liveExpiry.toMillis()));
            } else if (copy.event() == null) {
                replies.add(redis.pexpire(key, properties.expireAfterEnd().toMillis()));
            }
        }
        connection.flushCommands();
        RedisFuture<?>[] all = replies.toArray(RedisFuture[]::new);
        boolean replied = LettuceFutures.awaitAll(commandTimeout.toMillis(), TimeUnit.MILLISECONDS, all);
        if (!replied) {
            for (RedisFuture<?> reply : all) {
                reply.cancel(true);
            }
            writeFailed(batch.size(), new IllegalStateException("no reply within " + commandTimeout.toMillis() + " ms"));
            return;
        }
        int failed = 0;
        RuntimeException cause = null;
        for (int i = 0; i < replies.size(); i++) {
            try {
                replies.get(i).get();
            } catch (Exception e) {
                failed++;
                cause = new IllegalStateException(e.getCause() != null ? e.getCause().getMessage() : e.getMessage(), e);
            }
        }
        if (failed > 0) {
            writeFailed(failed, cause);
            return;
        }
        copied.increment(batch.size());
        if (writesFailing) {
            writesFailing = false;
            log.info("Chat stream events are copied to Redis again");
        }
    }

    private void writeFailed(int count, Throwable cause) {
        notCopied.increment(count);
        if (!writesFailing) {
            writesFailing = true;
            log.warn("Copying chat stream events to Redis failed ({}); the streams go on here, but a resume on another instance "
                    + "cannot be served until Redis is back", cause == null ? "unknown cause" : cause.getMessage());
        }
    }

    // ---- the holder: whether anyone elsewhere reads its stream ----

    /** Whether a reader on another instance holds a lease on the run's stream (false when Redis cannot tell). */
    public boolean readElsewhere(UUID runId) {
        StatefulRedisConnection<String, byte[]> connection = commandConnection.get();
        if (connection == null) {
            return false;
        }
        try {
            return connection.async().exists(leaseKey(runId)).get(commandTimeout.toMillis(), TimeUnit.MILLISECONDS) > 0;
        } catch (Exception e) {
            return false;
        }
    }

    // ---- another instance: serving a resume from the copy ----

    /**
     * A reader of the run's copy from just after event {@code afterEvent} (0: from the start), or null when Redis has
     * no copy of it (none made, expired, or Redis unreachable). Takes the reader lease first, so the holder knows at
     * once that its stream is being read.
     *
     * @param runEnded whether the run has ended in the database: a copy that stops short of its end (the holder died)
     *                 is ended with an error once it has
     */
    public InputStream reader(UUID runId, int afterEvent, Duration keepAliveInterval, Duration maxDuration,
                              BooleanSupplier runEnded, Runnable onClose) {
        StatefulRedisConnection<String, byte[]> connection = commandConnection.get();
        if (connection == null) {
            readFailed(commandConnection.failure());
            return null;
        }
        String key = streamKey(runId);
        List<StreamMessage<String, byte[]>> last;
        try {
            RedisAsyncCommands<String, byte[]> redis = connection.async();
            RedisFuture<String> lease = redis.set(leaseKey(runId), instanceId.getBytes(), SetArgs.Builder.px(properties.readerLease().toMillis()));
            RedisFuture<List<StreamMessage<String, byte[]>>> lastEntry = redis.xrevrange(key, Range.create("-", "+"),
                    Limit.from(1));
            lease.get(commandTimeout.toMillis(), TimeUnit.MILLISECONDS);
            last = lastEntry.get(commandTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            readFailed(e);
            return null;
        }
        if (last.isEmpty()) {
            return null;
        }
        StreamMessage<String, byte[]> newest = last.get(0);
        long newestNumber = entryNumber(newest.getId());
        if (newest.getBody().containsKey(DONE_FIELD) && afterEvent >= newestNumber) {
            throw ApiException.badRequest("invalid_last_event_id", "Last-Event-ID names no event of this stream (it has "
                    + (newestNumber - 1) + ").");
        }
        RemoteReader reader = new RemoteReader(this, key, runId, afterEvent, keepAliveInterval, maxDuration, runEnded, onClose);
        readers.compute(key, (k, list) -> {
            List<RemoteReader> updated = list == null ? new ArrayList<>() : new ArrayList<>(list);
            updated.add(reader);
            return List.copyOf(updated);
        });
        wakeFollower(connection);
        return reader;
    }

    void closed(RemoteReader reader) {
        readers.computeIfPresent(reader.key(), (k, list) -> {
            List<RemoteReader> updated = new ArrayList<>(list);
            updated.remove(reader);
            return updated.isEmpty() ? null : List.copyOf(updated);
        });
    }

    /** The loop may be blocked in XREAD on the other streams: an entry in this instance's wake stream returns it. */
    private void wakeFollower(StatefulRedisConnection<String, byte[]> connection) {
        synchronized (followerSignal) {
            followerSignal.notifyAll();
        }
        RedisAsyncCommands<String, byte[]> redis = connection.async();
        redis.xadd(wakeKey, XAddArgs.Builder.maxlen(16), Map.of("w", new byte[0]));
        redis.pexpire(wakeKey, WAKE_EXPIRY_MILLIS);
    }

    static long entryNumber(String entryId) {
        return Long.parseLong(entryId.substring(entryId.indexOf('-') + 1));
    }

    private void followLoop() {
        String wakeCursor = "0-0";
        long leasesRenewedAt = 0;
        while (running) {
            try {
                if (readers.isEmpty()) {
                    synchronized (followerSignal) {
                        if (readers.isEmpty()) {
                            followerSignal.wait(1000);
                        }
                    }
                    continue;
                }
                StatefulRedisConnection<String, byte[]> connection = readerConnection.get();
                if (connection == null) {
                    readFailed(readerConnection.failure());
                    Thread.sleep(RECONNECT_PAUSE_MILLIS);
                    continue;
                }
                Map<String, List<RemoteReader>> followed = Map.copyOf(readers);
                if (System.nanoTime() - leasesRenewedAt > properties.readerLease().toNanos() / 3) {
                    renewLeases(followed.values());
                    leasesRenewedAt = System.nanoTime();
                }
                List<StreamOffset<String>> offsets = new ArrayList<>(followed.size() + 1);
                offsets.add(StreamOffset.from(wakeKey, wakeCursor));
                followed.forEach((key, list) -> offsets.add(StreamOffset.from(key,
                        "0-" + list.stream().mapToLong(RemoteReader::position).min().orElse(0))));
                @SuppressWarnings("unchecked")
                StreamOffset<String>[] streams = offsets.toArray(StreamOffset[]::new);
                List<StreamMessage<String, byte[]>> entries = connection.async()
                        .xread(XReadArgs.Builder.block(BLOCK_MILLIS).count(MAX_BATCH), streams)
                        .get(BLOCK_MILLIS + commandTimeout.toMillis(), TimeUnit.MILLISECONDS);
                for (StreamMessage<String, byte[]> entry : entries) {
                    if (entry.getStream().equals(wakeKey)) {
                        wakeCursor = entry.getId();
                        continue;
                    }
                    long number = entryNumber(entry.getId());
                    Map<String, byte[]> body = entry.getBody();
                    for (RemoteReader reader : followed.getOrDefault(entry.getStream(), List.of())) {
                        reader.offer(number, body.containsKey(DONE_FIELD) ? null : body.get(EVENT_FIELD));
                    }
                }
                if (readsFailing) {
                    readsFailing = false;
                    log.info("Reading chat streams from Redis works again");
                }
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                readFailed(e);
                try {
                    Thread.sleep(RECONNECT_PAUSE_MILLIS);
                } catch (InterruptedException interrupted) {
                    return;
                }
            }
        }
    }

    private void renewLeases(Iterable<List<RemoteReader>> followed) {
        StatefulRedisConnection<String, byte[]> connection = commandConnection.get();
        if (connection == null) {
            return;
        }
        RedisAsyncCommands<String, byte[]> redis = connection.async();
        redis.pexpire(wakeKey, WAKE_EXPIRY_MILLIS);
        for (List<RemoteReader> list : followed) {
            if (!list.isEmpty()) {
                redis.set(leaseKey(list.get(0).runId()), instanceId.getBytes(), SetArgs.Builder.px(properties.readerLease().toMillis()));
            }
        }
    }

    private void readFailed(Throwable cause) {
        if (!readsFailing) {
            readsFailing = true;
            log.warn("Reading chat streams from Redis failed ({}); resumes of streams held by other instances are refused meanwhile",
                    cause == null ? "unknown cause" : cause.getMessage());
        }
    }

    /**
     * When the context starts closing, with the local streams (ChatStreams): a reader served from Redis ends with an
     * error naming its run, rather than holding its request through the web server's graceful shutdown.
     */
    @EventListener(ContextClosedEvent.class)
    public void endReadersOnShutdown() {
        readers.values().forEach(list -> list.forEach(RemoteReader::shutDown));
    }

    @Override
    public void destroy() {
        // The local streams' last events (their shutdown error and end) are copied before the writer stops.
        long deadline = System.nanoTime() + commandTimeout.toNanos();
        while (!copies.isEmpty() && !writesFailing && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        running = false;
        writer.interrupt();
        follower.interrupt();
        endReadersOnShutdown();
        try {
            writer.join(commandTimeout.toMillis());
            follower.join(commandTimeout.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writerConnection.close();
        commandConnection.close();
        readerConnection.close();
    }

    /** A connection made on first use, and again after a failed attempt at most once a second. */
    private static final class Lazy {
        private final Supplier<StatefulRedisConnection<String, byte[]>> connect;
        private StatefulRedisConnection<String, byte[]> connection;
        private long lastAttemptNanos;
        private boolean attempted;
        private RuntimeException failure;

        Lazy(Supplier<StatefulRedisConnection<String, byte[]>> connect) {
            this.connect = connect;
        }

        synchronized StatefulRedisConnection<String, byte[]> get() {
            if (connection != null) {
                return connection;
            }
            if (attempted && System.nanoTime() - lastAttemptNanos < TimeUnit.MILLISECONDS.toNanos(RECONNECT_PAUSE_MILLIS)) {
                return null;
            }
            attempted = true;
            lastAttemptNanos = System.nanoTime();
            try {
                connection = connect.get();
                failure = null;
            } catch (RuntimeException e) {
                failure = e;
            }
            return connection;
        }

        synchronized RuntimeException failure() {
            return failure;
        }

        synchronized void close() {
            if (connection != null) {
                connection.close();
                connection = null;
            }
        }
    }
}
