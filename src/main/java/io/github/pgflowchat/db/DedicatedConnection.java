package io.github.pgflowchat.db;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import org.postgresql.ds.common.BaseDataSource;

/**
 * A connection of its own to the pool's database, outside the pool: for a session that must live as long as its owner
 * (a LISTEN, a session lock), which a pooled connection handed back and forth cannot be.
 */
public final class DedicatedConnection {

    private DedicatedConnection() {
    }

    /**
     * Opens one with the pool's URL and credentials, named {@code applicationName} in {@code pg_stat_activity};
     * {@code driverProperties} (timeouts, say) are passed to the driver as well. The pool is a Hikari pool, or the
     * PostgreSQL driver's own data source; any other cannot say where its database is.
     */
    public static Connection open(DataSource dataSource, String applicationName, Properties driverProperties) throws SQLException {
        Properties properties = new Properties();
        properties.putAll(driverProperties);
        String url;
        String user;
        String password;
        if (dataSource instanceof HikariDataSource hikari) {
            url = hikari.getJdbcUrl();
            user = hikari.getUsername();
            password = hikari.getPassword();
        } else if (dataSource.isWrapperFor(BaseDataSource.class)) {
            BaseDataSource postgres = dataSource.unwrap(BaseDataSource.class);
            url = postgres.getUrl();
            user = postgres.getUser();
            password = postgres.getPassword();
        } else {
            throw new SQLException("cannot open a connection outside the pool of a " + dataSource.getClass().getName()
                    + ": use a HikariDataSource or a PostgreSQL driver DataSource (PGSimpleDataSource)");
        }
        if (user != null) {
            properties.setProperty("user", user);
        }
        if (password != null) {
            properties.setProperty("password", password);
        }
        properties.setProperty("ApplicationName", applicationName);
        return DriverManager.getConnection(url, properties);
    }
}
