package dev.afd.attention.scheduler;

import dev.afd.attention.kv.BlockHasher;
import dev.afd.attention.kv.BlockPool;
import dev.afd.attention.kv.PagedSequenceKv;

/**
 * Prefix caching for the scheduler: a sequence about to be admitted takes up the cached blocks its tokens start with
 * instead of computing them, and the blocks a sequence fills are registered for whoever comes next. Blocks are
 * found by the {@link dev.afd.attention.kv.BlockHash} of their whole prefix and shared by reference
 * ({@link BlockPool} counts the holders); a shared block is never written.
 *
 * <p>At least one token is always computed, since sampling needs the logits of the last one: when a sequence's
 * tokens fill whole blocks that are all cached, its last block is copied (one block's keys and values) instead of
 * shared, and only the last token is computed into the copy.
 *
 * <p>Counts lookups as vLLM does: {@link #queriedTokens} adds the tokens of every admitted sequence,
 * {@link #hitTokens} those it found cached.
 *
 * <p>Threading: not thread-safe; the scheduler's engine thread owns it.
 */
final class PrefixCache {
    private final BlockPool pool;
    /** Null when prefix caching is off. */
    private final BlockHasher hasher;
    private long queriedTokens;
    private long hitTokens;

    private PrefixCache(BlockPool pool, BlockHasher hasher) {
        this.pool = pool;
        this.hasher = hasher;
    }

    /** Nothing is looked up or registered: every sequence computes all of its tokens. */
    static PrefixCache off(BlockPool pool) {
        return new PrefixCache(pool, null);
    }

    static PrefixCache on(BlockPool pool, BlockHasher hasher) {
        if (hasher.blockSize() != pool.blockSize()) {
            throw new IllegalArgumentException("the block hasher covers " + hasher.blockSize() + " tokens per block"
                    + " but the pool's blocks hold " + pool.blockSize());
        }
        return new PrefixCache(pool, hasher);
    }

    /** The hasher new sequences hash their blocks with; null when prefix caching is off. */
    BlockHasher hasher() {
        return hasher;
    }

    /**
     * Attaches the longest run of cached blocks that {@code s}'s tokens start with, and advances {@code s} past
     * them. {@code s} must hold no blocks.
     *
     * @return positions taken from the cache
     */
    int attach(ScheduledSequence s) {
        if (hasher == null || s.wantsPromptRows()) {
            return 0;
        }
        int total = s.totalTokens();
        int[] found = new int[total / pool.blockSize()];
        int matched = 0;
        while (matched < found.length && (found[matched] = pool.lookup(s.blockHash(matched))) != BlockPool.NO_BLOCK) {
            matched++;
        }
        boolean wholeSequence = matched * pool.blockSize() == total;
        int shared = wholeSequence ? matched - 1 : matched;
        PagedSequenceKv kv = s.kv();
        for (int b = 0; b < shared; b++) {
            kv.attach(found[b]);
        }
        int positions = shared * pool.blockSize();
        if (wholeSequence && matched > 0 && copyLastBlock(kv, found[matched - 1])) {
            positions = total - 1;
        }
        s.setCommittedBlocks(shared);
        s.advance(positions);
        return positions;
    }

    /** Appends a private copy of cached block {@code source} to {@code kv}; false when no block can be had. */
    private boolean copyLastBlock(PagedSequenceKv kv, int source) {
        pool.acquire(source); // held, so that allocating cannot evict it
        int copy = pool.allocate();
        if (copy != BlockPool.NO_BLOCK) {
            pool.copy(source, copy);
            kv.append(copy);
        }
        pool.release(source);
        return copy != BlockPool.NO_BLOCK;
    }

    /**
     * Counts the lookup of sequence {@code s}, admitted with {@code hit} of its tokens from the cache; a sequence that
     * looked nothing up (it wants its prompt rows) is not counted.
     */
    void countLookup(ScheduledSequence s, int hit) {
        if (hasher != null && !s.wantsPromptRows()) {
            queriedTokens += s.totalTokens();
            hitTokens += hit;
        }
    }

    /** Registers the blocks {@code s} has filled since it last committed, so later sequences find them. */
    void commit(ScheduledSequence s) {
        if (hasher == null) {
            return;
        }
        int full = s.computed() / pool.blockSize();
        for (int b = s.committedBlocks(); b < full; b++) {
            pool.register(s.kv().block(b), s.blockHash(b));
        }
        s.setCommittedBlocks(full);
    }

    long queriedTokens() {
        return queriedTokens;
    }

    long hitTokens() {
        return hitTokens;
    }
}
