package io.github.pgflowchat.limits;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;

/**
 * The limits in Redis: rate buckets through Bucket4j's Lettuce backend (compare-and-swap, one key per bucket under
 * {@code gateway:limits:rate:}, expiring once refilled), slots as a sorted set per user and kind under
 * {@code gateway:limits:slots:} whose members are lease ids scored by their expiry (Redis's own clock, in ms). A Lua
 * script drops the expired members, counts and adds in one step, so no two instances take the last slot; the key
 * expires with its latest lease. Connections are opened on first use, so Redis being down at start-up only makes
 * the instance count on its own until it is up.
 */
public final class RedisLimitsStore implements SharedLimitsStore {

    static final String RATE_PREFIX = "gateway:limits:rate:";
    static final String SLOTS_PREFIX = "gateway:limits:slots:";

    /** KEYS[1] the user's set; ARGV limit, lease id, lease ms. 1 when taken. */
    private static final String TAKE = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
            if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
              return 0
            end
            redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
            redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
            return 1
            """;

    /** KEYS[1] the user's set; ARGV lease id, lease ms. Puts the lease back when the set lost it. */
    private static final String RENEW = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
            if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
              redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
            end
            return 1
            """;

    private final RedisClient client;
    private final Duration timeout;
    private volatile StatefulRedisConnection<String, String> connection;
    private volatile ProxyManager<String> buckets;
    private volatile StatefulRedisConnection<String, byte[]> bucketConnection;
    private volatile String takeSha;
    private volatile String renewSha;

    /** {@code timeout}: a command without a reply by then fails (gateway.redis.command-timeout). */
    public RedisLimitsStore(RedisClient client, Duration timeout) {
        this.client = client;
        this.timeout = timeout;
    }

    @Override
    public String name() {
        return "redis";
    }

    private synchronized void connect() {
        if (connection == null) {
            StatefulRedisConnection<String, String> opened = client.connect();
            takeSha = opened.sync().scriptLoad(TAKE);
            renewSha = opened.sync().scriptLoad(RENEW);
            connection = opened;
        }
        if (buckets == null) {
            bucketConnection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
            buckets = Bucket4jLettuce.casBasedBuilder(bucketConnection)
                    .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ofSeconds(1)))
                    .build();
        }
    }

    private RedisAsyncCommands<String, String> commands() {
        if (connection == null) {
            connect();
        }
        return connection.async();
    }

    @Override
    public ConsumptionProbe tryConsume(String key, BucketConfiguration configuration) {
        if (buckets == null) {
            connect();
        }
        return buckets.builder().build(RATE_PREFIX + key, () -> configuration).tryConsumeAndReturnRemaining(1);
    }

    static String slotsKey(String kind, String userId) {
        return SLOTS_PREFIX + kind + ":" + userId;
    }

    @Override
    public boolean tryLease(String kind, String userId, int limit, UUID leaseId, UUID instanceId, Duration lease) {
        RedisAsyncCommands<String, String> redis = commands();
        String[] args = {Integer.toString(limit), leaseId.toString(), Long.toString(lease.toMillis())};
        Long taken;
        try {
            taken = await(redis.evalsha(takeSha, ScriptOutputType.INTEGER, new String[] {slotsKey(kind, userId)}, args));
        } catch (RedisNoScriptException e) {
            // Redis restarted empty since the scripts were loaded.
            reloadScripts(redis);
            taken = await(redis.evalsha(takeSha, ScriptOutputType.INTEGER, new String[] {slotsKey(kind, userId)}, args));
        }
        return taken != null && taken == 1L;
    }

    @Override
    public void renew(Collection<SlotLease> leases, UUID instanceId, Duration lease) {
        RedisAsyncCommands<String, String> redis = commands();
        if (leases.isEmpty()) {
            await(redis.ping());
            return;
        }
        // Pipelined: one round trip for all of them.
        List<RedisFuture<Long>> renewals = new ArrayList<>(leases.size());
        for (SlotLease held : leases) {
            renewals.add(redis.evalsha(renewSha, ScriptOutputType.INTEGER, new String[] {slotsKey(held.kind(), held.userId())},
                    held.id().toString(), Long.toString(lease.toMillis())));
        }
        for (RedisFuture<Long> renewal : renewals) {
            try {
                await(renewal);
            } catch (RedisNoScriptException e) {
                // Redis restarted empty: load the scripts again, and renew at the next turn (well within a lease).
                reloadScripts(redis);
                throw e;
            }
        }
    }

    @Override
    public void release(SlotLease lease) {
        await(commands().zrem(slotsKey(lease.kind(), lease.userId()), lease.id().toString()));
    }

    @Override
    public void removeExpired() {
        // Every key expires on its own.
    }

    @Override
    public long held(String kind, String userId) {
        return await(commands().zcount(slotsKey(kind, userId),
                io.lettuce.core.Range.create((double) System.currentTimeMillis(), Double.POSITIVE_INFINITY)));
    }

    private <T> T await(RedisFuture<T> future) {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RedisNoScriptException noScript) {
                throw noScript;
            }
            throw new IllegalStateException("Redis: " + e.getCause().getMessage(), e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            future.cancel(true);
            throw new IllegalStateException("Redis did not answer within " + timeout.toMillis() + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for Redis", e);
        }
    }

    private void reloadScripts(RedisAsyncCommands<String, String> redis) {
        try {
            takeSha = redis.scriptLoad(TAKE).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            renewSha = redis.scriptLoad(RENEW).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // the next call tries again
        }
    }

    @Override
    public void close() {
        if (connection != null) {
            connection.close();
        }
        if (bucketConnection != null) {
            bucketConnection.close();
        }
    }
}
