package io.github.pgflowchat.component.pgflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

import io.github.pgflowchat.pgflow.PgflowSqlClient;
import io.github.pgflowchat.support.OwnDatabase;

/**
 * FlowInstaller and FlowCompiler on the PostgreSQL server of the tests, in a database of this class's own that every
 * test creates afresh from a template migrated as the service migrates: pgflow 0.8.1's SQL from npm, the project's migrations (which
 * create the unversioned chat_pipeline), and the project's pgmq and realtime stand-ins where the server lacks them.
 * Its own database, because an application context that another test class left running on the shared one keeps
 * its worker serving chat_pipeline there.
 */
class FlowInstallerTest {

    private static final String DATABASE = OwnDatabase.named("flow_installer");
    private static final String LAST_MIGRATION_WITHOUT_A_VERSION = "20251202010000";
    /** Migrated once per class; each test's database is a copy of it. */
    private static final String TEMPLATE = DATABASE + "_template";

    private final DriverManagerDataSource dataSource = OwnDatabase.dataSource(DATABASE);
    private final JdbcTemplate jdbc = new JdbcTemplate(dataSource);
    private final FlowInstaller installer = new FlowInstaller(dataSource);
    private final FlowShape chatPipeline = FlowShapeTest.chatPipeline();

    @BeforeAll
    static void migratedTemplate() throws SQLException {
        // Up to the last migration before the first compiled flow version: the versions are what these tests install.
        OwnDatabase.migrated(TEMPLATE, LAST_MIGRATION_WITHOUT_A_VERSION);
    }

    @BeforeEach
    void freshlyMigratedDatabase() throws SQLException {
        OwnDatabase.onServer("drop database if exists " + DATABASE + " with (force)", "create database " + DATABASE + " template " + TEMPLATE);
    }

    @Test
    void anInstalledVersionRunsInPgflowAndWakesTheWorkers() throws Exception {
        String version = chatPipeline.versionSlug();

        assertThat(installer.install(chatPipeline)).isTrue();

        assertThat(jdbc.queryForList("""
                select step_slug, step_index, deps_count, opt_max_attempts, opt_base_delay, opt_timeout
                  from pgflow.steps where flow_slug = ? order by step_index
                """, version)).containsExactly(
                Map.of("step_slug", "search", "step_index", 0, "deps_count", 0, "opt_max_attempts", 3, "opt_base_delay", 1, "opt_timeout", 10),
                Map.of("step_slug", "analyze", "step_index", 1, "deps_count", 1, "opt_max_attempts", 3, "opt_base_delay", 1, "opt_timeout", 60),
                Map.of("step_slug", "respond", "step_index", 2, "deps_count", 2, "opt_max_attempts", 2, "opt_base_delay", 1, "opt_timeout", 300));

        try (Connection listener = dataSource.getConnection(); Statement listen = listener.createStatement()) {
            listen.execute("listen pgmq_queue");
            UUID runId = jdbc.queryForObject("select run_id from pgflow.start_flow(?, '{\"question\":\"q\"}'::jsonb)", UUID.class, version);

            PGNotification[] notifications = listener.unwrap(PGConnection.class).getNotifications(5000);
            assertThat(notifications).extracting(PGNotification::getParameter).containsExactly(version);

            Long msgId = jdbc.queryForObject("select msg_id from pgmq.read(?, 30, 10) where message ->> 'step_slug' = 'search'",
                    Long.class, version);
            UUID workerId = UUID.randomUUID();
            jdbc.update("insert into pgflow.workers (worker_id, queue_name, function_name) values (?, ?, 'test')", workerId, version);
            List<Map<String, Object>> tasks = jdbc.queryForList("""
                    select run_id, step_slug, input ->> 'run' as input
                      from pgflow.start_tasks(?, array[?]::bigint[], ?)
                    """, version, msgId, workerId);
            assertThat(tasks).containsExactly(Map.of("run_id", runId, "step_slug", "search", "input", "{\"question\": \"q\"}"));
        }
    }

    @Test
    void installingAnInstalledVersionChangesNothing() {
        installer.install(chatPipeline);
        Map<String, Object> before = snapshot(chatPipeline.versionSlug());

        assertThat(installer.install(chatPipeline)).isFalse();

        assertThat(snapshot(chatPipeline.versionSlug())).isEqualTo(before);
    }

