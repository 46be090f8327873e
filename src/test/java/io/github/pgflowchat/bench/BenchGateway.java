package io.github.pgflowchat.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;

import com.zaxxer.hikari.HikariDataSource;
import org.apache.camel.CamelContext;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.PacedOpenAi;

/**
 * The gateway started in the benchmark's own JVM on the embedded default, with a fresh data directory, for one
 * scenario. Settings are the defaults except the per-user request rate (every benchmark request comes from the one
 * anonymous user) and what the scenario passes.
 */
final class BenchGateway implements AutoCloseable {

    private final ConfigurableApplicationContext context;
    private final Path dataDir;

    private BenchGateway(ConfigurableApplicationContext context, Path dataDir) {
        this.context = context;
        this.dataDir = dataDir;
    }

    /** @param model the models' settings ({@link #providedBy}, {@link #offlineWithoutTokenDelay}); {@code more} anything else */
    static BenchGateway start(List<String> model, String... more) {
        return start(application -> { }, model, more);
    }

    /** As {@link #start(List, String...)}, with the application adjusted first (e.g. a bean of the benchmark's own). */
    static BenchGateway start(Consumer<SpringApplication> customize, List<String> model, String... more) {
        Path dataDir = Path.of("target", "bench-postgres", UUID.randomUUID().toString());
        List<String> args = new ArrayList<>(List.of(
                "--server.port=0",
                // An inherited DATABASE_URL would replace the embedded server under test.
                "--DATABASE_URL=",
                "--gateway.embedded-postgres.data-dir=" + dataDir,
                "--gateway.chat.limits.requests-per-minute=1000000",
                "--logging.level.root=WARN"));
        args.addAll(model);
        args.addAll(List.of(more));
        SpringApplication application = new SpringApplication(Application.class);
        customize.accept(application);
        return new BenchGateway(application.run(args.toArray(String[]::new)), dataDir);
    }

    /**
     * A second instance on another gateway's database ({@code postgres://…}, as DATABASE_URL takes it), as a replica
     * behind a load balancer: no embedded server, no corpus of its own to seed unless {@code more} says so.
     */
    static BenchGateway startOn(String databaseUrl, List<String> model, String... more) {
        List<String> args = new ArrayList<>(List.of(
                "--server.port=0",
                "--DATABASE_URL=" + databaseUrl,
                "--gateway.chat.limits.requests-per-minute=1000000",
                "--logging.level.root=WARN"));
        args.addAll(model);
        args.addAll(List.of(more));
        return new BenchGateway(new SpringApplication(Application.class).run(args.toArray(String[]::new)),
                Path.of("target", "bench-postgres", "none-" + UUID.randomUUID()));
    }

    /** The settings that point both models at a mock OpenAI-compatible server. */
    static List<String> providedBy(PacedOpenAi provider) {
        return List.of("--gateway.llm.provider=openai", "--gateway.llm.openai.api-key=bench",
                "--gateway.llm.openai.base-url=" + provider.baseUrl(), "--gateway.llm.openai.model=bench");
    }

    /** The offline model with no pause between tokens: what is measured is the gateway, not a deliberate delay. */
    static List<String> offlineWithoutTokenDelay() {
        return List.of("--gateway.llm.provider=offline", "--gateway.llm.offline.token-delay=0ms");
    }

    ChatClient client() {
        return new ChatClient(port());
    }

    int port() {
        return ((WebServerApplicationContext) context).getWebServer().getPort();
    }

    <T> T bean(Class<T> type) {
        return context.getBean(type);
    }

    CamelContext camel() {
        return bean(CamelContext.class);
    }

    JdbcTemplate jdbc() {
        return bean(JdbcTemplate.class);
    }

    HikariDataSource dataSource() {
        return bean(HikariDataSource.class);
    }

    /** CPU time of the embedded PostgreSQL server: the postmaster and its live backends. */
    Duration postgresCpu() throws IOException {
        long postmaster = Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).get(0).strip());
        return ProcessHandle.of(postmaster).stream()
                .flatMap(process -> Stream.concat(Stream.of(process), process.descendants()))
                .map(process -> process.info().totalCpuDuration().orElse(Duration.ZERO))
                .reduce(Duration.ZERO, Duration::plus);
    }

    /** Stops the gateway (and with it the embedded PostgreSQL) and deletes the data directory. */
    @Override
    public void close() throws IOException {
        context.close();
        deleteDataDirectory(dataDir);
    }

    /** A benchmark's data directory is some 50 MB, and a full run makes a dozen. */
    static void deleteDataDirectory(Path dataDir) throws IOException {
        if (Files.exists(dataDir)) {
            try (Stream<Path> paths = Files.walk(dataDir)) {
                for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(path);
                }
            }
        }
    }
}
