package io.github.pgflowchat.support;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import org.springframework.test.context.DynamicPropertyRegistry;

/**
 * A database of a test class's own on the tests' PostgreSQL server, named after the shared one plus a suffix, migrated
 * as the service migrates (pgflow's SQL from npm, the project's migrations, the pgmq and realtime stand-ins where the
 * server lacks them). For tests without a Spring context: an application context that another test class left
 * running on the shared database keeps its worker serving chat_pipeline there.
 */
public final class OwnDatabase {

    private static final Pattern DATABASE_IN_URL = Pattern.compile("(jdbc:postgresql://[^/]*/)([^?]*)(.*)");

    private OwnDatabase() {
    }

    /** The shared database's name plus {@code _<suffix>}. */
    public static String named(String suffix) {
        Matcher matcher = DATABASE_IN_URL.matcher(LocalPostgres.URL);
        if (!matcher.matches() || !matcher.group(2).matches("[a-z_][a-z0-9_]*")) {
            throw new IllegalStateException("tests name their own databases after the one in " + LocalPostgres.URL
                    + " and need a plain lower-case name there");
        }
        return matcher.group(2) + "_" + suffix;
    }

    public static String url(String database) {
        return DATABASE_IN_URL.matcher(LocalPostgres.URL).replaceFirst("$1" + database + "$3");
    }

    public static DriverManagerDataSource dataSource(String database) {
        return new DriverManagerDataSource(url(database), LocalPostgres.USER, LocalPostgres.PASSWORD);
    }

    /** A connection pool on the database, as an application without Spring would have one; the caller closes it. */
    public static HikariDataSource pooled(String database) {
        HikariDataSource pool = new HikariDataSource();
        pool.setJdbcUrl(url(database));
        pool.setUsername(LocalPostgres.USER);
        pool.setPassword(LocalPostgres.PASSWORD);
        return pool;
    }

    /** Runs statements on the shared database's connection (create and drop database, say). */
    public static void onServer(String... statements) throws SQLException {
        try (Connection server = DriverManager.getConnection(LocalPostgres.URL, LocalPostgres.USER, LocalPostgres.PASSWORD);
             Statement statement = server.createStatement()) {
            for (String sql : statements) {
                statement.execute(sql);
            }
        }
    }

    /** Drops the database if it exists, creates it afresh and migrates it up to {@code target} (null: every migration). */
    public static DriverManagerDataSource migrated(String database, String target) throws SQLException {
        onServer("drop database if exists " + database + " with (force)", "create database " + database);
        DriverManagerDataSource dataSource = dataSource(database);
        List<String> locations = new ArrayList<>(List.of("classpath:db/migration", "classpath:db/standins/realtime"));
        if (!Boolean.TRUE.equals(new JdbcTemplate(dataSource).queryForObject(
                "select exists (select 1 from pg_available_extensions where name = 'pgmq')", Boolean.class))) {
            locations.add("classpath:db/standins/pgmq");
        }
        FluentConfiguration flyway = Flyway.configure().dataSource(dataSource)
                .sqlMigrationPrefix("").sqlMigrationSeparator("_")
                .locations(locations.toArray(String[]::new));
        if (target != null) {
            flyway.target(target);
        }
        flyway.load().migrate();
        return dataSource;
    }

    /** A Spring test context's database: created empty (the context migrates it), its URL and credentials registered. */
    public static void emptyFor(DynamicPropertyRegistry registry, String database) throws SQLException {
        onServer("drop database if exists " + database + " with (force)", "create database " + database);
        registry.add("spring.datasource.url", () -> url(database));
        registry.add("spring.datasource.username", () -> LocalPostgres.USER);
        registry.add("spring.datasource.password", () -> LocalPostgres.PASSWORD);
    }

    public static void drop(String... databases) throws SQLException {
        for (String database : databases) {
            onServer("drop database if exists " + database + " with (force)");
        }
    }
}