    @Test
    void instancesInstallingTheSameShapeAtOnceCreateItOnceAndBothSucceed() throws Exception {
        assertThat(installAtOnce(chatPipeline, chatPipeline)).containsExactlyInAnyOrder(true, false);

        assertThat(jdbc.queryForObject("select count(*) from pgflow.steps where flow_slug = ?", Integer.class,
                chatPipeline.versionSlug())).isEqualTo(3);
        assertThat(installer.read(chatPipeline.versionSlug()).canonicalForm()).isEqualTo(chatPipeline.canonicalForm());
    }

    @Test
    void instancesInstallingTwoVersionsAtOnceCreateBoth() throws Exception {
        FlowShape longerAnswers = new FlowShape("chat_pipeline", List.of(
                new StepShape("search", List.of(), 3, 1, 10),
                new StepShape("respond", List.of("search"), 2, 1, 600)));

        assertThat(installAtOnce(chatPipeline, longerAnswers)).containsExactly(true, true);

        assertThat(installer.read(longerAnswers.versionSlug()).canonicalForm()).isEqualTo(longerAnswers.canonicalForm());
        assertThat(installer.read(chatPipeline.versionSlug()).canonicalForm()).isEqualTo(chatPipeline.canonicalForm());
    }

    /** What install returned for each shape, each installed by an instance of its own, all released at once. */
    private List<Boolean> installAtOnce(FlowShape... shapes) throws Exception {
        CyclicBarrier start = new CyclicBarrier(shapes.length);
        ExecutorService instances = Executors.newFixedThreadPool(shapes.length);
        try {
            List<Future<Boolean>> installs = new ArrayList<>();
            for (FlowShape shape : shapes) {
                installs.add(instances.submit(() -> {
                    start.await(10, TimeUnit.SECONDS);
                    return new FlowInstaller(dataSource).install(shape);
                }));
            }
            List<Boolean> created = new ArrayList<>();
            for (Future<Boolean> install : installs) {
                created.add(install.get(30, TimeUnit.SECONDS));
            }
            return created;
        } finally {
            instances.shutdownNow();
        }
    }

    @Test
    void aStoredVersionWithOtherOptionsIsRefusedShowingBoth() {
        String version = chatPipeline.versionSlug();
        installer.install(chatPipeline);
        jdbc.update("update pgflow.steps set opt_timeout = 99 where flow_slug = ? and step_slug = 'analyze'", version);

        assertThatThrownBy(() -> installer.install(chatPipeline))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Flow version " + version + " in pgflow differs from the declared shape")
                .hasMessageContaining("Declared:\n" + chatPipeline.canonicalForm())
                .hasMessageContaining("step analyze dependsOn=search maxAttempts=3 baseDelay=1 timeout=99");
    }

    @Test
    void aStoredStepWhoseDependencyCountDisagreesWithItsDependenciesIsRefused() {
        String version = chatPipeline.versionSlug();
        installer.install(chatPipeline);
        jdbc.update("delete from pgflow.deps where flow_slug = ? and step_slug = 'respond' and dep_slug = 'search'", version);

        assertThatThrownBy(() -> installer.install(chatPipeline))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("flow " + version + ", step respond: pgflow counts 2 dependencies but lists [analyze]");
    }

    @Test
    void theCompiledSqlRunAsOneScriptOnAFreshDatabaseGivesWhatInstallGives() throws Exception {
        String version = chatPipeline.versionSlug();
        installer.install(chatPipeline);
        Map<String, Object> installed = snapshot(version);

        freshlyMigratedDatabase();
        runScript(FlowCompiler.sql(chatPipeline));
        assertThat(snapshot(version)).isEqualTo(installed);

        runScript(FlowCompiler.sql(chatPipeline));
        assertThat(snapshot(version)).isEqualTo(installed);
        assertThat(installer.install(chatPipeline)).isFalse();
    }

