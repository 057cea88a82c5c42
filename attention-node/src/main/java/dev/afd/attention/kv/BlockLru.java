package dev.afd.attention.kv;

import java.util.Arrays;

/**
 * Block ids in least-recently-released order, with O(1) append, removal of any member and taking the oldest: an
 * intrusive doubly-linked list over two int arrays, so the pool's bookkeeping allocates nothing per block.
 *
 * <p>Threading: owned by its {@link BlockPool}'s engine thread.
 */
final class BlockLru {
    private static final int NONE = -1;
    private final int[] prev;
    private final int[] next;
    private int head = NONE;
    private int tail = NONE;
    private int size;

    BlockLru(int blocks) {
        prev = new int[blocks];
        next = new int[blocks];
        Arrays.fill(prev, NONE);
        Arrays.fill(next, NONE);
    }

    /** Adds {@code id}, which must not be in the list, as the most recently used. */
    void append(int id) {
        prev[id] = tail;
        next[id] = NONE;
        if (tail == NONE) {
            head = id;
        } else {
            next[tail] = id;
        }
        tail = id;
        size++;
    }

    /** Removes {@code id}, which must be in the list. */
    void remove(int id) {
        if (prev[id] == NONE) {
            head = next[id];
        } else {
            next[prev[id]] = next[id];
        }
        if (next[id] == NONE) {
            tail = prev[id];
        } else {
            prev[next[id]] = prev[id];
        }
        prev[id] = NONE;
        next[id] = NONE;
        size--;
    }

    /** Removes and returns the least recently used id; {@link BlockPool#NO_BLOCK} when empty. */
    int takeOldest() {
        int id = head;
        if (id != NONE) {
            remove(id);
        }
        return id;
    }

    int size() {
        return size;
    }
}
