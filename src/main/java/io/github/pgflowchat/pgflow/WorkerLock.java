package io.github.pgflowchat.pgflow;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;
import java.util.UUID;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.github.pgflowchat.db.DedicatedConnection;

/**
 * The session-level advisory lock the worker holds for its life, on a connection of its own outside the pool: peers
 * take the worker for gone as soon as the lock is free (decision record 0012). A pooled connection would not do: the
 * pool closes and replaces its connections when it likes, and every close would free the lock.
 *
 * <p>{@link #check()} runs every {@link #CHECK_INTERVAL} on a thread of the worker's own. It confirms that this
 * connection still holds the lock, and when the connection dropped it opens a new one and takes the lock again. While
 * the lock is lost the worker claims nothing, since peers take it for gone and hand back whatever it starts.
 */
final class WorkerLock implements AutoCloseable {

    /** Bounds how long the lock stays free after its connection dropped while the instance lives. */
    static final Duration CHECK_INTERVAL = Duration.ofSeconds(1);
    /**
     * After this instance took its lock again, how long it waits before it takes a peer with a free lock for gone.
     * What made it lose its lock (the database restarted, the network failed) may have made every peer lose theirs,
     * and each needs up to about {@link #CHECK_INTERVAL} plus a connect to take it again.
     */
    static final Duration SETTLE = Duration.ofSeconds(5);

    private static final Logger log = LoggerFactory.getLogger(WorkerLock.class);
    /** A socket that stops answering fails the check after this long, rather than holding the checking thread. */
    private static final int SOCKET_TIMEOUT_SECONDS = 5;

    private final DataSource dataSource;
    private final UUID workerId;
    private Connection connection;
    private volatile boolean held;
    /** System.nanoTime() from which peers' free locks are believed: at once after registering, SETTLE after a loss. */
    private volatile long trustFromNanos;

    WorkerLock(DataSource dataSource, UUID workerId) {
        this.dataSource = dataSource;
        this.workerId = workerId;
    }

    /**
     * Records that the worker holds a lock and takes it, in one transaction: no peer sees the record before the lock
     * is held. The worker's row in pgflow.workers must exist.
     */
    synchronized void register() throws SQLException {
        Connection opened = open();
        try {
            opened.setAutoCommit(false);
            try (PreparedStatement insert = opened.prepareStatement("insert into public.gateway_worker_locks (worker_id) values (?)")) {
                insert.setObject(1, workerId);
                insert.executeUpdate();
            }
            if (!hold(opened)) {
                throw new IllegalStateException("the advisory lock of worker " + workerId
                        + " is held by another session: something else uses key space 1885824631 (decision record 0012)");
            }
            opened.commit();
            opened.setAutoCommit(true);
        } catch (SQLException | RuntimeException e) {
            closeQuietly(opened);
            throw e;
        }
        connection = opened;
        trustFromNanos = System.nanoTime();
        held = true;
    }

    boolean isHeld() {
        return held;
    }

    /**
     * Whether a peer whose lock is free may be taken for gone: while this instance holds its own lock, and, after it
     * lost it, only once it has held it again for {@link #SETTLE}.
     */
    boolean trustsPeersLocks() {
        return held && System.nanoTime() - trustFromNanos >= 0;
    }

    /** Confirms the lock, or opens a new connection and takes it again; never throws. */
    synchronized void check() {
        boolean hadConnection = connection != null;
        if (!holdOnce() && hadConnection) {
            // The connection had dropped: a new one at once, rather than a check later, keeps the lock free briefly.
            holdOnce();
        }
    }

    /** False when the connection failed; it is then closed and forgotten. */
    private boolean holdOnce() {
        try {
            if (connection == null) {
                connection = open();
            }
            if (hold(connection)) {
                if (!held) {
                    trustFromNanos = System.nanoTime() + SETTLE.toNanos();
                    held = true;
                    log.info("pgflow worker {} holds its lock again", workerId);
                }
            } else {
                lost("another session holds it, or the worker's record is gone");
            }
            return true;
        } catch (SQLException e) {
            lost(e.getMessage());
            closeQuietly(connection);
            connection = null;
            return false;
        }
    }

    private void lost(String why) {
        if (held) {
            held = false;
            log.warn("pgflow worker {} lost its lock ({}); it claims no tasks until it holds it again", workerId, why);
        }
    }

    private boolean hold(Connection on) throws SQLException {
        try (PreparedStatement statement = on.prepareStatement("select public.gateway_hold_worker_lock(?)")) {
            statement.setObject(1, workerId);
            try (ResultSet rs = statement.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private Connection open() throws SQLException {
        Properties timeouts = new Properties();
        timeouts.setProperty("socketTimeout", String.valueOf(SOCKET_TIMEOUT_SECONDS));
        timeouts.setProperty("connectTimeout", String.valueOf(SOCKET_TIMEOUT_SECONDS));
        return DedicatedConnection.open(dataSource, "pgflow-chat-gateway worker lock " + workerId, timeouts);
    }

    /** Closing the session frees the lock at once. */
    @Override
    public synchronized void close() {
        held = false;
        closeQuietly(connection);
        connection = null;
    }

    private static void closeQuietly(Connection connection) {
        if (connection == null) {
            return;
        }
        try {
            connection.close();
        } catch (SQLException e) {
            log.debug("closing the worker lock's connection: {}", e.getMessage());
        }
    }
}
