package io.github.pgflowchat.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariDataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * A baseline on two plain JDBC connections to the gateway's database, with nothing of the gateway in between: one
 * commits a statement that NOTIFYs, the other LISTENs on its own thread (blocked in the driver, as the gateway's
 * listener is), optionally runs one statement when notified, and records the time. The round trip runs from the
 * sender's commit returning to the listener being done, both on {@link System#nanoTime()}.
 */
final class NotifyRoundTrip implements AutoCloseable {

    private final Connection sender;
    private final Connection listener;
    private final String send;
    private final BlockingQueue<Long> received = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean running = true;

    /** @param payload only notifications on {@code channel} with this payload count; others are ignored */
    NotifyRoundTrip(HikariDataSource database, String send, String channel, String payload, String onNotified) throws SQLException {
        this.sender = DriverManager.getConnection(database.getJdbcUrl(), database.getUsername(), database.getPassword());
        this.listener = DriverManager.getConnection(database.getJdbcUrl(), database.getUsername(), database.getPassword());
        this.send = send;
        try (Statement listen = listener.createStatement()) {
            listen.execute("LISTEN " + channel);
        }
        thread = new Thread(() -> listen(payload, onNotified), "bench-notify-listener");
        thread.setDaemon(true);
        thread.start();
    }

    double roundTripMillis() throws Exception {
        received.clear();
        long sent;
        try (Statement statement = sender.createStatement()) {
            statement.execute(send);
            sent = System.nanoTime();
        }
        Long done = received.poll(5, TimeUnit.SECONDS);
        if (done == null) {
            throw new IllegalStateException("no notification within 5 s after: " + send);
        }
        return (done - sent) / 1e6;
    }

    private void listen(String payload, String onNotified) {
        try (Statement statement = listener.createStatement()) {
            PGConnection pg = listener.unwrap(PGConnection.class);
            while (running) {
                PGNotification[] notifications = pg.getNotifications(500);
                for (PGNotification notification : notifications == null ? new PGNotification[0] : notifications) {
                    if (payload.equals(notification.getParameter())) {
                        if (onNotified != null) {
                            statement.execute(onNotified);
                        }
                        received.add(System.nanoTime());
                    }
                }
            }
        } catch (SQLException e) {
            if (running) {
                throw new IllegalStateException("the baseline's listener failed", e);
            }
        }
    }

    @Override
    public void close() throws Exception {
        running = false;
        thread.join(2000);
        sender.close();
        listener.close();
    }
}
