package dev.afd.attention.scheduler;

import dev.afd.attention.kv.BlockHasher;
import dev.afd.attention.kv.BlockPool;
import dev.afd.attention.kv.BlockTable;
import dev.afd.attention.kv.KvGroup;
import dev.afd.attention.kv.KvPools;
import dev.afd.attention.kv.PagedSequenceKv;

/**
 * Prefix caching for the scheduler: a sequence about to be admitted takes up the cached blocks its tokens start with
 * instead of computing them, and the blocks a sequence fills are registered for whoever comes next. Blocks are
 * found by the {@link dev.afd.attention.kv.BlockHash} of their whole prefix and shared by reference
 * ({@link BlockPool} counts the holders); a shared block is never written.
 *
 * <p>Each {@link KvGroup} registers its blocks in its own pool under the same hashes. A hit of {@code h} blocks needs,
 * in a full-attention group, blocks {@code 0 .. h-1}; in a sliding group only those the window of the position the
 * sequence resumes at can see (vLLM's sliding-window manager likewise matches from the end). The hit taken is the
 * longest for which every group has what it needs: a sliding group whose window blocks were evicted shortens it.
 *
 * <p>At least one token is always computed, since sampling needs the logits of the last one: when a sequence's
 * tokens fill whole blocks that are all cached, its last block is copied in every group (one block's keys and
 * values) instead of shared, and only the last token is computed into the copy.
 *
 * <p>Counts lookups as vLLM does: {@link #queriedTokens} adds the tokens of every admitted sequence,
 * {@link #hitTokens} those it found cached.
 *
 * <p>Threading: not thread-safe; the scheduler's engine thread owns it.
 */
final class PrefixCache {
    private final KvPools pools;
    /** Null when prefix caching is off. */
    private final BlockHasher hasher;
    private long queriedTokens;
    private long hitTokens;

    private PrefixCache(KvPools pools, BlockHasher hasher) {
        this.pools = pools;
        this.hasher = hasher;
    }

    /** Nothing is looked up or registered: every sequence computes all of its tokens. */
    static PrefixCache off(KvPools pools) {
        return new PrefixCache(pools, null);
    }

    static PrefixCache on(KvPools pools, BlockHasher hasher) {
        if (hasher.blockSize() != pools.blockSize()) {
            throw new IllegalArgumentException("the block hasher covers " + hasher.blockSize() + " tokens per block"
                    + " but the pool's blocks hold " + pools.blockSize());
        }
        return new PrefixCache(pools, hasher);
    }

    /** The hasher new sequences hash their blocks with; null when prefix caching is off. */
    BlockHasher hasher() {
        return hasher;
    }

    /**
     * Attaches the longest run of cached blocks that {@code s}'s tokens start with and that every group can use, and
     * advances {@code s} past them. {@code s} must hold no blocks.
     *
     * @return positions taken from the cache
     */
    int attach(ScheduledSequence s) {
        if (hasher == null || s.wantsPromptRows()) {
            return 0;
        }
        int blockSize = pools.blockSize();
        int total = s.totalTokens();
        int[][] found = new int[pools.size()][total / blockSize];
        int matched = 0;
        while (matched < total / blockSize && lookUp(s, matched, found)) {
            matched++;
        }
        for (int h = matched; h > 0; h--) {
            if (windowsCached(found, h, resumesAt(h, total))) {
                int positions = take(s, found, h, total);
                if (positions >= 0) {
                    return positions;
                }
            }
        }
        s.setCommittedBlocks(0);
        return 0;
    }

    /**
     * Looks block {@code b} up in every group; whether it continues the hit, that is whether every full-attention
     * group has it (a sliding group may miss it: {@link #windowsCached} decides whether it needed it).
     */
    private boolean lookUp(ScheduledSequence s, int b, int[][] found) {
        boolean continues = true;
        for (int g = 0; g < pools.size(); g++) {
            found[g][b] = pools.pool(g).lookup(s.blockHash(b));
            continues &= found[g][b] != BlockPool.NO_BLOCK || pools.group(g).sliding();
        }
        return continues;
    }

    /** The next position a sequence computes after a hit of {@code h} blocks: the last token's when they hold all. */
    private int resumesAt(int h, int total) {
        return h * pools.blockSize() == total ? total - 1 : h * pools.blockSize();
    }

    /** Whether every sliding group has, cached, the blocks before {@code h} that a query at {@code resume} sees. */
    private boolean windowsCached(int[][] found, int h, int resume) {
        for (int g = 0; g < pools.size(); g++) {
            for (int b = pools.group(g).firstVisibleBlock(resume, pools.blockSize()); b < h; b++) {
                if (found[g][b] == BlockPool.NO_BLOCK) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Attaches a hit of {@code h} blocks to {@code s}: in each group the blocks it needs, shared, except that when
     * they hold every token the last one is copied.
     *
     * @return positions taken; -1 when the copy could not be had (nothing is then taken)
     */
    private int take(ScheduledSequence s, int[][] found, int h, int total) {
        int resume = resumesAt(h, total);
        boolean wholeSequence = h * pools.blockSize() == total;
        int shared = wholeSequence ? h - 1 : h;
        PagedSequenceKv kv = s.kv();
        for (int g = 0; g < pools.size(); g++) {
            BlockTable table = kv.table(g);
            int first = Math.min(shared, pools.group(g).firstVisibleBlock(resume, pools.blockSize()));
            table.skipTo(first);
            for (int b = first; b < shared; b++) {
                table.attach(found[g][b]);
            }
        }
        if (wholeSequence && !copyLastBlocks(kv, found, h - 1)) {
            kv.release();
            return -1;
        }
        s.setCommittedBlocks(shared);
        s.advance(resume);
        return resume;
    }

    /**
     * Appends, in every group, a private copy of cached block {@code found[g][b]}; false, taking nothing, when some
     * pool has no block to copy into.
     */
    private boolean copyLastBlocks(PagedSequenceKv kv, int[][] found, int b) {
        for (int g = 0; g < pools.size(); g++) {
            pools.pool(g).acquire(found[g][b]); // held, so that allocating cannot evict it
        }
        boolean room = true;
        for (int g = 0; g < pools.size(); g++) {
            room &= pools.pool(g).available() > 0;
        }
        for (int g = 0; g < pools.size(); g++) {
            BlockPool pool = pools.pool(g);
            if (room) {
                int copy = pool.allocate();
                pool.copy(found[g][b], copy);
                kv.table(g).append(copy);
            }
            pool.release(found[g][b]);
        }
        return room;
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

    /**
     * Registers, in every group, the blocks {@code s} has filled since it last committed, so later sequences find
     * them. Runs before the step's slide, so a sliding group's blocks are registered before they are given back.
     */
    void commit(ScheduledSequence s) {
        if (hasher == null) {
            return;
        }
        int full = s.computed() / pools.blockSize();
        for (int g = 0; g < pools.size(); g++) {
            BlockTable table = s.kv().table(g);
            for (int b = s.committedBlocks(); b < full; b++) {
                table.pool().register(table.block(b), s.blockHash(b));
            }
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
