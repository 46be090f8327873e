package io.github.pgflowchat.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.camel.CamelContext;
import org.apache.camel.builder.AdviceWith;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.chat.ChatStream;
import io.github.pgflowchat.chat.ChatStreams;
import io.github.pgflowchat.component.pgflow.PgflowConstants;
import io.github.pgflowchat.db.PgNotificationListener;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.CompletedChat;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.QuestionAdvice;

/**
 * The NOTIFY event path loses nothing: an event whose delivery failed is offered again, and when the LISTEN
 * connection's backend is terminated mid-run (again and again for a while) health's runEvents says DOWN, the listener
 * comes back, says UP, and the chat completes from what the reconnect caught up on.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms",
        "gateway.worker.fallback-poll-interval=200ms",
        // Only the reconnect's catch-up can bring what was notified while the listener was away.
        "gateway.events.reconcile-interval=10m"
})
class NotifyEventPathTest {

    private static final String HELD = "Hold the analysis while the listen connection is killed";
    private static final CountDownLatch RELEASE = new CountDownLatch(1);
    private static final String FAILS_ONCE_CHAT = "chat-delivery-fails-once";
    private static final AtomicBoolean SEARCH_DELIVERY_FAILED = new AtomicBoolean();

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    CamelContext camel;

    @Autowired
    ChatStreams chatStreams;

    @Test
    void anEventWhoseDeliveryFailedIsOfferedAgain() throws Exception {
        AdviceWith.adviceWith(camel, "run-progress", route -> route.weaveAddFirst().process(exchange -> {
            ChatStream stream = chatStreams.stream(exchange.getIn().getHeader(PgflowConstants.RUN_ID, UUID.class));
            if (stream != null && FAILS_ONCE_CHAT.equals(stream.chatId())
                    && "step:completed".equals(exchange.getIn().getHeader(PgflowConstants.EVENT_TYPE))
                    && "search".equals(exchange.getIn().getHeader(PgflowConstants.STEP_SLUG))
                    && SEARCH_DELIVERY_FAILED.compareAndSet(false, true)) {
                throw new IllegalStateException("the first delivery of the search results fails");
            }
        }));
        ChatClient client = new ChatClient(port);

        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody(FAILS_ONCE_CHAT, "How do I run the tests?"));

        assertThat(SEARCH_DELIVERY_FAILED).isTrue();
        CompletedChat.assertCompleted(response, client, jdbc);
    }

    @Test
    void aTerminatedListenBackendIsReplacedAndTheChatCompletes() throws Exception {
        QuestionAdvice.adviseStep(camel, "step-analyze", Map.of(HELD, exchange -> RELEASE.await(30, TimeUnit.SECONDS)));
        ChatClient client = new ChatClient(port);
        CountDownLatch searchShown = new CountDownLatch(1);
        ExecutorService reader = Executors.newSingleThreadExecutor();
        try {
            Future<ChatClient.StreamResponse> stream = reader.submit(() -> client.postChat(ChatClient.chatBody("chat-listen-lost", HELD), event -> {
                if ("data-search".equals(event.type())) {
                    searchShown.countDown();
                }
            }));
            assertThat(searchShown.await(20, TimeUnit.SECONDS)).isTrue();
            assertThat(runEventsStatus(client)).isEqualTo("UP");

            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
                terminateListener();
                return "DOWN".equals(runEventsStatus(client));
            });
            // The run moves on while nobody listens: its notifications are lost for good.
            RELEASE.countDown();
            await().atMost(Duration.ofSeconds(20)).until(() -> "completed".equals(
                    jdbc.queryForObject("select status from pgflow.runs where input->>'chatId' = 'chat-listen-lost'", String.class)));
            await().atMost(Duration.ofSeconds(20)).until(() -> "UP".equals(runEventsStatus(client)));

            CompletedChat.assertCompleted(stream.get(30, TimeUnit.SECONDS), client, jdbc);
        } finally {
            RELEASE.countDown();
            reader.shutdownNow();
        }
    }

    private void terminateListener() {
        jdbc.queryForList("select pg_terminate_backend(pid) from pg_stat_activity where application_name = ?",
                Boolean.class, PgNotificationListener.APPLICATION_NAME);
    }

    private static String runEventsStatus(ChatClient client) throws Exception {
        return client.get("/actuator/health").body().path("components").path("runEvents").path("status").asText();
    }
}
