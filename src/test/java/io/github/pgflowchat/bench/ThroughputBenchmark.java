package io.github.pgflowchat.bench;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.namedparam.NamedParameterJdbcTemplate;

import io.github.pgflowchat.pipeline.SearchStep;
import io.github.pgflowchat.support.ChatClient;

/**
 * Complete pipeline runs per second with the offline model (no pause between its tokens), on the default worker
 * (WORKER_CONCURRENCY 16), in alternating rounds. Measured: chats through {@code POST /api/chat} with {@value #IN_FLIGHT} streams open at a
 * time, from the first request to the last {@code finish}. Baseline: the same number of runs started with
 * {@code pgflow.start_flow} in SQL, no HTTP and no stream, run by the same worker, from the first start to the last
 * run completed.
 */
final class ThroughputBenchmark {

    /** Runs each way, measured in {@value #ROUNDS} alternating rounds so that both ways see the same moments of a shared machine. */
    private static final int RUNS = Integer.getInteger("bench.throughput.runs", 400);
    private static final int ROUNDS = 4;
    /** Long enough for the JIT: in short runs C2 compiling the hot path was the largest CPU cost per chat. */
    private static final int WARM_UP = Integer.getInteger("bench.throughput.warm-up", 2000);
    /** The defaults' steps cost several times as much CPU per run: fewer warm-up runs keep the scenario's time in bounds. */
    private static final int DEFAULTS_WARM_UP = Integer.getInteger("bench.throughput.defaults-warm-up", 200);
    private static final int IN_FLIGHT = 32;
    /**
     * The gateway's per-user stream limit, above the client's {@value #IN_FLIGHT}: the client starts its next chat when
     * it has read a finish, a moment before the gateway has let the finished stream's slot go (429 too_many_streams).
     */
    private static final int STREAM_LIMIT = 2 * IN_FLIGHT;
    /** Issue 13: the pipeline sustains at least this share of what pgflow's SQL alone sustains on the same database. */
    private static final double TARGET_RATIO = 0.80;
    private static final ObjectMapper JSON = new ObjectMapper();

    private ThroughputBenchmark() {
    }

    static Table run() throws Exception {
        Table table = new Table("Throughput: complete pipeline runs per second, offline model");
        // The pipeline's own cost (issue 13, item 6): steps whose own work is negligible, so that what the ratio
        // measures is what the gateway adds to pgflow, not the embedding model's CPU that both ways spend alike.
        try (BenchGateway gateway = BenchGateway.start(CheapEmbeddings::use, BenchGateway.offlineWithoutTokenDelay(),
                "--gateway.chat.limits.concurrent-streams=" + STREAM_LIMIT, "--gateway.search.mode=text")) {
            measure(table, gateway, WARM_UP, "negligible steps' work");
        }
        // What a user gets on the defaults: hybrid search (the question embedded in process) and the offline answer
        // embedding its candidate sentences.
        try (BenchGateway gateway = BenchGateway.start(BenchGateway.offlineWithoutTokenDelay(),
                "--gateway.chat.limits.concurrent-streams=" + STREAM_LIMIT)) {
            measure(table, gateway, DEFAULTS_WARM_UP, "defaults' steps");
        }
        table.note("%d runs each way in %d alternating rounds after %d warm-up runs each way (-Dbench.throughput.warm-up; "
                        + "%d for the defaults' steps, -Dbench.throughput.defaults-warm-up); offline model without token delay, "
                        + "worker concurrency 16 (default); %d chat streams open at a time (CHAT_CONCURRENT_STREAMS raised to %d).",
                        RUNS, ROUNDS, WARM_UP, DEFAULTS_WARM_UP, IN_FLIGHT, STREAM_LIMIT)
                .note("Negligible steps' work: SEARCH_MODE=text (the full-text query alone, no question embedded) and embeddings "
                        + "that hash words instead of all-MiniLM-L6-v2 (the offline answer's sentence choice); defaults' steps: "
                        + "SEARCH_MODE=hybrid and the model, as shipped.")
                .note("Baseline: the runs started with pgflow.start_flow in SQL (no HTTP, no chat stream), run by the same worker "
                        + "and steps, completion polled every 10 ms.");
        return table;
    }

