package io.github.pgflowchat.limits;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Collection;
import java.util.UUID;

import javax.sql.DataSource;

import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.jdbc.PrimaryKeyMapper;
import io.github.bucket4j.postgresql.Bucket4jPostgreSQL;
import io.github.bucket4j.postgresql.PostgreSQLSelectForUpdateBasedProxyManager;

/**
 * The limits in PostgreSQL (migration {@code *_gateway_limits.sql}): rate buckets through Bucket4j's PostgreSQL backend
 * in its select-for-update form (one row per bucket in {@code gateway_rate_buckets}, locked while a token is taken),
 * slots as lease rows in {@code gateway_user_slots}, taken by {@code gateway_take_slot} under a per-user advisory lock.
 */
public final class PostgresLimitsStore implements SharedLimitsStore {

    /** Expired buckets deleted per sweep; the rest go at the next one. */
    private static final int SWEEP_BATCH = 1000;

    private final DataSource dataSource;
    private final PostgreSQLSelectForUpdateBasedProxyManager<String> buckets;

    public PostgresLimitsStore(DataSource dataSource) {
        this.dataSource = dataSource;
        this.buckets = Bucket4jPostgreSQL.selectForUpdateBasedBuilder(dataSource)
                .primaryKeyMapper(PrimaryKeyMapper.STRING)
                .table("public.gateway_rate_buckets")
                .idColumn("id").stateColumn("state").expiresAtColumn("expires_at")
                // A bucket that has refilled completely is what a new one would be: its row may go then.
                .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ZERO))
                .build();
    }

    @Override
    public String name() {
        return "postgres";
    }

    @Override
    public ConsumptionProbe tryConsume(String key, BucketConfiguration configuration) {
        return buckets.builder().build(key, () -> configuration).tryConsumeAndReturnRemaining(1);
    }

    @Override
    public boolean tryLease(String kind, String userId, int limit, UUID leaseId, UUID instanceId, Duration lease) {
        try (Connection connection = dataSource.getConnection();
             PreparedStatement take = connection.prepareStatement("select public.gateway_take_slot(?, ?, ?, ?, ?, ?)")) {
            take.setString(1, kind);
            take.setString(2, userId);
            take.setInt(3, limit);
            take.setObject(4, leaseId);
            take.setObject(5, instanceId);
            take.setLong(6, lease.toMillis());
            try (ResultSet result = take.executeQuery()) {
                result.next();
                return result.getBoolean(1);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("taking a slot in PostgreSQL failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void renew(Collection<SlotLease> leases, UUID instanceId, Duration lease) {
        try (Connection connection = dataSource.getConnection()) {
            if (leases.isEmpty()) {
                if (!connection.isValid(5)) {
                    throw new SQLException("the connection did not answer");
                }
                return;
            }
            UUID[] ids = leases.stream().map(SlotLease::id).toArray(UUID[]::new);
            String[] kinds = leases.stream().map(SlotLease::kind).toArray(String[]::new);
            String[] users = leases.stream().map(SlotLease::userId).toArray(String[]::new);
            // An upsert: a lease the table lost (taken while the store failed, or expired during a long pause) comes back.
            try (PreparedStatement renew = connection.prepareStatement("""
                    insert into public.gateway_user_slots (lease_id, kind, user_id, instance_id, expires_at)
                    select l.id, l.kind, l.user_id, ?, clock_timestamp() + ? * interval '1 millisecond'
                      from unnest(?::uuid[], ?::text[], ?::text[]) as l(id, kind, user_id)
                    on conflict (lease_id) do update set expires_at = excluded.expires_at""")) {
                Array idArray = connection.createArrayOf("uuid", ids);
                Array kindArray = connection.createArrayOf("text", kinds);
                Array userArray = connection.createArrayOf("text", users);
                renew.setObject(1, instanceId);
                renew.setLong(2, lease.toMillis());
                renew.setArray(3, idArray);
                renew.setArray(4, kindArray);
                renew.setArray(5, userArray);
                renew.executeUpdate();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("renewing slot leases in PostgreSQL failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void release(SlotLease lease) {
        try (Connection connection = dataSource.getConnection();
             PreparedStatement delete = connection.prepareStatement("delete from public.gateway_user_slots where lease_id = ?")) {
            delete.setObject(1, lease.id());
            delete.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("releasing a slot in PostgreSQL failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void removeExpired() {
        try (Connection connection = dataSource.getConnection();
             PreparedStatement delete = connection.prepareStatement(
                     "delete from public.gateway_user_slots where expires_at <= clock_timestamp()")) {
            delete.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("deleting expired slot leases in PostgreSQL failed: " + e.getMessage(), e);
        }
        buckets.removeExpired(SWEEP_BATCH);
    }

    @Override
    public long held(String kind, String userId) {
        try (Connection connection = dataSource.getConnection();
             PreparedStatement count = connection.prepareStatement(
                     "select count(*) from public.gateway_user_slots where kind = ? and user_id = ? and expires_at > clock_timestamp()")) {
            count.setString(1, kind);
            count.setString(2, userId);
            try (ResultSet result = count.executeQuery()) {
                result.next();
                return result.getInt(1);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        // the data source is the application's
    }
}
