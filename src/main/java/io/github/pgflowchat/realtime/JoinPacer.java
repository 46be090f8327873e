package io.github.pgflowchat.realtime;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

import io.vertx.core.Vertx;

/**
 * A token bucket for channel joins, shared by the sockets of a {@link RealtimeSocketPool} because Realtime counts
 * joins per second per project. The bucket holds one token, refilled at {@code joinsPerSecond}: joins go out evenly
 * spaced, and no second-long window sees more than {@code joinsPerSecond + 1}. Waiting joins are sent in the order
 * they asked, except that one whose socket is backing off ({@code notBefore}) lets the others pass. Used on one Vert.x
 * context only.
 */
final class JoinPacer {

    private record Waiter(BooleanSupplier join, LongSupplier notBeforeNanos) {
    }

    private final Vertx vertx;
    private final long nanosPerToken;
    private final Deque<Waiter> waiting = new ArrayDeque<>();
    private long nextTokenAt;
    private long pausedUntil;
    private long timer = -1;

    JoinPacer(Vertx vertx, double joinsPerSecond) {
        this.vertx = vertx;
        this.nanosPerToken = (long) (1_000_000_000L / joinsPerSecond);
        this.nextTokenAt = System.nanoTime();
    }

    /** Sends {@code join} when a token and its socket allow; it answers whether it sent one (spent the token). */
    void submit(BooleanSupplier join, LongSupplier notBeforeNanos) {
        waiting.add(new Waiter(join, notBeforeNanos));
        drain();
    }

    /** Realtime said the project joins too fast: nothing is sent for {@code delay}. */
    void pause(Duration delay) {
        pausedUntil = Math.max(pausedUntil, System.nanoTime() + delay.toNanos());
        drain();
    }

    int waiting() {
        return waiting.size();
    }

    void clear() {
        waiting.clear();
        if (timer != -1) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
    }

    private void drain() {
        long now = System.nanoTime();
        long wakeAt = Long.MAX_VALUE;
        Iterator<Waiter> it = waiting.iterator();
        while (it.hasNext()) {
            long allowedAt = Math.max(nextTokenAt, pausedUntil);
            if (allowedAt > now) {
                wakeAt = Math.min(wakeAt, allowedAt);
                break;
            }
            Waiter waiter = it.next();
            long notBefore = waiter.notBeforeNanos().getAsLong();
            if (notBefore > now) {
                wakeAt = Math.min(wakeAt, notBefore);
                continue;
            }
            it.remove();
            if (waiter.join().getAsBoolean()) {
                // One token in the bucket: an idle spell does not save up a burst.
                nextTokenAt = now + nanosPerToken;
            }
        }
        schedule(waiting.isEmpty() ? Long.MAX_VALUE : wakeAt, now);
    }

    private void schedule(long wakeAt, long now) {
        if (timer != -1) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
        if (wakeAt == Long.MAX_VALUE) {
            return;
        }
        long delayMillis = Math.max(1, (wakeAt - now + 999_999) / 1_000_000);
        timer = vertx.setTimer(delayMillis, id -> {
            timer = -1;
            drain();
        });
    }
}
