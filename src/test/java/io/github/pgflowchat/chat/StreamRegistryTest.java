package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.events.RunEvent;
import io.github.pgflowchat.events.RunEventSource;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.CompletedChat;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.SseEvent;
import io.github.pgflowchat.web.ApiException;

/**
 * What the registry of chat streams guarantees whatever the event path does: a user's stream slots are taken
 * atomically, resume readers are limited per user, a stream whose terminal event never arrives still ends (and
 * frees its slot), and an SSE id names an event of one stream only.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms",
        "gateway.chat.limits.concurrent-streams=3",
        "gateway.chat.limits.concurrent-readers=4",
        "gateway.chat.sweep-interval=300ms",
        // Long enough that only the sweeper can end a stream whose terminal event was dropped.
        "gateway.events.reconcile-interval=10m"
})
@Import(StreamRegistryTest.LossyEvents.class)
class StreamRegistryTest {

    /** Whether the event source below swallows every run's terminal event. */
    static volatile boolean dropTerminalEvents;
    /** Holds each subscribe until this many have arrived (or a second passed): opens that pass the count meet here. */
    static volatile CountDownLatch subscribers = new CountDownLatch(0);

    @TestConfiguration
    static class LossyEvents {
        @Bean
        @Primary
        RunEventSource lossyRunEventSource(@Qualifier("notifyRunEventSource") RunEventSource source) {
            return new Source(source);
        }

        static final class Source implements RunEventSource {
            private final RunEventSource source;

            Source(RunEventSource source) {
                this.source = source;
            }

            @Override
            public Subscription subscribe(UUID runId, Consumer<RunEvent> listener) {
                CountDownLatch arrived = subscribers;
                arrived.countDown();
                try {
                    arrived.await(1, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return source.subscribe(runId, event -> {
                    if (!(dropTerminalEvents && event.eventType().startsWith("run:"))) {
                        listener.accept(event);
                    }
                });
            }

            @Override
            public boolean isConnected() {
                return source.isConnected();
            }
        }
    }

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;

    @Autowired
    ChatStreams chatStreams;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    RunEventSource events;

    private final List<ChatStream> opened = new ArrayList<>();

    @AfterEach
    void endWhatTheTestOpened() {
        dropTerminalEvents = false;
        subscribers = new CountDownLatch(0);
        opened.forEach(chatStreams::abandon);
    }

    @Test
    void concurrentOpensOfOneUserCannotPassTheLimitTogether() throws Exception {
        assertThat(events).as("the event source the streams subscribe to").isInstanceOf(LossyEvents.Source.class);
        int requests = 8;
        subscribers = new CountDownLatch(requests);
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(requests);
        try {
            List<Future<ChatStream>> results = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                String chatId = "chat-race-" + i;
                results.add(threads.submit(() -> {
                    start.await();
                    try {
                        return (ChatStream) chatStreams.openRun(input("user-race", chatId)).get(ChatStreams.STREAM_HEADER);
                    } catch (ApiException e) {
                        assertThat(e.status()).isEqualTo(429);
                        return null;
                    }
                }));
            }
            start.countDown();
            for (Future<ChatStream> result : results) {
                ChatStream stream = result.get(10, TimeUnit.SECONDS);
                if (stream != null) {
                    opened.add(stream);
                }
            }
        } finally {
            threads.shutdownNow();
        }
        assertThat(opened).as("streams opened by %d requests at once with a limit of 3", requests).hasSize(3);
    }

    @Test
    void resumeReadersPastTheLimitAreRefusedAndOtherUsersAreNot() throws Exception {
        ChatStream mine = (ChatStream) chatStreams.openRun(input("user-readers", "chat-readers")).get(ChatStreams.STREAM_HEADER);
        ChatStream theirs = (ChatStream) chatStreams.openRun(input("user-other", "chat-readers")).get(ChatStreams.STREAM_HEADER);
        opened.add(mine);
        opened.add(theirs);
        List<InputStream> readers = new ArrayList<>();
        List<ApiException> refused = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            try {
                readers.add(chatStreams.resume("user-readers", "chat-readers", null));
            } catch (ApiException e) {
                refused.add(e);
            }
        }
        assertThat(readers).hasSize(4);
        assertThat(refused).hasSize(8).allSatisfy(e -> {
            assertThat(e.status()).isEqualTo(429);
            assertThat(e.retryAfterSeconds()).isPositive();
        });
        InputStream others = chatStreams.resume("user-other", "chat-readers", null);
        assertThat(others).as("another user's reader").isNotNull();
        others.close();

        readers.remove(0).close();
        InputStream again = chatStreams.resume("user-readers", "chat-readers", null);
        assertThat(again).as("a closed reader gives its slot back").isNotNull();
        again.close();
        for (InputStream reader : readers) {
            reader.close();
        }
    }

    @Test
    void overHttpTheReaderPastTheLimitGets429WithRetryAfter() throws Exception {
        ChatStream live = (ChatStream) chatStreams.openRun(input("local-user", "chat-http-readers")).get(ChatStreams.STREAM_HEADER);
        opened.add(live);
        ChatClient client = new ChatClient(port);
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            List<Future<ChatClient.StreamResponse>> readers = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                readers.add(threads.submit(() -> client.resume("chat-http-readers", null)));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> live.openReaders() == 4);

            ChatClient.StreamResponse refused = client.resume("chat-http-readers", null);

            assertThat(refused.status()).isEqualTo(429);
            assertThat(refused.header("retry-after")).isNotBlank();
            chatStreams.abandon(live);
            for (Future<ChatClient.StreamResponse> reader : readers) {
                assertThat(reader.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
            }
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void aStreamWhoseTerminalEventIsLostStillEndsAndFreesItsSlot() throws Exception {
        dropTerminalEvents = true;
        ChatClient client = new ChatClient(port);
        List<ChatClient.StreamResponse> responses = new ArrayList<>();
        ExecutorService threads = Executors.newFixedThreadPool(3);
        try {
            List<Future<ChatClient.StreamResponse>> chats = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                String chatId = "chat-lost-end-" + i;
                chats.add(threads.submit(() -> client.postChat(ChatClient.chatBody(chatId, "How do I run the tests?"))));
            }
            for (Future<ChatClient.StreamResponse> chat : chats) {
                responses.add(chat.get(60, TimeUnit.SECONDS));
            }
        } finally {
            threads.shutdownNow();
        }
        for (ChatClient.StreamResponse response : responses) {
            CompletedChat.assertCompleted(response, client, jdbc);
        }
        dropTerminalEvents = false;
        ChatClient.StreamResponse fourth = client.postChat(ChatClient.chatBody("chat-lost-end-4", "How do I run the tests?"));
        assertThat(fourth.status()).as("the 4th chat once the first three have ended").isEqualTo(200);
        CompletedChat.assertCompleted(fourth, client, jdbc);
    }

    @Test
    void aLastEventIdOfAnOlderStreamOfTheChatReplaysTheNewerOneFromItsStart() throws Exception {
        ChatClient client = new ChatClient(port);
        ChatClient.StreamResponse first = client.postChat(ChatClient.chatBody("chat-two-streams", "How do I run the tests?"));
        List<SseEvent> firstEvents = first.events();
        String lastIdOfFirst = firstEvents.get(firstEvents.size() - 2).id();
        ChatClient.StreamResponse second = client.postChat(ChatClient.chatBody("chat-two-streams", "How are steps retried?"));
        assertThat(second.status()).isEqualTo(200);

        ChatClient.StreamResponse resumed = client.resume("chat-two-streams", lastIdOfFirst);

        assertThat(resumed.status()).isEqualTo(200);
        assertThat(resumed.events()).as("the newer stream, from its first event").isEqualTo(second.events());
        List<SseEvent> secondEvents = second.events();
        assertThat(client.resume("chat-two-streams", secondEvents.get(2).id()).events())
                .as("an id of the newer stream still continues after it").isEqualTo(secondEvents.subList(3, secondEvents.size()));
    }

    private static Map<String, Object> input(String userId, String chatId) {
        Map<String, Object> input = new LinkedHashMap<>();
        input.put("chatId", chatId);
        input.put("userId", userId);
        input.put("trigger", "submit-message");
        input.put("messageId", "m-1");
        input.put("question", "How do I run the tests?");
        input.put("history", List.of());
        return input;
    }
}
