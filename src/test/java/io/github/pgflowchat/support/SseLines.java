package io.github.pgflowchat.support;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Reads the lines of an SSE body as they arrive, whether they come from a blocking or an asynchronous HTTP client:
 * events (with their id and data) and comments, each handed to {@code onEvent} as soon as it is complete.
 */
final class SseLines {

    private final Consumer<SseEvent> onEvent;
    private final boolean streamExpected;
    private final List<SseEvent> events = new ArrayList<>();
    private final List<String> comments = new ArrayList<>();
    private String id;
    private StringBuilder data;

    /** With {@code streamExpected} (a 200 answer) a line that is not SSE is an error; otherwise it is kept as a comment. */
    SseLines(Consumer<SseEvent> onEvent, boolean streamExpected) {
        this.onEvent = onEvent;
        this.streamExpected = streamExpected;
    }

    void accept(String line) {
        if (line.isEmpty()) {
            if (data != null) {
                String text = data.toString();
                SseEvent event = new SseEvent(id, text, text.equals("[DONE]") ? null : ChatClient.readJson(text));
                events.add(event);
                onEvent.accept(event);
            }
            id = null;
            data = null;
        } else if (line.startsWith(":")) {
            comments.add(line);
            onEvent.accept(new SseEvent(null, line, null));
        } else if (line.startsWith("id: ")) {
            id = line.substring(4);
        } else if (line.startsWith("data: ")) {
            data = data == null ? new StringBuilder(line.substring(6)) : data.append('\n').append(line.substring(6));
        } else if (streamExpected) {
            throw new AssertionError("not an SSE line: " + line);
        } else {
            comments.add(line);
        }
    }

    List<SseEvent> events() {
        return events;
    }

    List<String> comments() {
        return comments;
    }
}
