package io.github.pgflowchat.bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import jdk.jfr.Configuration;
import jdk.jfr.Recording;

/**
 * The benchmarks of issue 6, each a scenario that starts what it needs (the gateway on the embedded default, mock
 * providers, baselines) and prints a table of figures against a baseline measured in the same run, because the
 * machine is shared and noisy. Run: {@code mvn -B test-compile exec:java -Pbench} for all of them, or name some with
 * {@code -Dbench.scenarios=events,dispatch}. Fails (non-zero exit) if any stream or scenario fails; no target is
 * checked here, the tables only say whether each was met.
 */
public final class Benchmarks {

    private static final Map<String, Callable<Table>> SCENARIOS = new LinkedHashMap<>();

    static {
        SCENARIOS.put("streaming", StreamingBenchmark::run);
        SCENARIOS.put("events", StepEventBenchmark::run);
        SCENARIOS.put("dispatch", DispatchBenchmark::run);
        SCENARIOS.put("concurrency", ConcurrencyBenchmark::run);
        SCENARIOS.put("throughput", ThroughputBenchmark::run);
        SCENARIOS.put("coldstart", ColdStartBenchmark::run);
        SCENARIOS.put("resume", ResumeBenchmark::runResume);
        SCENARIOS.put("two-instances", ResumeBenchmark::runTwoInstances);
        SCENARIOS.put("retrieval", RetrievalBenchmark::run);
        SCENARIOS.put("realtime", RealtimeQuotaBenchmark::run);
        SCENARIOS.put("limits", LimitsBenchmark::run);
        SCENARIOS.put("streams", StreamsBenchmark::run);
    }

    private Benchmarks() {
    }

    public static void main(String[] args) throws Exception {
        String selected = System.getProperty("bench.scenarios", String.join(",", SCENARIOS.keySet()));
        List<String> failed = new ArrayList<>();
        List<String> tables = new ArrayList<>();
        for (String name : selected.split(",")) {
            Callable<Table> scenario = SCENARIOS.get(name.strip());
            if (scenario == null) {
                throw new IllegalArgumentException("unknown scenario '" + name + "'; known: " + SCENARIOS.keySet());
            }
            long start = System.nanoTime();
            try (AutoCloseable recording = jfr(name.strip())) {
                String table = scenario.call().markdown();
                tables.add(table);
                System.out.printf(Locale.ROOT, "%n%s(%s: %.0f s)%n", table, name.strip(), (System.nanoTime() - start) / 1e9);
            } catch (Exception | AssertionError e) {
                failed.add(name.strip());
                System.err.println("scenario " + name.strip() + " failed:");
                e.printStackTrace();
            }
        }
        System.out.printf(Locale.ROOT, "%n%s, %d cores, %d GiB RAM, %d MiB max heap, Java %s (%s)%n%n", LocalDate.now(ZoneOffset.UTC),
                Runtime.getRuntime().availableProcessors(), memoryGiB(), Runtime.getRuntime().maxMemory() / (1024 * 1024),
                System.getProperty("java.version"), System.getProperty("java.vm.name"));
        tables.forEach(System.out::println);
        if (!failed.isEmpty()) {
            throw new IllegalStateException("failed: " + failed);
        }
    }

    /**
     * With {@code -Dbench.jfr=<prefix>}, a Java Flight Recording (the JDK's "profile" settings) of each scenario, written
     * to {@code <prefix>-<scenario>.jfr} when it ends; without it, nothing is recorded.
     */
    private static AutoCloseable jfr(String scenario) throws Exception {
        String prefix = System.getProperty("bench.jfr");
        if (prefix == null || prefix.isBlank()) {
            return () -> { };
        }
        Recording recording = new Recording(Configuration.getConfiguration("profile"));
        Path file = Path.of(prefix + "-" + scenario + ".jfr").toAbsolutePath();
        recording.setDestination(file);
        recording.setToDisk(true);
        recording.start();
        System.out.println("recording " + scenario + " to " + file);
        // Stopping writes the destination; closing then frees the recording's buffers.
        return () -> {
            recording.stop();
            recording.close();
        };
    }

    private static long memoryGiB() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize() >> 30;
    }
}
