package io.github.pgflowchat.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.github.pgflowchat.events.FollowedRuns;
import io.github.pgflowchat.events.RunEventSource;
import io.github.pgflowchat.realtime.RealtimeRunEventSource;
import io.github.pgflowchat.realtime.RealtimeSocketPool;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.PhoenixTestServer;
import io.github.pgflowchat.realtime.RealtimeProperties;

/**
 * Three hundred chats at once with run events from Supabase Realtime, over a Phoenix-protocol server that enforces
 * the Free plan's quotas as Supabase does (100 channels per socket, 100 joins and 100 messages per second), on the
 * gateway's default settings: how many joins were refused, how many sockets were opened, how many run events came on
 * a Realtime hint and how many only on the reconciler's timer (the database fallback), and the time to first token,
 * against the same 300 chats with events from PostgreSQL NOTIFY, measured first in the same run.
 */
final class RealtimeQuotaBenchmark {

    private static final int CHATS = 300;
    private static final String KEY = "anon-key";
    /** The offline model on its defaults (15 ms between tokens), so that a run lasts about as long as a short answer. */
    private static final List<String> OFFLINE = List.of("--gateway.llm.provider=offline");
    /** A second Realtime run joins this fast: most of the Free plan's 100 per second, for one instance alone. */
    private static final int FASTER_JOINS = 90;

    private RealtimeQuotaBenchmark() {
    }

    private record Outcome(List<Double> ttftMs, double wallSeconds, long onHint, long fromHere, long onTimer, List<String> errors) {
    }

    /** What one Realtime run saw: the chats, the server's counters and the pool's. */
    private record OverRealtime(Outcome chats, int socketsAccepted, int mostSockets, int mostChannels, int refused,
                                int messageErrors, long broadcasts, double poolRefused, int poolSocketsOpened) {
    }

    static Table run() throws Exception {
        Outcome notify;
        try (BenchGateway gateway = BenchGateway.start(OFFLINE, perUserLimits())) {
            notify = chats(gateway, "notify");
        }
        OverRealtime defaults = overRealtime("realtime");
        OverRealtime faster = overRealtime("realtime-90", "--gateway.realtime.joins-per-second=" + FASTER_JOINS);
        Outcome realtime = defaults.chats();

        Table table = new Table(CHATS + " chats at once over Realtime within Supabase's quotas");
        table.note("Each chat a full run on the offline model (its default 15 ms between tokens), all %d posted at once by one client. Baseline: the "
                + "same on PostgreSQL NOTIFY (EVENTS_SOURCE=notify), first in the same run. Then events from a Phoenix-protocol server "
                + "on loopback relaying the database's realtime.send and enforcing the Free plan's quotas: 100 channels per socket "
                + "(ChannelRateLimitReached), 100 joins per second over all sockets (ClientJoinRateLimitReached), 100 messages per "
                + "second per socket (system error).", CHATS);
        table.note("Settings: the defaults (REALTIME_MAX_CHANNELS_PER_SOCKET=100, REALTIME_MAX_SOCKETS=10, REALTIME_JOINS_PER_SECOND=%.0f, "
                + "EVENTS_RECONCILE_INTERVAL=2s) but CHAT_CONCURRENT_STREAMS and CHAT_REQUESTS_PER_MINUTE raised for one user's %d chats; "
                + "the last rows repeat the Realtime run with REALTIME_JOINS_PER_SECOND=%d.", RealtimeProperties.DEFAULT_JOINS_PER_SECOND,
                CHATS, FASTER_JOINS);
        table.note("Events on a hint: handed on after a Realtime broadcast or a join's catch-up read (NOTIFY in the baseline); from here: "
                + "reported by this instance's worker as it committed them (decision record 0011), with no reading; on the timer: "
                + "the reconciler's 2 s reading found them and no hint had come for the run since its last reading (the database fallback). "
                + "Errors: %s / %s / %s.", describe(notify.errors()), describe(realtime.errors()), describe(faster.chats().errors()));
        boolean allFinished = notify.errors().isEmpty() && realtime.errors().isEmpty() && faster.chats().errors().isEmpty();
        table.row("streams that failed", notify.errors().size() + " of " + CHATS, realtime.errors().size() + " of " + CHATS, "", "0",
                notify.errors().isEmpty() && realtime.errors().isEmpty());
        table.row("joins refused (server; the pool's counter)", "", defaults.refused() + "; " + (long) defaults.poolRefused(), "", "0",
                defaults.refused() == 0);
        table.row("'Too many messages per second' errors", "", String.valueOf(defaults.messageErrors()), "", "0", defaults.messageErrors() == 0);
        table.row("sockets opened (at most at once; most channels on one)", "", defaults.socketsAccepted() + " (" + defaults.mostSockets() + "; "
                + defaults.mostChannels() + ")", "pool opened " + defaults.poolSocketsOpened(), "≤ 100 channels per socket", defaults.mostChannels() <= 100);
        table.row("broadcasts relayed to the gateway", "", String.valueOf(defaults.broadcasts()),
                String.format(Locale.ROOT, "%.1f per chat", defaults.broadcasts() / (double) CHATS), "", null);
        eventRows(table, notify, realtime, "");
        table.row("all " + CHATS + " chats done (baseline: NOTIFY)", String.format(Locale.ROOT, "%.1f s", notify.wallSeconds()),
                String.format(Locale.ROOT, "%.1f s", realtime.wallSeconds()), Table.times(realtime.wallSeconds() / notify.wallSeconds()), "", null);
        table.row("joins refused, sockets opened at " + FASTER_JOINS + " joins/s", "", faster.refused() + ", " + faster.socketsAccepted(), "", "0 refused",
                faster.refused() == 0);
        eventRows(table, notify, faster.chats(), " at " + FASTER_JOINS + " joins/s");
        if (!allFinished) {
            System.out.println(table.markdown());
            throw new IllegalStateException("streams failed: " + notify.errors().size() + " on NOTIFY, " + realtime.errors().size()
                    + " on Realtime, " + faster.chats().errors().size() + " on Realtime at " + FASTER_JOINS + " joins/s");
        }
        return table;
    }