    private static void measure(Table table, BenchGateway gateway, int warmUp, String steps) throws Exception {
        ChatClient client = gateway.client();
        chatsPerSecond(client, "warm-up", warmUp);
        sqlRunsPerSecond(gateway.jdbc(), "warm-up-sql", warmUp);
        String load = loadAverage();
        Phase inSql = Phase.NONE;
        Phase overHttp = Phase.NONE;
        for (int round = 0; round < ROUNDS; round++) {
            int runs = RUNS / ROUNDS;
            String suffix = "-" + round;
            inSql = inSql.plus(Phase.measure(gateway, runs, () -> sqlRunsPerSecond(gateway.jdbc(), "sql" + suffix, runs)));
            overHttp = overHttp.plus(Phase.measure(gateway, runs, () -> chatsPerSecond(client, "http" + suffix, runs)));
        }
        double target = inSql.runsPerSecond() * TARGET_RATIO;
        String of = " (" + steps + ")";
        table.row("load average before the rounds" + of, load, loadAverage() + " (after)", "", "", null)
                .row("runs per second" + of, String.format(Locale.ROOT, "%.1f /s", inSql.runsPerSecond()),
                        String.format(Locale.ROOT, "%.1f /s", overHttp.runsPerSecond()),
                        Table.times(overHttp.runsPerSecond() / inSql.runsPerSecond()),
                        String.format(Locale.ROOT, "≥ × %.2f (%.1f /s)", TARGET_RATIO, target), overHttp.runsPerSecond() >= target)
                .row("CPU per run: JVM + PostgreSQL" + of, inSql.cpuPerRun(), overHttp.cpuPerRun(), "", "", null)
                .row("of the JVM's: JIT compilation per run" + of, inSql.jitPerRun(), overHttp.jitPerRun(), "", "", null)
                .row("cores busy: JVM + PostgreSQL" + of, inSql.cores(), overHttp.cores(), "", "", null)
                .row("writing transactions per run" + of, inSql.transactionsPerRun(), overHttp.transactionsPerRun(), "", "", null)
                .row("transactions per run, reading ones too (pg_stat_database)" + of, inSql.statementsPerRun(), overHttp.statementsPerRun(), "", "", null)
                .row("machine busy (all processes, " + Runtime.getRuntime().availableProcessors() + " cores)" + of, inSql.machine(), overHttp.machine(), "", "", null)
                .row("PostgreSQL CPU of the search step's query alone, per run" + of, "", searchQueryCpu(gateway), "", "", null);
    }

