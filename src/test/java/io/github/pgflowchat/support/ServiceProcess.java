package io.github.pgflowchat.support;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import io.github.pgflowchat.Application;

/**
 * A second instance of the gateway in a JVM of its own, on the test's classpath, sharing the test's database: what a
 * second replica behind a load balancer is. It can be stopped, or killed with SIGKILL, without the test's JVM noticing
 * anything but the socket.
 */
public final class ServiceProcess implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private final Process process;
    private final int port;
    private final Path log;

    private ServiceProcess(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /**
     * Starts an instance on the test's embedded PostgreSQL, reached through DATABASE_URL as in production, with the
     * given properties, and waits until its readiness probe is UP.
     */
    public static ServiceProcess startOn(EmbeddedPostgres database, Map<String, String> properties) throws Exception {
        String databaseUrl = "postgres://postgres@127.0.0.1:" + database.getPort() + "/postgres";
        int port = freePort();
        Path log = Path.of("target", "service-processes", "instance-" + port + "-" + UUID.randomUUID() + ".log");
        Files.createDirectories(log.getParent());
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                "-cp", testClassPath(), Application.class.getName(),
                "--server.port=" + port, "--gateway.search.seed-corpus=false"));
        properties.forEach((name, value) -> command.add("--" + name + "=" + value));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("DATABASE_URL", databaseUrl);
        ServiceProcess instance = new ServiceProcess(builder.start(), port, log);
        instance.awaitReady();
        return instance;
    }

    public int port() {
        return port;
    }

    /** The id this instance's worker registered with pgflow, from its health endpoint. */
    public UUID workerId() throws Exception {
        return UUID.fromString(new ChatClient(port).get("/actuator/health").body()
                .path("components").path("pgflowWorker").path("details").path("workerId").asText());
    }

    /** SIGKILL: no shutdown hook, no deregistration, no last write. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("instance on port " + port + " survived SIGKILL");
        }
    }

    /** SIGTERM, as an orchestrator stops a container: the instance shuts down gracefully. Returns at once. */
    public void terminate() {
        process.destroy();
    }

    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                kill();
            }
        }
    }

    private void awaitReady() throws Exception {
        ChatClient client = new ChatClient(port);
        Instant deadline = Instant.now().plus(START_TIMEOUT);
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("instance on port " + port + " exited with " + process.exitValue() + ":\n" + logTail());
            }
            try {
                if ("UP".equals(client.get("/actuator/health/readiness").body().path("status").asText())) {
                    return;
                }
            } catch (IOException | AssertionError notYetServing) {
                // Not listening yet, or not yet answering JSON.
            }
            process.waitFor(250, TimeUnit.MILLISECONDS);
        }
        close();
        throw new IllegalStateException("instance on port " + port + " was not ready within " + START_TIMEOUT + ":\n" + logTail());
    }

    private String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The class path the tests (or the benchmarks) run with: surefire runs tests from a manifest-only jar and puts the
     * full class path in a property; exec:java loads the benchmarks in a class loader of its own.
     */
    public static String testClassPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        if (surefire != null) {
            return surefire;
        }
        if (Thread.currentThread().getContextClassLoader() instanceof URLClassLoader loader) {
            List<String> entries = new ArrayList<>();
            for (URL url : loader.getURLs()) {
                try {
                    entries.add(Path.of(url.toURI()).toString());
                } catch (URISyntaxException e) {
                    throw new IllegalStateException("not a file on the class path: " + url, e);
                }
            }
            return String.join(File.pathSeparator, entries);
        }
        return System.getProperty("java.class.path");
    }

    /** A port free now, for a server that must be told its port before it starts. */
    public static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