    private static void eventRows(Table table, Outcome notify, Outcome realtime, String suffix) {
        table.row("run events delivered on a hint / from here / on the timer (fallback)" + suffix,
                notify.onHint() + " / " + notify.fromHere() + " / " + notify.onTimer(),
                realtime.onHint() + " / " + realtime.fromHere() + " / " + realtime.onTimer(),
                String.format(Locale.ROOT, "%.1f %% on the timer", 100.0 * realtime.onTimer()
                        / Math.max(1, realtime.onHint() + realtime.fromHere() + realtime.onTimer())),
                "", null);
        for (double p : new double[] {50, 99}) {
            double base = Table.percentile(notify.ttftMs(), p);
            double measured = Table.percentile(realtime.ttftMs(), p);
            table.row(String.format(Locale.ROOT, "time to first token p%.0f (baseline: NOTIFY)%s", p, suffix), Table.ms(base), Table.ms(measured),
                    Table.plusMs(measured - base) + ", " + Table.times(measured / base), "", null);
        }
    }

    private static OverRealtime overRealtime(String name, String... more) throws Exception {
        try (PhoenixTestServer server = new PhoenixTestServer(KEY, KEY)
                .limitChannelsPerSocket(100).limitJoinsPerSecond(100).limitMessagesPerSecond(100)) {
            server.start();
            List<String> args = new ArrayList<>(List.of(perUserLimits()));
            args.addAll(List.of("--gateway.events.source=supabase", "--gateway.realtime.url=" + server.url(),
                    "--gateway.realtime.api-key=" + KEY));
            args.addAll(List.of(more));
            Outcome chats;
            double poolRefused;
            int poolSocketsOpened;
            try (BenchGateway gateway = BenchGateway.start(OFFLINE, args.toArray(String[]::new))) {
                server.relayFrom(gateway.dataSource().getJdbcUrl(), gateway.dataSource().getUsername(), gateway.dataSource().getPassword());
                RunEventSource source = gateway.bean(RunEventSource.class);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (!source.isConnected() && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                chats = chats(gateway, name);
                RealtimeSocketPool pool = ((RealtimeRunEventSource) source).pool();
                poolRefused = pool.joinsRefused();
                poolSocketsOpened = pool.socketsOpened();
                server.stopRelay();
            }
            return new OverRealtime(chats, server.socketsAccepted(), server.mostSocketsAtOnce(), server.mostChannelsOnASocket(),
                    server.refusedJoins().size(), server.messageRateErrors(), server.broadcastsSent(), poolRefused, poolSocketsOpened);
        }
    }

    private static String[] perUserLimits() {
        return new String[] {"--gateway.chat.limits.concurrent-streams=" + (CHATS + 10)};
    }

    private static Outcome chats(BenchGateway gateway, String name) throws Exception {
        ChatClient client = gateway.client();
        for (int i = 0; i < 3; i++) {
            Chats.run(client, name + "-warm-up-" + i, event -> { });
        }
        FollowedRuns followed = gateway.bean(FollowedRuns.class);
        settle(followed);
        long hintBefore = followed.eventsDeliveredOnHint();
        long timerBefore = followed.eventsDeliveredOnTimer();
        long hereBefore = followed.eventsDeliveredFromHere();
        ConcurrentLinkedQueue<Double> ttft = new ConcurrentLinkedQueue<>();
        List<CompletableFuture<ChatClient.StreamResponse>> streams = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < CHATS; i++) {
            long sent = System.nanoTime();
            AtomicLong first = new AtomicLong();
            streams.add(client.postChatAsync(ChatClient.chatBody(name + "-" + i, Chats.QUESTION), event -> {
                if ("text-delta".equals(event.type()) && first.compareAndSet(0, System.nanoTime())) {
                    ttft.add((first.get() - sent) / 1e6);
                }
            }));
        }
        List<String> errors = new ArrayList<>();
        long deadline = start + Duration.ofMinutes(5).toNanos();
        for (int i = 0; i < streams.size(); i++) {
            try {
                Chats.requireFinished(streams.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS), name + "-" + i);
            } catch (Exception e) {
                errors.add(e.toString());
            }
        }
        double wall = (System.nanoTime() - start) / 1e9;
        settle(followed);
        return new Outcome(List.copyOf(ttft), wall, followed.eventsDeliveredOnHint() - hintBefore,
                followed.eventsDeliveredFromHere() - hereBefore, followed.eventsDeliveredOnTimer() - timerBefore, errors);
    }

    /** A stream ends on its last event, a moment before that event is counted: waits for the counts to settle. */
    private static void settle(FollowedRuns followed) throws InterruptedException {
        long settled = -1;
        for (int i = 0; i < 50 && settled != delivered(followed); i++) {
            settled = delivered(followed);
            Thread.sleep(200);
        }
    }

    private static long delivered(FollowedRuns followed) {
        return followed.eventsDeliveredOnHint() + followed.eventsDeliveredFromHere() + followed.eventsDeliveredOnTimer();
    }

    private static String describe(List<String> errors) {
        return errors.isEmpty() ? "none" : errors.size() + ", first " + errors.get(0);
    }
}