    /** The 1, 5 and 15 minute load averages: how busy the shared machine was. */
    static String loadAverage() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return fields[0] + " " + fields[1] + " " + fields[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private interface Runs {
        double perSecond() throws Exception;
    }

    /** Batches of runs with the wall time, the CPU and the database transactions they took. */
    private record Phase(int runs, double seconds, double jvmSeconds, double postgresSeconds, double machineBusySeconds,
                         double jitSeconds, long transactions, long statements) {

        static final Phase NONE = new Phase(0, 0, 0, 0, 0, 0, 0, 0);

        static Phase measure(BenchGateway gateway, int runs, Runs batch) throws Exception {
            long transactionsBefore = transactions(gateway.jdbc());
            long statementsBefore = allTransactions(gateway.jdbc());
            long jitBefore = ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
            CpuUsage usage = CpuUsage.start(gateway);
            double perSecond = batch.perSecond();
            CpuUsage.Sample cpu = usage.sample();
            double jit = (ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - jitBefore) / 1e3;
            return new Phase(runs, runs / perSecond, cpu.jvmSeconds(), cpu.postgresSeconds(), cpu.machineBusy() * cpu.seconds(),
                    jit, transactions(gateway.jdbc()) - transactionsBefore - 1, allTransactions(gateway.jdbc()) - statementsBefore);
        }

        Phase plus(Phase other) {
            return new Phase(runs + other.runs, seconds + other.seconds, jvmSeconds + other.jvmSeconds, postgresSeconds + other.postgresSeconds,
                    machineBusySeconds + other.machineBusySeconds, jitSeconds + other.jitSeconds, transactions + other.transactions,
                    statements + other.statements);
        }

        double runsPerSecond() {
            return runs / seconds;
        }

        String cpuPerRun() {
            return String.format(Locale.ROOT, "%.1f + %.1f ms", jvmSeconds * 1000 / runs, postgresSeconds * 1000 / runs);
        }

        /** Compiler threads' time (CompilationMXBean), part of the JVM's CPU. */
        String jitPerRun() {
            return String.format(Locale.ROOT, "%.2f ms", jitSeconds * 1000 / runs);
        }

        String cores() {
            return String.format(Locale.ROOT, "%.2f + %.2f", jvmSeconds / seconds, postgresSeconds / seconds);
        }

        String machine() {
            return String.format(Locale.ROOT, "%.0f %%", machineBusySeconds / seconds * 100);
        }

        String transactionsPerRun() {
            return String.format(Locale.ROOT, "%.1f", transactions / (double) runs);
        }

        String statementsPerRun() {
            return String.format(Locale.ROOT, "%.1f", statements / (double) runs);
        }

        /**
         * Transactions committed or rolled back in the database so far, reading ones too: with the worker's and the
         * event path's statements autocommitted, about one per statement. Backends report them within a second, so a
         * phase's count is a little off at its edges.
         */
        private static long allTransactions(JdbcTemplate jdbc) {
            jdbc.execute("select pg_stat_force_next_flush()");
            Long count = jdbc.queryForObject("select xact_commit + xact_rollback from pg_stat_database where datname = current_database()", Long.class);
            return count == null ? 0 : count;
        }

        /** Transaction ids handed out so far: every transaction that wrote got one (this query takes one as well). */
        private static long transactions(JdbcTemplate jdbc) {
            Long xid = jdbc.queryForObject("select txid_current()", Long.class);
            return xid == null ? 0 : xid;
        }
    }

    /** The search step's SQL (sql/search_documents.sql) run on its own, with the step's parameters, as often as in a batch of runs. */
    private static String searchQueryCpu(BenchGateway gateway) throws Exception {
        String sql;
        try (InputStream file = ThroughputBenchmark.class.getResourceAsStream("/sql/search_documents.sql")) {
            sql = new String(file.readAllBytes(), StandardCharsets.UTF_8).replaceAll(":#(\\w+)", ":$1");
        }
        NamedParameterJdbcTemplate jdbc = new NamedParameterJdbcTemplate(gateway.jdbc());
        SearchStep search = gateway.bean(SearchStep.class);
        CpuUsage usage = CpuUsage.start(gateway);
        for (int i = 0; i < RUNS; i++) {
            jdbc.queryForList(sql, search.parameters(JSON.createObjectNode().set("run", JSON.createObjectNode().put("question", Chats.QUESTION))));
        }
        return String.format(Locale.ROOT, "%.1f ms", usage.sample().postgresSeconds() * 1000 / RUNS);
    }

    private static double chatsPerSecond(ChatClient client, String name, int runs) throws Exception {
        Semaphore slots = new Semaphore(IN_FLIGHT);
        List<CompletableFuture<ChatClient.StreamResponse>> chats = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            slots.acquire();
            String chatId = name + "-" + i;
            chats.add(client.postChatAsync(ChatClient.chatBody(chatId, Chats.QUESTION), event -> { })
                    .thenApply(response -> Chats.requireFinished(response, chatId))
                    .whenComplete((response, error) -> slots.release()));
        }
        for (CompletableFuture<ChatClient.StreamResponse> chat : chats) {
            chat.get(60, TimeUnit.SECONDS);
        }
        return runs / ((System.nanoTime() - start) / 1e9);
    }

    private static double sqlRunsPerSecond(JdbcTemplate jdbc, String name, int runs) throws Exception {
        List<UUID> runIds = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            UUID runId = UUID.randomUUID();
            runIds.add(runId);
            String input = JSON.createObjectNode().put("chatId", name + "-" + i).put("userId", "local-user")
                    .put("trigger", "submit-message").put("messageId", "m-" + i).put("question", Chats.QUESTION)
                    .set("history", JSON.createArrayNode()).toString();
            jdbc.queryForObject("select run_id from pgflow.start_flow(flow_slug => 'chat_pipeline', input => ?::jsonb, run_id => ?::uuid)",
                    UUID.class, input, runId);
        }
        // The defaults' steps run a few per second on a busy machine: half a second per run, two minutes at least.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(120, runs / 2));
        while (true) {
            List<String> statuses = jdbc.execute((Connection connection) -> {
                Array ids = connection.createArrayOf("uuid", runIds.toArray());
                try {
                    return jdbc.queryForList("select status from pgflow.runs where run_id = any(?) and status <> 'started'", String.class, ids);
                } finally {
                    ids.free();
                }
            });
            if (statuses.stream().anyMatch(status -> !status.equals("completed"))) {
                throw new IllegalStateException("a run started in SQL did not complete: " + statuses.stream().distinct().toList());
            }
            if (statuses.size() == runs) {
                return runs / ((System.nanoTime() - start) / 1e9);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(statuses.size() + " of " + runs + " runs started in SQL completed in time");
            }
            Thread.sleep(10);
        }
    }
}
