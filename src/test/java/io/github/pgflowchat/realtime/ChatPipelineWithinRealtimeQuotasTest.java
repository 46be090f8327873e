package io.github.pgflowchat.realtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.events.RunEventSource;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.CompletedChat;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.PhoenixTestServer;

/**
 * Many chats at once over a Realtime server that enforces Supabase's Free-plan quotas (100 channels per socket, 100
 * joins and 100 messages per second): the gateway, on its default pool settings, spreads the channels over sockets
 * and paces its joins so that none is refused, and every run's events come over Realtime, not from the reconciler's
 * timer, which is set too long to matter.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        // Long enough an answer that each run is still going when its paced join is sent.
        "gateway.llm.offline.token-delay=20ms",
        "gateway.worker.fallback-poll-interval=200ms",
        "gateway.events.source=supabase",
        "gateway.realtime.api-key=anon-key",
        "gateway.realtime.heartbeat-interval=1s",
        "gateway.events.reconcile-interval=10m",
        "gateway.chat.limits.requests-per-minute=100000",
        "gateway.chat.limits.concurrent-streams=1000"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChatPipelineWithinRealtimeQuotasTest {

    private static final int CHATS = 150;
    private static final PhoenixTestServer REALTIME = new PhoenixTestServer("anon-key", "anon-key")
            .limitChannelsPerSocket(100).limitJoinsPerSecond(100).limitMessagesPerSecond(100);

    @DynamicPropertySource
    static void realtime(DynamicPropertyRegistry registry) throws Exception {
        EmbeddedPostgresDirectory.register(registry);
        REALTIME.start();
        registry.add("gateway.realtime.url", REALTIME::url);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    HikariDataSource dataSource;

    @Autowired
    RunEventSource events;

    @Autowired
    MeterRegistry meters;

    @BeforeAll
    void relayDatabaseBroadcasts() {
        REALTIME.relayFrom(dataSource.getJdbcUrl(), dataSource.getUsername(), dataSource.getPassword());
        await().atMost(Duration.ofSeconds(10)).until(events::isConnected);
    }

    @AfterAll
    void stopServer() throws Exception {
        REALTIME.close();
    }

    @Test
    void manyChatsAtOnceStayWithinTheQuotasAndGetTheirEventsOverRealtime() throws Exception {
        ChatClient client = new ChatClient(port);
        List<CompletableFuture<ChatClient.StreamResponse>> streams = new ArrayList<>();
        for (int i = 0; i < CHATS; i++) {
            streams.add(client.postChatAsync(ChatClient.chatBody("chat-quota-" + i, "How are steps retried? (" + i + ")"), event -> { }));
        }

        List<ChatClient.StreamResponse> responses = new ArrayList<>();
        for (CompletableFuture<ChatClient.StreamResponse> stream : streams) {
            responses.add(stream.get(180, TimeUnit.SECONDS));
        }

        for (ChatClient.StreamResponse response : responses) {
            CompletedChat.assertCompleted(response, client, jdbc);
        }
        assertThat(REALTIME.refusedJoins()).as("joins refused by the server").isEmpty();
        assertThat(REALTIME.messageRateErrors()).isZero();
        assertThat(meters.get("gateway.realtime.joins.refused").counters()).allSatisfy(c -> assertThat(c.count()).isZero());
        assertThat(REALTIME.mostChannelsOnASocket()).isLessThanOrEqualTo(100);
        assertThat(REALTIME.mostSocketsAtOnce()).as("sockets open at once for %d runs", CHATS).isGreaterThanOrEqualTo(2);
        for (ChatClient.StreamResponse response : responses) {
            assertThat(REALTIME.broadcastsSent(RealtimeRunEventSource.TOPIC_PREFIX + response.runId()))
                    .as("broadcasts relayed to run %s's channel", response.runId()).isPositive();
        }
        // The reconciler's timer (10 minutes) never fired: the chats completed on Realtime broadcasts and join catch-ups.
        assertThat(REALTIME.joins()).as("joins sent: one per run, none retried").hasSize(CHATS);
        // Every channel is left once its run ended.
        await().atMost(Duration.ofSeconds(10)).until(() -> REALTIME.joinedTopics().isEmpty());
    }
}
