package io.github.pgflowchat.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.ServiceProcess;

/**
 * Issue 13: 2,000 chats opened at once against a provider that holds each answer 45 s before its first token. The
 * gateway runs as a JVM of its own from the packaged jar ({@code mvn -DskipTests package}), on the embedded default
 * (a fresh data directory), with the JDK this benchmark runs on and no JVM option: what a user starts. Only the
 * per-user limits are raised, since one client sends every chat. The provider (Vert.x, in this JVM) and the client
 * (Vert.x's non-blocking HTTP client, in this JVM) hold the streams without a thread each, so that what the
 * gateway's process shows is the gateway's.
 *
 * <p>With every stream open and every answer held, the gateway's OS threads ({@code /proc/<pid>/status}), its RSS
 * and its live heap (jcmd {@code GC.class_histogram}, which collects first) are read and set against the same
 * figures read after a warm-up, before the streams opened. Then the held answers stream a few tokens and every
 * stream must end with {@code finish}.
 *
 * <p>{@code -Dbench.streams.count} (2000) streams, {@code -Dbench.streams.hold} (45s) before the first token.
 */
final class StreamsBenchmark {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int TOKENS = 5;
    private static final int CADENCE_MS = 20;
    private static final int WARM_UP_ROUNDS = 3;
    private static final int WARM_UP_CHATS = 50;
    private static final int THREADS_TARGET = 400;
    private static final double RSS_TARGET_KIB = 150;
    private static final double HEAP_TARGET_KIB = 64;
    private static final Path WORK = Path.of("target", "bench-streams");

    /** JVM options for the gateway (-Dbench.streams.java-options, given to it as JAVA_TOOL_OPTIONS); none by default. */
    private static final String JAVA_OPTIONS = System.getProperty("bench.streams.java-options", "");

    private StreamsBenchmark() {
    }

