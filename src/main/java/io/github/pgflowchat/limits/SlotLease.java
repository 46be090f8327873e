package io.github.pgflowchat.limits;

import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One slot held by a user (an open stream, a resume reader): held until {@link #release()}, which may be called more
 * than once. While held, its instance renews its lease in the shared store.
 */
public final class SlotLease {

    private final UUID id;
    private final String kind;
    private final String userId;
    private final Limits owner;
    private final AtomicBoolean released = new AtomicBoolean();

    SlotLease(UUID id, String kind, String userId, Limits owner) {
        this.id = id;
        this.kind = kind;
        this.userId = userId;
        this.owner = owner;
    }

    public UUID id() {
        return id;
    }

    public String kind() {
        return kind;
    }

    public String userId() {
        return userId;
    }

    /** Gives the slot back; only the first call does anything. */
    public void release() {
        if (released.compareAndSet(false, true) && owner != null) {
            owner.release(this);
        }
    }

    /** A lease as a store sees it, for the store tests: no owner, nothing happens on release. */
    public static SlotLease of(UUID id, String kind, String userId) {
        return new SlotLease(id, kind, userId, null);
    }
}