    @Test
    void theCompiledSqlNamesTheFlowTheVersionAndEachStep() {
        String sql = FlowCompiler.sql(chatPipeline);

        assertThat(sql.lines().limit(5)).containsExactly(
                "-- Flow chat_pipeline, version chat_pipeline_1d6b6613: compiled from the shape its step routes declare.",
                "-- Steps, in the order they are added:",
                "--   search: no dependencies; 3 attempts, base delay 1 s, timeout 10 s",
                "--   analyze: after search; 3 attempts, base delay 1 s, timeout 60 s",
                "--   respond: after search, analyze; 2 attempts, base delay 1 s, timeout 300 s");
        assertThat(sql).contains("perform pgflow.add_step('chat_pipeline_1d6b6613', 'respond', deps_slugs => array['search', 'analyze'], "
                + "max_attempts => 2, base_delay => 1, timeout => 300);");
    }

    @Test
    void theUnversionedFlowOfTheFirstMigrationReadsAsTodaysShape() {
        assertThat(installer.read("chat_pipeline").canonicalForm()).isEqualTo(chatPipeline.canonicalForm());
    }

    @Test
    void versionsWithStartedRunsAreTheLegacyFlowAndHashedVersionsThatHaveRunsStarted() {
        FlowShape longerAnswers = new FlowShape("chat_pipeline", List.of(
                new StepShape("search", List.of(), 3, 1, 10),
                new StepShape("respond", List.of("search"), 2, 1, 600)));
        FlowShape unused = new FlowShape("chat_pipeline", List.of(new StepShape("search", List.of(), 1, 0, 5)));
        FlowShape otherFlow = new FlowShape("chat_pipeline_v2", List.of(new StepShape("search", List.of(), 1, 0, 5)));
        installer.install(chatPipeline);
        installer.install(longerAnswers);
        installer.install(unused);
        installer.install(otherFlow);
        for (String flow : List.of("chat_pipeline", chatPipeline.versionSlug(), longerAnswers.versionSlug(), otherFlow.versionSlug())) {
            jdbc.queryForList("select run_id from pgflow.start_flow(?, '{}'::jsonb)", flow);
        }
        jdbc.update("update pgflow.flows set created_at = created_at + interval '1 second' where flow_slug = ?", longerAnswers.versionSlug());

        assertThat(new PgflowSqlClient(jdbc, new ObjectMapper(), null).versionsWithStartedRuns("chat_pipeline", null))
                .containsExactly(longerAnswers.versionSlug(), chatPipeline.versionSlug(), "chat_pipeline");
        // A worker whose current version is chatPipeline leaves the newer longerAnswers to the instances that declare it.
        assertThat(new PgflowSqlClient(jdbc, new ObjectMapper(), null).versionsWithStartedRuns("chat_pipeline", chatPipeline.versionSlug()))
                .containsExactly(chatPipeline.versionSlug(), "chat_pipeline");
    }

    @AfterAll
    static void dropDatabases() throws SQLException {
        OwnDatabase.onServer("drop database if exists " + DATABASE + " with (force)", "drop database if exists " + TEMPLATE + " with (force)");
    }




    private void runScript(String sql) throws Exception {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    /** What a version consists of in the database, without timestamps. */
    private Map<String, Object> snapshot(String version) {
        return Map.of(
                "flow", jdbc.queryForList("select flow_slug, opt_max_attempts, opt_base_delay, opt_timeout from pgflow.flows where flow_slug = ?", version),
                "steps", jdbc.queryForList("""
                        select step_slug, step_type, step_index, deps_count, opt_max_attempts, opt_base_delay, opt_timeout, opt_start_delay
                          from pgflow.steps where flow_slug = ? order by step_index
                        """, version),
                "deps", jdbc.queryForList("select dep_slug, step_slug from pgflow.deps where flow_slug = ? order by step_slug, dep_slug", version),
                "queue", jdbc.queryForList("select queue_name from pgmq.list_queues() where queue_name = ?", String.class, version),
                "triggers", jdbc.queryForList("""
                        select pg_get_triggerdef(t.oid) from pg_trigger t
                         where t.tgrelid = to_regclass('pgmq.q_' || ?) and not t.tgisinternal order by t.tgname
                        """, String.class, version),
                "notify function", jdbc.queryForList(
                        "select prosrc from pg_proc where oid = to_regprocedure('public.notify_pgmq_queue()')", String.class));
    }
}
