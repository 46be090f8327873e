package io.github.pgflowchat.bench;

import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.ServiceProcess;

/**
 * Cold start to the first served chat on the embedded default: a new JVM running the gateway with the offline model,
 * from process start to the first chat's {@code finish}, its client retrying until the port answers. Twice on a new
 * data directory (initdb, migrations, corpus seeding) and twice restarting on that directory. Baseline: the same JVM
 * binary running {@code java -version}, which is what any Java service pays before its own start-up.
 */
final class ColdStartBenchmark {

    private static final int ROUNDS = 3;
    private static final Pattern STARTED = Pattern.compile("Started Application in [\\d.]+ seconds \\(process running for ([\\d.]+)\\)");
    private static final double TARGET_MS = 8000;

    private ColdStartBenchmark() {
    }

    static Table run() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<Double> jvmOnly = new ArrayList<>();
        List<Start> firstStart = new ArrayList<>();
        List<Start> restart = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
            jvmOnly.add(javaVersionMillis(java));
            Path dataDir = Path.of("target", "bench-postgres", UUID.randomUUID().toString());
            firstStart.add(start(java, dataDir, "first-" + i));
            restart.add(start(java, dataDir, "restart-" + i));
            BenchGateway.deleteDataDirectory(dataDir);
        }
        double baseline = Table.percentile(jvmOnly, 50);
        Table table = new Table("Cold start to the first served chat, embedded default")
                .note("A new JVM (%s) with the offline model (no token delay), median of %d; baseline: `java -version` on the same "
                        + "JVM binary. Each start's log is in target/bench-coldstart-*.log; \"application started\" is read from it.", Runtime.version(), ROUNDS);
        for (var figure : List.of(Map.entry("new data directory (initdb, migrations, corpus)", firstStart), Map.entry("restart on that directory", restart))) {
            double started = Table.percentile(figure.getValue().stream().map(Start::applicationStartedMillis).toList(), 50);
            double served = Table.percentile(figure.getValue().stream().map(Start::firstChatMillis).toList(), 50);
            table.row(figure.getKey() + ": application started (Spring's \"process running for\")", Table.ms(baseline), seconds(started),
                    String.format(Locale.ROOT, "%+.2f s", (started - baseline) / 1000), "", null);
            table.row(figure.getKey() + ": first chat finished", Table.ms(baseline), seconds(served),
                    String.format(Locale.ROOT, "%+.2f s", (served - baseline) / 1000), "≤ 8 s", served <= TARGET_MS);
        }
        return table;
    }

    private record Start(double applicationStartedMillis, double firstChatMillis) {
    }

    private static String seconds(double millis) {
        return String.format(Locale.ROOT, "%.2f s", millis / 1000);
    }

    private static double javaVersionMillis(String java) throws Exception {
        long start = System.nanoTime();
        Process process = new ProcessBuilder(java, "-version").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (process.waitFor() != 0) {
            throw new IllegalStateException("java -version failed");
        }
        return (System.nanoTime() - start) / 1e6;
    }

    private static Start start(String java, Path dataDir, String name) throws Exception {
        int port = ServiceProcess.freePort();
        Path log = Path.of("target", "bench-coldstart-" + name + ".log");
        ProcessBuilder builder = new ProcessBuilder(java, "-cp", ServiceProcess.testClassPath(), Application.class.getName(),
                "--server.port=" + port, "--gateway.embedded-postgres.data-dir=" + dataDir,
                "--gateway.llm.provider=offline", "--gateway.llm.offline.token-delay=0ms")
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        // The child must start on the embedded default whatever this shell points at.
        builder.environment().keySet().removeIf(variable -> variable.startsWith("DATABASE_") || variable.startsWith("SPRING_")
                || variable.startsWith("OPENAI_") || variable.startsWith("SUPABASE_") || variable.equals("LLM_PROVIDER"));
        long start = System.nanoTime();
        Process process = builder.start();
        try {
            ChatClient client = new ChatClient(port);
            long deadline = start + TimeUnit.SECONDS.toNanos(120);
            while (true) {
                try {
                    ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("cold-start", Chats.QUESTION));
                    // Until its routes are up, a listening server may still answer 404 or 503.
                    if (response.status() != 404 && response.status() != 503) {
                        Chats.requireFinished(response, "cold-start");
                        double served = (System.nanoTime() - start) / 1e6;
                        Matcher started = STARTED.matcher(Files.readString(log));
                        if (!started.find()) {
                            throw new IllegalStateException("no start-up line in " + log);
                        }
                        return new Start(Double.parseDouble(started.group(1)) * 1000, served);
                    }
                } catch (ConnectException notListeningYet) {
                    if (!process.isAlive()) {
                        throw new IllegalStateException("the gateway exited with " + process.exitValue() + " before serving; see its log");
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("no chat served within 120 s of starting; see its log");
                }
                Thread.sleep(10);
            }
        } finally {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
