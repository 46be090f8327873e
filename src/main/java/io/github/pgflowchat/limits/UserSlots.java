package io.github.pgflowchat.limits;

import java.util.Optional;

/**
 * A number of things of one kind each user may hold at once (open chat streams, resume readers), counted where
 * {@link Limits} counts: across instances in the shared store, or on this instance while that store fails or with
 * {@code gateway.limits.store=local}. Counting and taking are one atomic step, so two requests (on one instance or
 * two) cannot both take the last free slot.
 */
public final class UserSlots {

    private final Limits limits;
    private final String kind;
    private final int limit;

    UserSlots(Limits limits, String kind, int limit) {
        this.limits = limits;
        this.kind = kind;
        this.limit = limit;
    }

    public int limit() {
        return limit;
    }

    /** A slot for the user, to {@link SlotLease#release()} when done, or empty when all of theirs are held. */
    public Optional<SlotLease> tryTake(String userId) {
        return limits.tryTake(kind, userId, limit);
    }
}
