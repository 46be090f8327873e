package io.github.pgflowchat.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

import com.sun.management.OperatingSystemMXBean;

/**
 * CPU used over a phase by this JVM (gateway, benchmark client and mock provider alike: OperatingSystemMXBean) and by
 * the embedded PostgreSQL server's processes, and how busy the whole machine was, since the machine is shared.
 */
record CpuUsage(BenchGateway gateway, long startNanos, long jvmCpuNanos, Duration postgresCpu, long[] machineTicks) {

    static CpuUsage start(BenchGateway gateway) throws Exception {
        return new CpuUsage(gateway, System.nanoTime(), jvmCpu(), gateway.postgresCpu(), readMachineTicks());
    }

    /** Wall time and CPU in cores (CPU seconds per second) since the start. */
    String stop() throws Exception {
        Sample sample = sample();
        return String.format(Locale.ROOT, "%.1f s; CPU: JVM %.2f cores, PostgreSQL %.2f cores, whole machine %.2f of %d cores busy",
                sample.seconds(), sample.jvmSeconds() / sample.seconds(), sample.postgresSeconds() / sample.seconds(),
                sample.machineBusy() * Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().availableProcessors());
    }

    /** @param machineBusy the share of all cores' time that was not idle, whoever used it (/proc/stat) */
    record Sample(double seconds, double jvmSeconds, double postgresSeconds, double machineBusy) {
    }

    Sample sample() throws Exception {
        long[] ticks = readMachineTicks();
        return new Sample((System.nanoTime() - startNanos) / 1e9, (jvmCpu() - jvmCpuNanos) / 1e9,
                gateway.postgresCpu().minus(postgresCpu).toNanos() / 1e9,
                1 - (ticks[1] - machineTicks[1]) / (double) Math.max(1, ticks[0] - machineTicks[0]));
    }

    /** All ticks and idle ticks (idle + iowait) of all cores since boot, from the first line of /proc/stat. */
    private static long[] readMachineTicks() throws IOException {
        String[] fields = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long total = 0;
        for (int i = 1; i < fields.length; i++) {
            total += Long.parseLong(fields[i]);
        }
        return new long[] {total, Long.parseLong(fields[4]) + Long.parseLong(fields[5])};
    }

    private static long jvmCpu() {
        return ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }
}
