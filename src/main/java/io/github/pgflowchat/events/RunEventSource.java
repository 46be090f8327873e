package io.github.pgflowchat.events;

import java.util.UUID;
import java.util.function.Consumer;

import io.github.pgflowchat.pgflow.CommittedSteps;

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

    /**
     * Where this instance's worker reports the steps it starts and completes as it commits them, so that the runs
     * followed here show them without waiting for the source; a source that takes none still delivers them later.
     */
    default CommittedSteps committedSteps() {
        return CommittedSteps.NONE;
    }

    interface Subscription extends AutoCloseable {
        @Override
        void close();
    }
}
