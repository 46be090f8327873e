package io.github.pgflowchat.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import io.github.pgflowchat.support.ChatClient;

/**
 * Task dispatch latency: from the commit that queued a step's message to the step's handler running, for every step
 * of full chats: {@code search} from {@code start_flow}, the others from the previous step's {@code complete_task}
 * (which queues the next message in its transaction). The baseline, sampled between the chats, is the least a
 * NOTIFY-woken worker can do: a bare {@code pgmq.send} on a queue with the flow's NOTIFY trigger, and a LISTENing
 * JDBC connection that reads the message with {@code pgmq.read} when notified.
 */
final class DispatchBenchmark {

    private static final int WARM_UP = 5;
    private static final int RUNS = 30;
    private static final String QUEUE = "bench_dispatch";
    private static final String QUEUED_CLAIMED = "part: queued until claimed (start_tasks returned)";
    private static final String CLAIMED_RUNNING = "part: claimed until the step route runs";
    private static final String ENDED_COMPLETED = "part: handler ended until complete_task returned";

    private DispatchBenchmark() {
    }

    static Table run() throws Exception {
        List<Double> baseline;
        Map<String, List<Double>> byStep = new LinkedHashMap<>();
        Chats.STEPS.forEach(step -> byStep.put(step, new ArrayList<>()));
        // Where a dispatch's time goes: queued -> claimed (start_tasks returned) -> handler running; and a step's end:
        // handler ended -> complete_task returned (which queues the next step).
        Map<String, List<Double>> parts = new LinkedHashMap<>();
        List.of(QUEUED_CLAIMED, CLAIMED_RUNNING, ENDED_COMPLETED).forEach(part -> parts.put(part, new ArrayList<>()));
        try (BenchGateway gateway = BenchGateway.start(BenchGateway.offlineWithoutTokenDelay())) {
            gateway.jdbc().execute("select pgmq.create('" + QUEUE + "')");
            gateway.jdbc().execute("create trigger bench_dispatch_notify after insert on pgmq.q_" + QUEUE
                    + " for each statement execute function public.notify_pgmq_queue('" + QUEUE + "')");
            PipelineTimestamps timestamps = PipelineTimestamps.weaveInto(gateway.camel(), Chats.STEPS);
            ChatClient client = gateway.client();
            try (NotifyRoundTrip bare = new NotifyRoundTrip(gateway.dataSource(), "select pgmq.send('" + QUEUE + "', '{}'::jsonb)",
                    "pgmq_queue", QUEUE, "select msg_id from pgmq.read('" + QUEUE + "', 30, 1)")) {
                baseline = Interleaved.run("dispatch", WARM_UP, RUNS, bare::roundTripMillis, (chatId, measuring) -> {
                    UUID runId = Chats.runId(Chats.run(client, chatId, event -> { }));
                    if (!measuring) {
                        return;
                    }
                    for (int k = 0; k < Chats.STEPS.size(); k++) {
                        String step = Chats.STEPS.get(k);
                        long queued = k == 0 ? timestamps.runStarted(runId) : timestamps.taskCompleted(runId, Chats.STEPS.get(k - 1));
                        long claimed = timestamps.taskClaimed(runId, step);
                        long running = timestamps.handlerStarted(runId, step);
                        byStep.get(step).add((running - queued) / 1e6);
                        parts.get(QUEUED_CLAIMED).add((claimed - queued) / 1e6);
                        parts.computeIfAbsent(QUEUED_CLAIMED + ", " + step, name -> new ArrayList<>()).add((claimed - queued) / 1e6);
                        parts.get(CLAIMED_RUNNING).add((running - claimed) / 1e6);
                        parts.get(ENDED_COMPLETED).add((timestamps.taskCompleted(runId, step) - timestamps.handlerEnded(runId, step)) / 1e6);
                    }
                });
            }
        }
        List<Double> all = byStep.values().stream().flatMap(List::stream).toList();
        double target = 10;
        Table table = new Table("Task dispatch latency: message queued → step handler running")
                .note("%d full chats (offline model, no token delay) after %d warm-up chats; 3 dispatches each.", RUNS, WARM_UP)
                .note("Timestamps: System.nanoTime() woven into the routes right after start_flow / complete_task returned "
                        + "(committed) and at the first processor of the step route. Baseline: pgmq.send → NOTIFY → pgmq.read.");
        for (double p : new double[] {50, 99}) {
            double bare = Table.percentile(baseline, p);
            double measured = Table.percentile(all, p);
            table.row(String.format("all steps p%.0f", p), Table.ms(bare), Table.ms(measured), Table.plusMs(measured - bare),
                    p == 50 ? "≤ " + Table.ms(target) : "", p == 50 ? measured <= target : null);
        }
        double bareMedian = Table.percentile(baseline, 50);
        byStep.forEach((step, samples) -> {
            double measured = Table.percentile(samples, 50);
            table.row(step + " p50", Table.ms(bareMedian), Table.ms(measured), Table.plusMs(measured - bareMedian), "", null);
        });
        parts.forEach((part, samples) -> table.row(part + (part.contains(", ") ? " p50" : " p50 (all steps)"), "", Table.ms(Table.percentile(samples, 50)), "", "", null));
        return table;
    }
}
