package io.github.pgflowchat.db;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

import com.zaxxer.hikari.HikariDataSource;

/**
 * A connection of its own to the pool's database, outside the pool: for a session that must live as long as its owner
 * (a LISTEN, a session lock), which a pooled connection handed back and forth cannot be.
 */
public final class DedicatedConnection {

    private DedicatedConnection() {
    }

    /**
     * Opens one with the pool's URL and credentials, named {@code applicationName} in {@code pg_stat_activity};
     * {@code driverProperties} (timeouts, say) are passed to the driver as well.
     */
    public static Connection open(HikariDataSource dataSource, String applicationName, Properties driverProperties) throws SQLException {
        Properties properties = new Properties();
        properties.putAll(driverProperties);
        if (dataSource.getUsername() != null) {
            properties.setProperty("user", dataSource.getUsername());
        }
        if (dataSource.getPassword() != null) {
            properties.setProperty("password", dataSource.getPassword());
        }
        properties.setProperty("ApplicationName", applicationName);
        return DriverManager.getConnection(dataSource.getJdbcUrl(), properties);
    }
}
