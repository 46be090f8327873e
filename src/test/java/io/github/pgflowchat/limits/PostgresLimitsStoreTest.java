package io.github.pgflowchat.limits;

import java.net.URI;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

import io.github.pgflowchat.support.LocalPostgres;
import io.github.pgflowchat.support.OwnDatabase;

/** The PostgreSQL limit store on the tests' PostgreSQL server, in a database of its own migrated as the service does. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PostgresLimitsStoreTest extends LimitsStoreContract {

    private static final String DATABASE = OwnDatabase.named("limits_store");

    @BeforeAll
    void migrate() throws Exception {
        OwnDatabase.migrated(DATABASE, null);
    }

    @AfterAll
    void drop() throws Exception {
        OwnDatabase.drop(DATABASE);
    }

    @Override
    SharedLimitsStore open(int port) {
        String url = OwnDatabase.url(DATABASE);
        if (port != 0) {
            url = url.replaceFirst("//[^/]*/", "//127.0.0.1:" + port + "/");
        }
        DataSource dataSource = new DriverManagerDataSource(url, LocalPostgres.USER, LocalPostgres.PASSWORD);
        return new PostgresLimitsStore(dataSource);
    }

    @Override
    int serverPort() {
        int port = URI.create(LocalPostgres.URL.substring("jdbc:".length())).getPort();
        return port < 0 ? 5432 : port;
    }
}
