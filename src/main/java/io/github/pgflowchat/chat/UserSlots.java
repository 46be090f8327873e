package io.github.pgflowchat.chat;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A number of things each user may hold at once (open streams, resume readers), counted per user: checking the
 * count and taking a slot is one atomic step, so concurrent requests cannot both pass the last free slot.
 */
final class UserSlots {

    private final int limit;
    private final Map<String, Integer> held = new ConcurrentHashMap<>();

    UserSlots(int limit) {
        this.limit = limit;
    }

    int limit() {
        return limit;
    }

    /** Takes a slot for the user, or returns false when all of theirs are held. */
    boolean tryTake(String userId) {
        boolean[] taken = {false};
        held.compute(userId, (id, count) -> {
            int current = count == null ? 0 : count;
            if (current >= limit) {
                return count;
            }
            taken[0] = true;
            return current + 1;
        });
        return taken[0];
    }

    /** Gives back a slot taken with {@link #tryTake}; a user holding none leaves the map. */
    void release(String userId) {
        held.computeIfPresent(userId, (id, count) -> count <= 1 ? null : count - 1);
    }
}
