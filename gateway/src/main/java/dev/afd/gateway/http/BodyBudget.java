package dev.afd.gateway.http;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The memory that request bodies may hold at once, shared by every connection of a server: a body is reserved as
 * its bytes are announced or arrive, and released once its handler has parsed it or its request ended.
 *
 * <p>Thread-safe: lock-free.
 */
final class BodyBudget {
    private final long limit;
    private final AtomicLong held = new AtomicLong();

    BodyBudget(long limit) {
        this.limit = limit;
    }

    /** Reserves {@code bytes}; false, reserving nothing, when that would pass the limit. */
    boolean tryReserve(long bytes) {
        while (true) {
            long now = held.get();
            if (now + bytes > limit) {
                return false;
            }
            if (held.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    void release(long bytes) {
        held.addAndGet(-bytes);
    }

    /** Bytes reserved now. */
    long held() {
        return held.get();
    }

    long limit() {
        return limit;
    }
}
