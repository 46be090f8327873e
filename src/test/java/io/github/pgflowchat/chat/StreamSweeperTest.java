package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;

/**
 * A stream nobody reads still ends at its maximum duration: the sweeper ends it with the error naming the run, and
 * the user's slot is free again.
 */
@SpringBootTest(classes = Application.class, properties = {
        "gateway.chat.max-stream-duration=1s",
        "gateway.chat.sweep-interval=200ms",
        "gateway.chat.limits.concurrent-streams=1"
})
class StreamSweeperTest {

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @Autowired
    ChatStreams chatStreams;

    @Test
    void aStreamWithoutReadersEndsAtItsMaximumDurationAndFreesTheSlot() throws Exception {
        ChatStream stream = (ChatStream) chatStreams.openRun(input("chat-unread")).get(ChatStreams.STREAM_HEADER);
        assertThat(stream.openReaders()).isZero();

        await().atMost(Duration.ofSeconds(10)).until(stream::isEnded);

        String written;
        try (InputStream replay = stream.reader(0)) {
            written = new String(replay.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(written).contains("\"type\":\"error\"").contains("run " + stream.runId()).endsWith("data: [DONE]\n\n");
        ChatStream next = (ChatStream) chatStreams.openRun(input("chat-unread-next")).get(ChatStreams.STREAM_HEADER);
        chatStreams.abandon(next);
    }

    private static Map<String, Object> input(String chatId) {
        Map<String, Object> input = new LinkedHashMap<>();
        input.put("chatId", chatId);
        input.put("userId", "user-unread");
        input.put("trigger", "submit-message");
        input.put("messageId", "m-1");
        input.put("question", "How do I run the tests?");
        input.put("history", List.of());
        return input;
    }
}
