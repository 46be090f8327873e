package io.github.pgflowchat.events;

import java.util.UUID;
import java.util.function.Consumer;

/**
 * Where a run's pgflow events come from: PostgreSQL NOTIFY locally, Supabase Realtime when configured. The chat
 * stream cannot tell them apart. Subscribe before the run starts (pgflow takes a caller-chosen run id) so no event
 * is missed; each event of the run reaches the listener once, in the order pgflow committed them.
 */
public interface RunEventSource {

    /**
     * Whether the events come from Supabase Realtime: {@code gateway.events.source=supabase}, or {@code auto} with a
     * Supabase URL configured (a condition expression; NOTIFY is the source otherwise).
     */
    String REALTIME_SELECTED = "'${gateway.events.source}' == 'supabase' or "
            + "('${gateway.events.source}' == 'auto' and !'${gateway.realtime.url:}'.isBlank())";

    Subscription subscribe(UUID runId, Consumer<RunEvent> listener);

    /** Whether events currently flow (for health); a source that is down must still deliver what it missed later. */
    boolean isConnected();

    interface Subscription extends AutoCloseable {
        @Override
        void close();
    }
}
