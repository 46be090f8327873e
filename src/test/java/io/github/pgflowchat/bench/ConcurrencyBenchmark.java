package io.github.pgflowchat.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.PacedOpenAi;

/**
 * A thousand chat streams open at once, each a full run. The provider holds every answer before its first token, so
 * that all streams are open and idle at the same moment, every worker slot holding an answer that waits on the model
 * and the other runs waiting for a slot: heap and threads are read then, after a GC, against the same figures before
 * the streams opened. Then all answers stream together, and
 * their per-token latency is compared with one stream alone, measured first with the same provider. The client is
 * the JDK's asynchronous HttpClient, so it holds the streams without a thread each.
 */
final class ConcurrencyBenchmark {

    private static final int STREAMS = 1000;
    private static final int TOKENS = 20;
    private static final int CADENCE_MS = 50;
    /** The most the worker can take: its task route is a SEDA endpoint, which refuses more than 500 consumers. */
    private static final int WORKER_CONCURRENCY = 500;
    private static final int SINGLE_RUNS = 5;
    private static final double HEAP_TARGET_KIB = 256;
    private static final Duration OPENING_LIMIT = Duration.ofMinutes(4);

    private ConcurrencyBenchmark() {
    }

    static Table run() throws Exception {
        try (PacedOpenAi provider = new PacedOpenAi(TOKENS, CADENCE_MS);
             BenchGateway gateway = BenchGateway.start(BenchGateway.providedBy(provider),
                     "--gateway.chat.limits.concurrent-streams=" + (STREAMS + 10),
                     "--spring.task.execution.pool.max-size=" + (STREAMS + 100),
                     "--gateway.worker.concurrency=" + WORKER_CONCURRENCY)) {
            ChatClient client = gateway.client();
            for (int i = 0; i < 3; i++) {
                Chats.run(client, "warm-up-" + i, event -> { });
            }
            ConcurrentLinkedQueue<Double> alone = new ConcurrentLinkedQueue<>();
            for (int i = 0; i < SINGLE_RUNS; i++) {
                awaitAll(open(client, "single-" + i, 1, alone, new AtomicInteger()), Duration.ofSeconds(60));
            }

            double clientAndProviderKiB = clientAndProviderAlone(provider);

            long heapBefore = usedHeapAfterGc();
            HeapHistogram histogramBefore = HeapHistogram.take();
            int threadsBefore = threads().getThreadCount();
            provider.holdAnswers();
            CpuUsage opening = CpuUsage.start(gateway);
            ConcurrentLinkedQueue<Double> together = new ConcurrentLinkedQueue<>();
            AtomicInteger opened = new AtomicInteger();
            List<CompletableFuture<ChatClient.StreamResponse>> streams = open(client, "concurrent", STREAMS, together, opened);
            long deadline = System.nanoTime() + OPENING_LIMIT.toNanos();
            // Idle: every stream is open and every worker slot holds an answer waiting on the provider, so no run moves.
            while ((provider.heldAnswers() < WORKER_CONCURRENCY || opened.get() < STREAMS)
                    && System.nanoTime() < deadline && streams.stream().noneMatch(CompletableFuture::isDone)) {
                Thread.sleep(100);
            }
            int held = provider.heldAnswers();
            int pending = pendingAnswers(gateway);
            String openingUsage = opening.stop();
            long heapIdle = usedHeapAfterGc();
            HeapHistogram histogramIdle = HeapHistogram.take();
            int threadsIdle = threads().getThreadCount();

            CpuUsage streaming = CpuUsage.start(gateway);
            provider.releaseAnswers();
            List<String> errors = awaitAll(streams, Duration.ofMinutes(3));
            String streamingUsage = streaming.stop();

            double perStreamKiB = (heapIdle - heapBefore) / 1024.0 / STREAMS;
            double gatewayKiB = perStreamKiB - clientAndProviderKiB;
            Table table = new Table(STREAMS + " concurrent chat streams")
                    .note("Each stream a full run. The mock provider (same JVM) held every answer before its first token. Heap and "
                            + "threads were read with all %d streams open and idle (%s): %d answers waiting on the provider, one "
                            + "in every worker slot, the other runs waiting for a slot (%d of them at their answer). Then the "
                            + "provider streamed %d tokens every %d ms to each answer, the answers' starts spread over one interval.",
                            opened.get(), openingUsage, held, pending - held, TOKENS, CADENCE_MS)
                    .note("Settings changed from the defaults: CHAT_CONCURRENT_STREAMS=%d, HTTP_MAX_STREAMS=%d, WORKER_CONCURRENCY=%d "
                            + "(the most it takes), CHAT_REQUESTS_PER_MINUTE raised; DB_POOL_SIZE stays 20.", STREAMS + 10, STREAMS + 100, WORKER_CONCURRENCY)
                    .note("Heap: used heap after System.gc() (MemoryMXBean), before the streams opened and with all of them idle; "
                            + "it includes the benchmark's client and the mock provider. CPU: this JVM (gateway, client, provider) "
                            + "from OperatingSystemMXBean, PostgreSQL from its server processes.")
                    .note("Largest growth by class, KiB per open stream: %s.", histogramIdle.largestGrowth(histogramBefore, 10, STREAMS))
                    .note("Errors: %s", errors.isEmpty() ? "none" : errors.size() + ", first " + errors.subList(0, Math.min(3, errors.size())));
            table.row("streams that failed", "0 of " + SINGLE_RUNS + " alone", errors.size() + " of " + STREAMS, "", "0", errors.isEmpty());
            table.row("used heap (baseline: before opening)", mib(heapBefore), mib(heapIdle),
                    String.format(Locale.ROOT, "%.1f KiB per idle open stream, all in this JVM", perStreamKiB), "", null);
            table.row("of which the gateway's (baseline: the client and provider alone)", String.format(Locale.ROOT, "%.1f KiB", clientAndProviderKiB),
                    String.format(Locale.ROOT, "%.1f KiB", perStreamKiB), String.format(Locale.ROOT, "%.1f KiB per idle open stream", gatewayKiB),
                    "≤ 256 KiB per stream", gatewayKiB <= HEAP_TARGET_KIB);
            table.row("threads (baseline: before opening)", String.valueOf(threadsBefore), String.valueOf(threadsIdle),
                    String.format(Locale.ROOT, "%+.2f per stream", (threadsIdle - threadsBefore) / (double) STREAMS), "", null);
            for (double p : new double[] {50, 99}) {
                double one = Table.percentile(alone, p);
                double all = Table.percentile(together, p);
                table.row(String.format(Locale.ROOT, "per-token latency p%.0f (baseline: 1 stream)", p), Table.ms(one), Table.ms(all),
                        Table.plusMs(all - one) + ", " + Table.times(all / one), "", null);
            }
            table.row("CPU while the " + STREAMS + " answers streamed", "", streamingUsage, "", "", null);
            if (!errors.isEmpty()) {
                System.out.println(table.markdown());
                throw new IllegalStateException(errors.size() + " of " + STREAMS + " streams failed");
            }
            return table;
        }
    }

