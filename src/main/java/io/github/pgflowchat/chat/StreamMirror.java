package io.github.pgflowchat.chat;

import java.util.UUID;

/**
 * A copy of a chat stream kept outside this process, so that another instance can serve a resume of it. Both methods
 * are called under the stream's lock, in the stream's order, on the token path: they must only hand the event over.
 */
public interface StreamMirror {

    /** No copy: streams can be resumed only on the instance holding them. */
    StreamMirror NONE = new StreamMirror() {
        @Override
        public void appended(UUID runId, long number, byte[] event) {
        }

        @Override
        public void ended(UUID runId, long doneNumber) {
        }
    };

    /** Event {@code number} (1, 2, …) of the run's stream was appended: its SSE bytes, {@code id:} line and all. */
    void appended(UUID runId, long number, byte[] event);

    /** The stream ended ({@code [DONE]}) after event {@code doneNumber - 1}. */
    void ended(UUID runId, long doneNumber);
}
