package io.github.pgflowchat.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.Test;

import io.github.pgflowchat.support.DroppableTcpProxy;
import io.github.pgflowchat.support.LocalPostgres;

/**
 * A LISTEN connection can die without a word: no reset, no error, just silence (a dropped NAT entry, a frozen
 * peer). The listener's periodic check notices, says it is disconnected, reconnects and tells its handlers.
 */
class PgNotificationListenerTest {

    private static final String CHANNEL = "listener_test";

    @Test
    void aConnectionThatGoesSilentIsReplacedAndTheReconnectIsAnnounced() throws Exception {
        URI direct = URI.create(LocalPostgres.URL.substring("jdbc:".length()));
        List<String> received = new CopyOnWriteArrayList<>();
        AtomicInteger reconnects = new AtomicInteger();
        try (DroppableTcpProxy proxy = new DroppableTcpProxy(direct.getPort()); HikariDataSource dataSource = new HikariDataSource()) {
            dataSource.setJdbcUrl("jdbc:postgresql://127.0.0.1:" + proxy.port() + direct.getPath());
            dataSource.setUsername(LocalPostgres.USER);
            dataSource.setPassword(LocalPostgres.PASSWORD);
            PgNotificationListener listener = new PgNotificationListener(dataSource, Duration.ofMillis(500));
            listener.listen(CHANNEL, received::add);
            listener.onReconnect(reconnects::incrementAndGet);
            listener.start();
            try {
                await().atMost(Duration.ofSeconds(10)).until(listener::isConnected);
                notifyDirectly("before");
                await().atMost(Duration.ofSeconds(5)).until(() -> received.contains("before"));

                proxy.silenceConnections();

                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> !listener.isConnected());
                await().atMost(Duration.ofSeconds(10)).until(() -> listener.isConnected() && reconnects.get() == 1);
                notifyDirectly("after");
                await().atMost(Duration.ofSeconds(5)).until(() -> received.contains("after"));
            } finally {
                listener.stop();
            }
        }
        assertThat(received).containsExactly("before", "after");
    }

    private static void notifyDirectly(String payload) throws Exception {
        try (Connection connection = DriverManager.getConnection(LocalPostgres.URL, LocalPostgres.USER, LocalPostgres.PASSWORD);
             Statement statement = connection.createStatement()) {
            statement.execute("select pg_notify('" + CHANNEL + "', '" + payload + "')");
        }
    }
}