    /**
     * Heap per stream of the benchmark's own side: the same number of streams from this client straight to the
     * provider, held before their first token. Subtracted from the figure with the gateway in between, it leaves the
     * gateway's share (a little low: with the gateway, the provider holds only one answer per worker slot).
     */
    private static double clientAndProviderAlone(PacedOpenAi provider) throws Exception {
        ChatClient direct = new ChatClient(URI.create(provider.baseUrl()).getPort());
        long before = usedHeapAfterGc();
        provider.holdAnswers();
        List<CompletableFuture<ChatClient.StreamResponse>> streams = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            streams.add(direct.postStreamAsync("/v1/chat/completions",
                    "{\"model\":\"bench\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", event -> { }));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (provider.heldAnswers() < STREAMS && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        if (provider.heldAnswers() < STREAMS) {
            throw new IllegalStateException("only " + provider.heldAnswers() + " of " + STREAMS + " direct streams reached the provider");
        }
        long idle = usedHeapAfterGc();
        provider.releaseAnswers();
        for (CompletableFuture<ChatClient.StreamResponse> stream : streams) {
            if (stream.get(60, TimeUnit.SECONDS).status() != 200) {
                throw new IllegalStateException("a direct stream to the provider failed");
            }
        }
        return (idle - before) / 1024.0 / STREAMS;
    }

    /** Opens {@code count} streams; {@code opened} counts those whose run has started (their data-run part arrived). */
    private static List<CompletableFuture<ChatClient.StreamResponse>> open(ChatClient client, String name, int count,
                                                                         Collection<Double> tokenLatencies, AtomicInteger opened) {
        List<CompletableFuture<ChatClient.StreamResponse>> streams = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            streams.add(client.postChatAsync(ChatClient.chatBody(name + "-" + i, Chats.QUESTION), event -> {
                if ("data-run".equals(event.type())) {
                    opened.incrementAndGet();
                } else if ("text-delta".equals(event.type())) {
                    tokenLatencies.add(PacedOpenAi.latencyMillis(event.json().path("delta").asText(), System.nanoTime()));
                }
            }));
        }
        return streams;
    }

    /** Waits for every stream to end and returns what went wrong with those that did not finish with all tokens. */
    private static List<String> awaitAll(List<CompletableFuture<ChatClient.StreamResponse>> streams, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        List<String> errors = new ArrayList<>();
        for (int i = 0; i < streams.size(); i++) {
            try {
                ChatClient.StreamResponse response = streams.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                Chats.requireFinished(response, "stream " + i);
                if (response.chunksOfType("text-delta").size() != TOKENS) {
                    throw new IllegalStateException("stream " + i + " got " + response.chunksOfType("text-delta").size() + " tokens");
                }
            } catch (Exception e) {
                errors.add(e.toString());
            }
        }
        return errors;
    }

    /** Runs whose respond task exists and has not ended: queued for a worker slot or running. */
    private static int pendingAnswers(BenchGateway gateway) {
        Integer pending = gateway.jdbc().queryForObject(
                "select count(*) from pgflow.step_tasks where step_slug = 'respond' and status in ('queued', 'started')", Integer.class);
        return pending == null ? 0 : pending;
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        for (int i = 0; i < 3; i++) {
            memory.gc();
            Thread.sleep(200);
        }
        return memory.getHeapMemoryUsage().getUsed();
    }

    private static ThreadMXBean threads() {
        return ManagementFactory.getThreadMXBean();
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
