package io.github.pgflowchat.db;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import javax.sql.DataSource;

import org.flywaydb.core.api.Location;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.flyway.FlywayConfigurationCustomizer;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Adds the project's stand-ins for what Supabase provides, only where the database lacks the real thing:
 * a pgmq-compatible schema where the pgmq extension is not available, and a {@code realtime.send} that records
 * and NOTIFYs where there is no Supabase Realtime. Where Supabase's own {@code realtime.send} is found instead, a
 * trigger on {@code realtime.messages} NOTIFYs each run broadcast, so {@code EVENTS_SOURCE=notify} works there too.
 * A location applied once stays in the migration set, so the history keeps validating if the server changes.
 */
@Component
class StandInMigrations implements FlywayConfigurationCustomizer {

    private static final Logger log = LoggerFactory.getLogger(StandInMigrations.class);

    static final String PGMQ_LOCATION = "classpath:db/standins/pgmq";
    static final String PGMQ_VERSION = "20250429164900";
    static final String REALTIME_LOCATION = "classpath:db/standins/realtime";
    static final String REALTIME_VERSION = "20250429164901";
    static final String REALTIME_NOTIFY_LOCATION = "classpath:db/realtime-notify";
    static final String REALTIME_NOTIFY_VERSION = "20251202000000";

    @Override
    public void customize(FluentConfiguration configuration) {
        JdbcTemplate jdbc = new JdbcTemplate(configuration.getDataSource());
        String historyTable = configuration.getDefaultSchema() == null
                ? configuration.getTable()
                : configuration.getDefaultSchema() + "." + configuration.getTable();
        List<Location> locations = new ArrayList<>(Arrays.asList(configuration.getLocations()));
        if (appliedBefore(jdbc, historyTable, PGMQ_VERSION) || !pgmqAvailable(jdbc)) {
            log.info("No pgmq extension on this server: using the project's pgmq-compatible schema");
            locations.add(new Location(PGMQ_LOCATION));
        }
        boolean realtimeStandIn = appliedBefore(jdbc, historyTable, REALTIME_VERSION) || !realtimeSendExists(jdbc);
        if (realtimeStandIn) {
            log.info("No Supabase Realtime schema: realtime.send records events and wakes listeners with NOTIFY");
            locations.add(new Location(REALTIME_LOCATION));
        }
        if (!realtimeStandIn || appliedBefore(jdbc, historyTable, REALTIME_NOTIFY_VERSION)) {
            log.info("Supabase's realtime.send: a trigger on realtime.messages wakes listeners with NOTIFY");
            locations.add(new Location(REALTIME_NOTIFY_LOCATION));
        }
        configuration.locations(locations.toArray(Location[]::new));
    }

    private static boolean pgmqAvailable(JdbcTemplate jdbc) {
        return Boolean.TRUE.equals(jdbc.queryForObject(
                "select exists (select 1 from pg_available_extensions where name = 'pgmq')", Boolean.class));
    }

    private static boolean realtimeSendExists(JdbcTemplate jdbc) {
        return Boolean.TRUE.equals(jdbc.queryForObject(
                "select to_regprocedure('realtime.send(jsonb, text, text, boolean)') is not null", Boolean.class));
    }

    private static boolean appliedBefore(JdbcTemplate jdbc, String historyTable, String version) {
        Boolean exists = jdbc.queryForObject("select to_regclass(?) is not null", Boolean.class, historyTable);
        if (!Boolean.TRUE.equals(exists)) {
            return false;
        }
        return Boolean.TRUE.equals(jdbc.queryForObject(
                "select exists (select 1 from " + historyTable + " where version = ? and success)", Boolean.class, version));
    }
}
