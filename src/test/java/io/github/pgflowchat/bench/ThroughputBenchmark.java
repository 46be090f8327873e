package io.github.pgflowchat.bench;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
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
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.JdbcTemplate;

import io.github.pgflowchat.support.ChatClient;

/**
 * Complete pipeline runs per second with the offline model (no pause between its tokens), on the default worker
 * (WORKER_CONCURRENCY 16). Measured: chats through {@code POST /api/chat} with {@value #IN_FLIGHT} streams open at a
 * time, from the first request to the last {@code finish}. Baseline: the same number of runs started with
 * {@code pgflow.start_flow} in SQL, no HTTP and no stream, run by the same worker, from the first start to the last
 * run completed.
 */
final class ThroughputBenchmark {

    private static final int RUNS = 400;
    private static final int WARM_UP = 60;
    private static final int IN_FLIGHT = 32;
    private static final double TARGET = 150;
    private static final ObjectMapper JSON = new ObjectMapper();

    private ThroughputBenchmark() {
    }

    static Table run() throws Exception {
        Table table = new Table("Throughput: complete pipeline runs per second, offline model");
        try (BenchGateway gateway = BenchGateway.start(BenchGateway.offlineWithoutTokenDelay(),
                "--gateway.chat.limits.concurrent-streams=" + IN_FLIGHT)) {
            ChatClient client = gateway.client();
            chatsPerSecond(client, "warm-up", WARM_UP);
            sqlRunsPerSecond(gateway.jdbc(), "warm-up-sql", WARM_UP);
            Phase inSql = Phase.measure(gateway, () -> sqlRunsPerSecond(gateway.jdbc(), "sql", RUNS));
            Phase overHttp = Phase.measure(gateway, () -> chatsPerSecond(client, "http", RUNS));
            table.note("%d runs each way after %d warm-up runs each way; offline model without token delay, worker concurrency 16 "
                            + "(default); %d chat streams open at a time (CHAT_CONCURRENT_STREAMS raised to %d).", RUNS, WARM_UP, IN_FLIGHT, IN_FLIGHT)
                    .note("Baseline: the runs started with pgflow.start_flow in SQL (no HTTP, no chat stream), completion polled every 10 ms.")
                    .row("runs per second", String.format(Locale.ROOT, "%.1f /s", inSql.runsPerSecond()),
                            String.format(Locale.ROOT, "%.1f /s", overHttp.runsPerSecond()),
                            Table.times(overHttp.runsPerSecond() / inSql.runsPerSecond()), "≥ 150 /s", overHttp.runsPerSecond() >= TARGET)
                    .row("CPU per run: JVM + PostgreSQL", inSql.cpuPerRun(), overHttp.cpuPerRun(), "", "", null)
                    .row("cores busy: JVM + PostgreSQL", inSql.cores(), overHttp.cores(), "", "", null)
                    .row("writing transactions per run", inSql.transactionsPerRun(), overHttp.transactionsPerRun(), "", "", null)
                    .row("machine busy (all processes, " + Runtime.getRuntime().availableProcessors() + " cores)", inSql.machine(), overHttp.machine(), "", "", null)
                    .row("PostgreSQL CPU of the search step's query alone, per run", "", searchQueryCpu(gateway), "", "", null);
        }
        return table;
    }

    private interface Runs {
        double perSecond() throws Exception;
    }

    /** A batch of runs with the CPU and the database transactions it took. */
    private record Phase(double runsPerSecond, CpuUsage.Sample cpu, long transactions) {

        static Phase measure(BenchGateway gateway, Runs runs) throws Exception {
            long transactionsBefore = transactions(gateway.jdbc());
            CpuUsage usage = CpuUsage.start(gateway);
            double perSecond = runs.perSecond();
            CpuUsage.Sample cpu = usage.sample();
            return new Phase(perSecond, cpu, transactions(gateway.jdbc()) - transactionsBefore - 1);
        }

        String cpuPerRun() {
            return String.format(Locale.ROOT, "%.1f + %.1f ms", cpu.jvmSeconds() * 1000 / RUNS, cpu.postgresSeconds() * 1000 / RUNS);
        }

        String cores() {
            return String.format(Locale.ROOT, "%.2f + %.2f", cpu.jvmSeconds() / cpu.seconds(), cpu.postgresSeconds() / cpu.seconds());
        }

        String machine() {
            return String.format(Locale.ROOT, "%.0f %%", cpu.machineBusy() * 100);
        }

        String transactionsPerRun() {
            return String.format(Locale.ROOT, "%.1f", transactions / (double) RUNS);
        }

        /** Transaction ids handed out so far: every transaction that wrote got one (this query takes one as well). */
        private static long transactions(JdbcTemplate jdbc) {
            Long xid = jdbc.queryForObject("select txid_current()", Long.class);
            return xid == null ? 0 : xid;
        }
    }

    /** The search step's SQL (sql/search_documents.sql) run on its own, as often as in a batch of runs. */
    private static String searchQueryCpu(BenchGateway gateway) throws Exception {
        String sql;
        try (InputStream file = ThroughputBenchmark.class.getResourceAsStream("/sql/search_documents.sql")) {
            sql = new String(file.readAllBytes(), StandardCharsets.UTF_8).replace(":#query", "?").replace(":#limit", "?");
        }
        int limit = gateway.bean(Environment.class).getRequiredProperty("gateway.search.max-results", Integer.class);
        CpuUsage usage = CpuUsage.start(gateway);
        for (int i = 0; i < RUNS; i++) {
            gateway.jdbc().queryForList(sql, Chats.QUESTION, limit);
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
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
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
                throw new IllegalStateException(statuses.size() + " of " + runs + " runs started in SQL completed within 120 s");
            }
            Thread.sleep(10);
        }
    }
}
