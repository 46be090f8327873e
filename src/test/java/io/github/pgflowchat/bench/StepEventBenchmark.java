package io.github.pgflowchat.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Vertx;

import io.github.pgflowchat.events.RunEventSource;
import io.github.pgflowchat.realtime.RealtimeClient;
import io.github.pgflowchat.realtime.RealtimeProperties;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.PhoenixTestServer;
import io.github.pgflowchat.support.ServiceProcess;

/**
 * Step event latency: from a step's {@code complete_task} commit to its {@code data-step} "completed" part read by
 * the client, for every step of full chats, once with events over PostgreSQL NOTIFY and once over the Supabase
 * Realtime protocol through the Phoenix test server's relay. Each path's baseline is the same hop with nothing of the
 * gateway in it, sampled in between the chats: a bare {@code pg_notify} to a LISTENing JDBC connection, and a bare
 * {@code realtime.send} relayed to a {@link RealtimeClient} joined to its own topic.
 */
final class StepEventBenchmark {

    private static final int WARM_UP = 5;
    private static final int RUNS = 30;
    private static final String REALTIME_KEY = "bench-anon-key";
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Samples(List<Double> baseline, List<Double> measured) {
    }

    private StepEventBenchmark() {
    }

    static Table run() throws Exception {
        Table table = new Table("Step event latency: complete_task commit → data-step part on the wire")
                .note("%d full chats per path (offline model, no token delay) after %d warm-up chats; 3 steps each.", RUNS, WARM_UP)
                .note("Timestamps: System.nanoTime() woven into the worker route right after complete_task's JDBC call returned "
                        + "(autocommit: committed), and in the client (same JVM) when the part was read.");
        Samples notify;
        try (BenchGateway gateway = BenchGateway.start(BenchGateway.offlineWithoutTokenDelay());
             NotifyRoundTrip bare = new NotifyRoundTrip(gateway.dataSource(), "select pg_notify('bench_echo', 'probe')", "bench_echo", "probe", null)) {
            notify = measure(gateway, bare::roundTripMillis);
        }
        add(table, "NOTIFY", "bare pg_notify → LISTEN", notify, 15.0);

        Samples realtime;
        // The relay reads the gateway's database, so it must stop before the gateway does: the server is closed
        // first, and so started after the gateway, on the port the gateway was told to connect to.
        int port = ServiceProcess.freePort();
        try (BenchGateway gateway = BenchGateway.start(BenchGateway.offlineWithoutTokenDelay(), "--gateway.events.source=supabase",
                "--gateway.realtime.url=ws://127.0.0.1:" + port + "/realtime/v1/websocket", "--gateway.realtime.api-key=" + REALTIME_KEY);
             PhoenixTestServer server = new PhoenixTestServer(REALTIME_KEY, REALTIME_KEY)) {
            server.startOn(port);
            server.relayFrom(gateway.dataSource().getJdbcUrl(), gateway.dataSource().getUsername(), gateway.dataSource().getPassword());
            RunEventSource events = gateway.bean(RunEventSource.class);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!events.isConnected()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the gateway did not connect to the Realtime test server within 20 s");
                }
                Thread.sleep(20);
            }
            try (RealtimeEcho bare = RealtimeEcho.join(gateway)) {
                realtime = measure(gateway, bare::millis);
            }
        }
        add(table, "Realtime", "bare realtime.send → relay → RealtimeClient", realtime, null);
        return table;
    }

    private static Samples measure(BenchGateway gateway, Interleaved.RoundTrip bare) throws Exception {
        PipelineTimestamps timestamps = PipelineTimestamps.weaveInto(gateway.camel(), Chats.STEPS);
        ChatClient client = gateway.client();
        List<Double> measured = new ArrayList<>();
        List<Double> baseline = Interleaved.run("events", WARM_UP, RUNS, bare, (chatId, measuring) -> {
            Map<String, Long> received = new ConcurrentHashMap<>();
            UUID runId = Chats.runId(Chats.run(client, chatId, event -> {
                String step = Chats.completedStep(event);
                if (step != null) {
                    received.put(step, System.nanoTime());
                }
            }));
            if (measuring) {
                for (String step : Chats.STEPS) {
                    measured.add((received.get(step) - timestamps.taskCompleted(runId, step)) / 1e6);
                }
            }
        });
        return new Samples(baseline, measured);
    }

    private static void add(Table table, String path, String baselineName, Samples samples, Double targetP50) {
        for (double p : new double[] {50, 99}) {
            double baseline = Table.percentile(samples.baseline(), p);
            double measured = Table.percentile(samples.measured(), p);
            boolean hasTarget = targetP50 != null && p == 50;
            table.row(String.format("%s p%.0f (baseline: %s)", path, p, baselineName), Table.ms(baseline), Table.ms(measured),
                    Table.plusMs(measured - baseline), hasTarget ? "≤ " + Table.ms(targetP50) : "", hasTarget ? measured <= targetP50 : null);
        }
    }

    /** The Realtime hop alone: {@code realtime.send} committed, relayed by the test server, read by a {@link RealtimeClient}. */
    private static final class RealtimeEcho implements AutoCloseable {
        private static final String TOPIC = "bench-echo";
        private final Vertx vertx = Vertx.vertx();
        private final RealtimeClient client;
        private final BenchGateway gateway;
        private final BlockingQueue<Long> received = new LinkedBlockingQueue<>();

        private RealtimeEcho(BenchGateway gateway) {
            this.gateway = gateway;
            RealtimeProperties properties = gateway.bean(RealtimeProperties.class);
            this.client = new RealtimeClient(vertx, properties.websocketUri(), properties.vsn(), JSON, properties::token,
                    Duration.ofSeconds(25), Duration.ofSeconds(10));
        }

        /** A client on the gateway's Realtime endpoint, joined to a topic of its own. */
        static RealtimeEcho join(BenchGateway gateway) throws Exception {
            RealtimeEcho echo = new RealtimeEcho(gateway);
            CountDownLatch joined = new CountDownLatch(1);
            echo.client.start();
            echo.client.join("realtime:" + TOPIC, new RealtimeClient.ChannelListener() {
                @Override
                public void onJoined() {
                    joined.countDown();
                }

                @Override
                public void onBroadcast(String event, JsonNode payload) {
                    echo.received.add(System.nanoTime());
                }
            });
            if (!joined.await(10, TimeUnit.SECONDS)) {
                echo.close();
                throw new IllegalStateException("the baseline's Realtime client did not join within 10 s");
            }
            return echo;
        }

        double millis() throws InterruptedException {
            received.clear();
            gateway.jdbc().execute("select realtime.send('{}'::jsonb, 'probe', '" + TOPIC + "', false)");
            long sent = System.nanoTime();
            Long done = received.poll(5, TimeUnit.SECONDS);
            if (done == null) {
                throw new IllegalStateException("no Realtime broadcast within 5 s");
            }
            return (done - sent) / 1e6;
        }

        @Override
        public void close() throws Exception {
            client.close();
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }
}