    static Table run() throws Exception {
        int count = Integer.getInteger("bench.streams.count", 2000);
        Duration hold = parseDuration(System.getProperty("bench.streams.hold", "45s"));
        Files.createDirectories(WORK);
        Vertx vertx = Vertx.vertx();
        try (HeldOpenAi provider = new HeldOpenAi(vertx, TOKENS, CADENCE_MS);
             Gateway gateway = Gateway.start(provider, count)) {
            io.vertx.core.http.HttpClient http = vertx.createHttpClient(
                    new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(gateway.port)
                            .setConnectTimeout(120_000).setIdleTimeout(0).setKeepAlive(true),
                    new PoolOptions().setHttp1MaxSize(count + 100).setMaxWaitQueueSize(-1));

            provider.hold(0);
            for (int round = 0; round < WARM_UP_ROUNDS; round++) {
                Burst warmUp = Burst.open(http, "warm-up-" + round, WARM_UP_CHATS);
                warmUp.awaitEnd(Duration.ofMinutes(3));
                if (warmUp.finished() != WARM_UP_CHATS) {
                    throw new IllegalStateException("warm-up round " + round + ": " + warmUp.summary());
                }
            }
            Thread.sleep(5_000);
            Sample baseline = gateway.sample(null);

            provider.resetCounts();
            provider.hold(hold.toMillis());
            ThreadPeak peak = ThreadPeak.start(gateway.pid);
            long opening = System.nanoTime();
            Burst burst = Burst.open(http, "stream", count);
            // Open and waiting: every answer has reached the provider and none has been let go.
            long deadline = opening + hold.toNanos() + TimeUnit.MINUTES.toNanos(5);
            while (provider.held() < count && provider.released() == 0 && burst.ended() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            double secondsToAllHeld = (System.nanoTime() - opening) / 1e9;
            int heldAtSample = provider.held();
            int openAtSample = burst.open();
            boolean allHeld = heldAtSample == count;
            Sample idle = gateway.sample(WORK.resolve("threads-" + count + "-" + gateway.pid + ".json"));
            double secondsSampled = (System.nanoTime() - opening) / 1e9;
            int releasedDuringSample = provider.released();

            burst.awaitEnd(hold.plus(Duration.ofMinutes(10)));
            double totalSeconds = (burst.lastEndNanos() - opening) / 1e9;
            int peakThreads = peak.stop();
            http.close().toCompletionStage().toCompletableFuture().get();

            double rssKiB = (idle.rssKiB - baseline.rssKiB) / (double) count;
            double heapKiB = (idle.liveHeapBytes - baseline.liveHeapBytes) / 1024.0 / count;
            boolean allFinished = burst.finished() == count;
            Table table = new Table(String.format(Locale.ROOT, "%,d streams at once, each answer held %d s before its first token",
                    count, hold.toSeconds()))
                    .note("The gateway ran from the packaged jar in a JVM of its own (%s, %s), on the "
                            + "embedded default with a fresh data directory, every setting default except CHAT_REQUESTS_PER_MINUTE "
                            + "and CHAT_CONCURRENT_STREAMS raised (one client sends every chat) and the provider: an "
                            + "OpenAI-compatible mock on Vert.x in the benchmark's JVM that streamed %d tokens %d ms apart after "
                            + "holding each answer. The client: Vert.x's non-blocking HTTP client in the benchmark's JVM.",
                            System.getProperty("java.version"), JAVA_OPTIONS.isBlank() ? "no JVM option: default heap, G1"
                                    : "JAVA_TOOL_OPTIONS=" + JAVA_OPTIONS, TOKENS, CADENCE_MS)
                    .note("Baseline: the gateway after %d rounds of %d chats at once (answers not held) and 5 s of rest. Measured: "
                            + "%.1f s after the %,d chats were sent, %s (%,d answers held by the provider, %,d streams open at the "
                            + "client); the readings took until %.1f s, and %d answers had been let go by then.",
                            WARM_UP_ROUNDS, WARM_UP_CHATS, secondsToAllHeld, count,
                            allHeld ? "with every answer held" : "**not** with every answer held", heldAtSample, openAtSample,
                            secondsSampled, releasedDuringSample)
                    .note("Threads: the Threads line of /proc/<pid>/status. RSS: VmRSS. Heap: the live heap (the total of jcmd "
                            + "GC.class_histogram, which runs a full GC first; GC.heap_info's used after it: %.1f → %.1f MiB, "
                            + "committed %.1f → %.1f MiB). Thread dump (jcmd Thread.dump_to_file -format=json): %s.",
                            baseline.heapUsedKiB / 1024.0, idle.heapUsedKiB / 1024.0,
                            baseline.heapCommittedKiB / 1024.0, idle.heapCommittedKiB / 1024.0, idle.threadDump)
                    .note("RSS after the full GCs of the readings: %.1f → %.1f MiB, %+.1f KiB per open stream.",
                            baseline.rssAfterGcKiB / 1024.0, idle.rssAfterGcKiB / 1024.0,
                            (idle.rssAfterGcKiB - baseline.rssAfterGcKiB) / (double) count)
                    .note("Largest heap growth by class, KiB per open stream: %s.", idle.histogram.largestGrowth(baseline.histogram, 12, count))
                    .note("Streams: %s; statuses %s. Provider: %d streamed requests, %d closed by the gateway before [DONE].",
                            burst.summary(), burst.statuses(), provider.streamed(), provider.closedEarly());
            table.row("all " + count + " streams finished", "", burst.finished() + " of " + count,
                    burst.failed() == 0 ? "" : burst.failed() + " failed", "all", allFinished);
            table.row("total time, first chat sent → last stream ended", "", String.format(Locale.ROOT, "%.1f s", totalSeconds),
                    String.format(Locale.ROOT, "hold %d s", hold.toSeconds()), "", null);
            table.row("gateway OS threads (baseline: idle after warm-up)", String.valueOf(baseline.threads), String.valueOf(idle.threads),
                    String.format(Locale.ROOT, "%+d; peak %d while the streams ran", idle.threads - baseline.threads, peakThreads),
                    "≤ " + THREADS_TARGET, idle.threads <= THREADS_TARGET && peakThreads <= THREADS_TARGET);
            table.row("gateway RSS (baseline: idle after warm-up)", mib(baseline.rssKiB * 1024), mib(idle.rssKiB * 1024),
                    String.format(Locale.ROOT, "%+.1f KiB per open stream", rssKiB), "≤ +" + (int) RSS_TARGET_KIB + " KiB per stream",
                    rssKiB <= RSS_TARGET_KIB);
            table.row("gateway live heap (baseline: idle after warm-up)", mib(baseline.liveHeapBytes), mib(idle.liveHeapBytes),
                    String.format(Locale.ROOT, "%+.1f KiB per open stream", heapKiB), "≤ " + (int) HEAP_TARGET_KIB + " KiB per stream",
                    heapKiB <= HEAP_TARGET_KIB);
            if (!allFinished) {
                System.out.println(table.markdown());
                System.out.println("gateway log: " + gateway.log);
                throw new IllegalStateException(burst.failed() + " of " + count + " streams did not finish: " + burst.summary());
            }
            return table;
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get();
        }
    }

    /** The gateway from the packaged jar, on the embedded default in a fresh data directory. */
    private static final class Gateway implements AutoCloseable {

        private final Process process;
        private final long pid;
        private final int port;
        private final Path log;
        private final Path dataDir;

        private Gateway(Process process, int port, Path log, Path dataDir) {
            this.process = process;
            this.pid = process.pid();
            this.port = port;
            this.log = log;
            this.dataDir = dataDir;
        }

        static Gateway start(HeldOpenAi provider, int count) throws Exception {
            Path jar;
            try (Stream<Path> jars = Files.list(Path.of("target"))) {
                jar = jars.filter(path -> path.getFileName().toString().matches("pgflow-chat-gateway-.*\\.jar")
                        && !path.getFileName().toString().endsWith("-plain.jar")).findFirst()
                        .orElseThrow(() -> new IllegalStateException("no packaged jar in target/: run mvn -DskipTests package first"));
            }
            int port = ServiceProcess.freePort();
            String id = UUID.randomUUID().toString();
            Path dataDir = Path.of("target", "bench-postgres", id).toAbsolutePath();
            Path log = WORK.resolve("gateway-" + port + ".log");
            ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-jar", jar.toString()).redirectErrorStream(true).redirectOutput(log.toFile());
            Map<String, String> env = builder.environment();
            // Inherited settings would change what is measured; the embedded default runs when no database is set.
            env.keySet().removeIf(name -> name.startsWith("DATABASE_") || name.startsWith("SPRING_") || name.startsWith("CHAT_")
                    || name.startsWith("OPENAI_") || name.startsWith("LLM_") || name.startsWith("JAVA_TOOL") || name.equals("REDIS_URL")
                    || name.startsWith("SUPABASE_") || name.startsWith("JDK_JAVA_OPTIONS"));
            if (!JAVA_OPTIONS.isBlank()) {
                // As the README's run command gives them: the JVM reads JAVA_TOOL_OPTIONS before the jar's main class.
                env.put("JAVA_TOOL_OPTIONS", JAVA_OPTIONS);
            }
            env.put("PORT", String.valueOf(port));
            env.put("EMBEDDED_PG_DATA_DIR", dataDir.toString());
            env.put("CHAT_REQUESTS_PER_MINUTE", "1000000");
            env.put("CHAT_CONCURRENT_STREAMS", String.valueOf(count + 100));
            env.put("LLM_PROVIDER", "openai");
            env.put("OPENAI_BASE_URL", provider.baseUrl());
            env.put("OPENAI_API_KEY", "bench");
            env.put("OPENAI_MODEL", "bench");
            Gateway gateway = new Gateway(builder.start(), port, log, dataDir);
            gateway.awaitReady();
            return gateway;
        }

        private void awaitReady() throws Exception {
            HttpClient http = HttpClient.newHttpClient();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("gateway exited with " + process.exitValue() + "; log: " + log);
                }
                try {
                    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                            + "/actuator/health/readiness")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                    if (response.statusCode() == 200 && response.body().contains("\"UP\"")) {
                        return;
                    }
                } catch (IOException notYet) {
                    // Not listening yet.
                }
                Thread.sleep(250);
            }
            throw new IllegalStateException("gateway not ready within 180 s; log: " + log);
        }

        /** Threads and RSS first (a GC changes RSS), then the live heap; with a thread dump if {@code dump} is given. */
        Sample sample(Path dump) throws Exception {
            Map<String, Long> status = procStatus(pid);
            int threads = status.get("Threads").intValue();
            long rssKiB = status.get("VmRSS");
            jcmd("GC.run");
            HeapInfo heap = HeapInfo.parse(jcmd("GC.heap_info"));
            String histogramText = jcmd("GC.class_histogram");
            Matcher total = Pattern.compile("(?m)^Total\\s+\\d+\\s+(\\d+)").matcher(histogramText);
            if (!total.find()) {
                throw new IllegalStateException("no total in the class histogram:\n" + histogramText);
            }
            long rssAfterGcKiB = procStatus(pid).get("VmRSS");
            String threadDump = "not taken";
            if (dump != null) {
                Files.deleteIfExists(dump);
                jcmd("Thread.dump_to_file", "-format=json", dump.toAbsolutePath().toString());
                threadDump = ThreadDump.summary(dump);
            }
            return new Sample(threads, rssKiB, rssAfterGcKiB, Long.parseLong(total.group(1)), heap.usedKiB, heap.committedKiB,
                    HeapHistogram.parse(histogramText), threadDump);
        }

        String jcmd(String... command) throws Exception {
            List<String> args = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    String.valueOf(pid)));
            args.addAll(List.of(command));
            Process jcmd = new ProcessBuilder(args).redirectErrorStream(true).start();
            String output = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!jcmd.waitFor(120, TimeUnit.SECONDS) || jcmd.exitValue() != 0) {
                throw new IllegalStateException("jcmd " + String.join(" ", command) + " failed:\n" + output);
            }
            return output;
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
            BenchGateway.deleteDataDirectory(dataDir);
        }
    }

    /** {@code /proc/<pid>/status} as numbers: Threads, and the Vm* lines in KiB. */
    static Map<String, Long> procStatus(long pid) throws IOException {
        Map<String, Long> values = new TreeMap<>();
        for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
            String[] parts = line.split(":\\s*", 2);
            if (parts.length == 2 && parts[1].matches("\\d+( kB)?")) {
                values.put(parts[0], Long.parseLong(parts[1].replace(" kB", "")));
            }
        }
        return values;
    }

    private record Sample(int threads, long rssKiB, long rssAfterGcKiB, long liveHeapBytes, long heapUsedKiB,
                          long heapCommittedKiB, HeapHistogram histogram, String threadDump) {
    }

    private record HeapInfo(long usedKiB, long committedKiB) {

        /** G1's " garbage-first heap   total reserved 6217728K, committed 393216K, used 123456K [...". */
        static HeapInfo parse(String text) {
            Matcher used = Pattern.compile("used (\\d+)K").matcher(text);
            Matcher committed = Pattern.compile("committed (\\d+)K").matcher(text);
            return new HeapInfo(used.find() ? Long.parseLong(used.group(1)) : -1, committed.find() ? Long.parseLong(committed.group(1)) : -1);
        }
    }

    /** What a JSON thread dump holds: threads in all, of them virtual, and the containers with the most. */
    private static final class ThreadDump {

        static String summary(Path dump) throws IOException {
            JsonNode root = JSON.readTree(dump.toFile()).path("threadDump");
            int all = 0;
            Map<String, Integer> byContainer = new TreeMap<>();
            for (JsonNode container : root.path("threadContainers")) {
                int threads = container.path("threads").size();
                all += threads;
                if (threads > 0) {
                    byContainer.merge(container.path("container").asText(), threads, Integer::sum);
                }
            }
            String largest = byContainer.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                    .limit(5).map(e -> e.getKey() + " " + e.getValue()).reduce((a, b) -> a + ", " + b).orElse("none");
            return String.format(Locale.ROOT, "%,d threads in all; largest containers: %s", all, largest);
        }
    }

    /** The most OS threads the gateway had, read every 200 ms. */
    private static final class ThreadPeak {

        private final Thread sampler;
        private final AtomicInteger peak = new AtomicInteger();
        private volatile boolean running = true;

        private ThreadPeak(long pid) {
            sampler = Thread.ofPlatform().daemon().name("bench-thread-peak").start(() -> {
                while (running) {
                    try {
                        peak.accumulateAndGet(procStatus(pid).get("Threads").intValue(), Math::max);
                        Thread.sleep(200);
                    } catch (IOException | InterruptedException e) {
                        return;
                    }
                }
            });
        }

        static ThreadPeak start(long pid) {
            return new ThreadPeak(pid);
        }

        int stop() throws InterruptedException {
            running = false;
            sampler.join();
            return peak.get();
        }
    }

    /** Chats sent at once on Vert.x's client, each read to its end as SSE. */
    private static final class Burst {

        private final List<CompletableFuture<Void>> ends = new ArrayList<>();
        private final AtomicInteger open = new AtomicInteger();
        private final AtomicInteger ended = new AtomicInteger();
        private final AtomicInteger finished = new AtomicInteger();
        private final Map<String, Integer> statuses = new ConcurrentHashMap<>();
        private final Map<String, Integer> failures = new ConcurrentHashMap<>();
        private volatile long lastEndNanos;

        static Burst open(io.vertx.core.http.HttpClient http, String name, int count) {
            Burst burst = new Burst();
            for (int i = 0; i < count; i++) {
                burst.ends.add(burst.chat(http, name + "-" + i));
            }
            return burst;
        }

        private CompletableFuture<Void> chat(io.vertx.core.http.HttpClient http, String chatId) {
            CompletableFuture<Void> end = new CompletableFuture<>();
            Reader reader = new Reader();
            http.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/api/chat").setIdleTimeout(0))
                    .compose(request -> request.putHeader("Content-Type", "application/json").putHeader("Accept", "text/event-stream")
                            .send(Buffer.buffer(ChatClient.chatBody(chatId, Chats.QUESTION))))
                    .onSuccess(response -> {
                        statuses.merge(String.valueOf(response.statusCode()), 1, Integer::sum);
                        if (response.statusCode() == 200) {
                            open.incrementAndGet();
                        }
                        response.handler(reader::read);
                        response.exceptionHandler(failure -> ended(end, reader, response, failure));
                        response.endHandler(done -> ended(end, reader, response, null));
                    })
                    .onFailure(failure -> ended(end, reader, null, failure));
            return end;
        }

        private void ended(CompletableFuture<Void> end, Reader reader, HttpClientResponse response, Throwable failure) {
            if (end.isDone()) {
                return;
            }
            if (response != null && response.statusCode() == 200) {
                open.decrementAndGet();
            }
            ended.incrementAndGet();
            lastEndNanos = System.nanoTime();
            String outcome;
            if (failure != null) {
                outcome = failure.getClass().getSimpleName() + ": " + failure.getMessage();
            } else if (response.statusCode() != 200) {
                outcome = "HTTP " + response.statusCode();
            } else if (reader.error != null) {
                outcome = "error chunk: " + reader.error;
            } else if (!reader.finished) {
                outcome = "ended without finish";
            } else if (reader.tokens != TOKENS) {
                outcome = reader.tokens + " of " + TOKENS + " tokens";
            } else {
                outcome = null;
            }
            if (outcome == null) {
                finished.incrementAndGet();
            } else {
                // Counted by kind: without the run id a failure message names.
                String kind = outcome.replaceAll("\\(run [0-9a-f-]+\\)?", "").replaceAll("[0-9a-f]{8}-[0-9a-f-]{27,}", "<id>");
                failures.merge(kind.length() > 200 ? kind.substring(0, 200) : kind, 1, Integer::sum);
            }
            end.complete(null);
        }

        void awaitEnd(Duration limit) {
            try {
                CompletableFuture.allOf(ends.toArray(CompletableFuture[]::new)).get(limit.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                failures.merge("not ended within " + limit + ": " + e, ends.size() - ended.get(), Integer::sum);
            }
        }

        int open() {
            return open.get();
        }

        int ended() {
            return ended.get();
        }

        int finished() {
            return finished.get();
        }

        int failed() {
            return ends.size() - finished.get();
        }

        long lastEndNanos() {
            return lastEndNanos;
        }

        String statuses() {
            return new TreeMap<>(statuses).toString();
        }

        String summary() {
            return String.format(Locale.ROOT, "%d sent, %d finished, %d failed%s", ends.size(), finished.get(), failed(),
                    failures.isEmpty() ? "" : " " + new TreeMap<>(failures));
        }
    }

    /** One stream's SSE, read as it arrives: the UI-message chunks' types. */
    private static final class Reader {

        private Buffer pending = Buffer.buffer();
        private boolean finished;
        private int tokens;
        private String error;

        void read(Buffer chunk) {
            pending.appendBuffer(chunk);
            int start = 0;
            for (int i = 0; i < pending.length(); i++) {
                if (pending.getByte(i) == '\n') {
                    line(pending.getString(start, i, "UTF-8"));
                    start = i + 1;
                }
            }
            pending = start == 0 ? pending : pending.getBuffer(start, pending.length());
        }

        private void line(String line) {
            if (!line.startsWith("data:")) {
                return;
            }
            String data = line.substring(5).strip();
            if (data.isEmpty() || data.equals("[DONE]")) {
                return;
            }
            try {
                JsonNode chunk = JSON.readTree(data);
                switch (chunk.path("type").asText()) {
                    case "text-delta" -> tokens++;
                    case "finish" -> finished = true;
                    case "error" -> error = chunk.path("errorText").asText(chunk.toString());
                    default -> {
                    }
                }
            } catch (IOException e) {
                error = "not JSON: " + data;
            }
        }
    }

    private static Duration parseDuration(String text) {
        String value = text.strip().toLowerCase(Locale.ROOT);
        if (value.endsWith("ms")) {
            return Duration.ofMillis(Long.parseLong(value.substring(0, value.length() - 2)));
        }
        if (value.endsWith("s")) {
            return Duration.ofSeconds(Long.parseLong(value.substring(0, value.length() - 1)));
        }
        return Duration.ofSeconds(Long.parseLong(value));
    }

    private static String mib(double bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
