package io.github.pgflowchat.db;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import javax.sql.DataSource;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * One dedicated PostgreSQL connection per service instance that LISTENs on the channels handlers asked for and
 * hands each notification to them on a single thread, in the order PostgreSQL delivered them. A connection can die
 * without a word (its backend terminated, a silent network drop), so every {@code gateway.events.listen-check-interval}
 * it runs {@code select 1} with that long to answer. When the connection drops or fails the check it reconnects with
 * backoff, LISTENs again and tells the reconnect handlers, since notifications sent while it was away are gone for
 * good. Its backend shows in {@code pg_stat_activity} as application {@value #APPLICATION_NAME}.
 */
@Component
public class PgNotificationListener implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(PgNotificationListener.class);
    private static final int WAIT_MILLIS = 500;
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(10);
    public static final String APPLICATION_NAME = "pgflow-chat-gateway-listener";

    private final DataSource dataSource;
    private final Duration checkInterval;
    private final Map<String, List<Consumer<String>>> handlers = new ConcurrentHashMap<>();
    private final List<Runnable> reconnectHandlers = new CopyOnWriteArrayList<>();
    private volatile boolean running;
    private volatile boolean connected;
    private Thread thread;

    public PgNotificationListener(DataSource dataSource, @Value("${gateway.events.listen-check-interval}") Duration checkInterval) {
        this.dataSource = dataSource;
        this.checkInterval = checkInterval;
    }

    /** Registers a handler; call before the application starts (handlers are fixed once listening begins). */
    public void listen(String channel, Consumer<String> handler) {
        handlers.computeIfAbsent(channel, c -> new CopyOnWriteArrayList<>()).add(handler);
    }

    /** Called after the listener (re)connected: anything notified while it was disconnected was missed. */
    public void onReconnect(Runnable handler) {
        reconnectHandlers.add(handler);
    }

    public boolean isConnected() {
        return connected;
    }

    @Override
    public void start() {
        running = true;
        thread = new Thread(this::run, "pg-notify-listener");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void stop() {
        running = false;
        if (thread != null) {
            thread.interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        // Start before the Camel routes that depend on notifications, stop after them.
        return Integer.MIN_VALUE + 100;
    }

    private void run() {
        Duration backoff = Duration.ofMillis(200);
        boolean firstConnect = true;
        while (running) {
            try (Connection connection = connect()) {
                connection.setNetworkTimeout(Runnable::run, (int) checkInterval.toMillis() + WAIT_MILLIS);
                try (Statement statement = connection.createStatement()) {
                    for (String channel : handlers.keySet()) {
                        statement.execute("LISTEN " + quoteIdentifier(channel));
                    }
                }
                connected = true;
                backoff = Duration.ofMillis(200);
                if (!firstConnect) {
                    log.info("Listening for notifications again on {}", handlers.keySet());
                    reconnectHandlers.forEach(PgNotificationListener::runSafely);
                }
                firstConnect = false;
                PGConnection pg = connection.unwrap(PGConnection.class);
                long nextCheck = System.nanoTime() + checkInterval.toNanos();
                while (running) {
                    PGNotification[] notifications = pg.getNotifications(WAIT_MILLIS);
                    if (notifications != null) {
                        for (PGNotification notification : notifications) {
                            dispatch(notification);
                        }
                    }
                    if (System.nanoTime() - nextCheck >= 0) {
                        check(connection);
                        nextCheck = System.nanoTime() + checkInterval.toNanos();
                    }
                }
            } catch (SQLException e) {
                connected = false;
                if (!running) {
                    return;
                }
                log.warn("Notification connection lost ({}); reconnecting in {} ms", e.getMessage(), backoff.toMillis());
                try {
                    Thread.sleep(backoff.toMillis());
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return;
                }
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
            }
        }
        connected = false;
    }

    private Connection connect() throws SQLException {
        return DedicatedConnection.open(dataSource, APPLICATION_NAME, new Properties());
    }

    private static void check(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("select 1");
        }
    }

    private void dispatch(PGNotification notification) {
        for (Consumer<String> handler : handlers.getOrDefault(notification.getName(), List.of())) {
            try {
                handler.accept(notification.getParameter());
            } catch (RuntimeException e) {
                log.warn("Handler for notification on {} failed: {}", notification.getName(), e.getMessage(), e);
            }
        }
    }

    private static void runSafely(Runnable handler) {
        try {
            handler.run();
        } catch (RuntimeException e) {
            log.warn("Reconnect handler failed: {}", e.getMessage(), e);
        }
    }

    private static String quoteIdentifier(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
