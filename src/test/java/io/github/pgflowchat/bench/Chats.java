package io.github.pgflowchat.bench;

import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;

import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.SseEvent;

/** Full chats as the benchmarks send them; a stream that does not end with {@code finish} fails the benchmark. */
final class Chats {

    static final String QUESTION = "How do I run the tests?";
    static final List<String> STEPS = List.of("search", "analyze", "respond");

    private Chats() {
    }

    static ChatClient.StreamResponse run(ChatClient client, String chatId, Consumer<SseEvent> onEvent) throws Exception {
        return requireFinished(client.postChat(ChatClient.chatBody(chatId, QUESTION), onEvent), chatId);
    }

    static ChatClient.StreamResponse requireFinished(ChatClient.StreamResponse response, String chatId) {
        if (response.status() != 200 || !response.types().contains("finish") || response.types().contains("error")) {
            throw new IllegalStateException("stream " + chatId + " failed: HTTP " + response.status() + " " + response.types() + " " + response.comments());
        }
        return response;
    }

    static UUID runId(ChatClient.StreamResponse response) {
        return UUID.fromString(response.runId());
    }

    /** The step of a {@code data-step} part that reports it completed, or null for any other event. */
    static String completedStep(SseEvent event) {
        if ("data-step".equals(event.type()) && "completed".equals(event.json().path("data").path("status").asText())) {
            return event.json().path("data").path("step").asText();
        }
        return null;
    }
}
