package dev.afd.attention.scheduler;

import dev.afd.attention.kv.BlockHasher;
import dev.afd.attention.kv.BlockPool;
import dev.afd.attention.kv.KvGroup;
import dev.afd.attention.kv.KvGroupUsage;
import dev.afd.attention.kv.KvPools;
import dev.afd.attention.kv.PagedSequenceKv;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Continuous batching over a paged KV cache: decides, step by step, which sequences run and how many tokens each
 * feeds, so that decodes never wait behind long prompts and KV memory is shared by whoever needs it now.
 *
 * <p>Each {@link #schedule()} builds a step under a token budget and a cap on running sequences:
 * <ol>
 *   <li>every running sequence that is decoding gets its one token, followed by the drafts proposed for it
 *       ({@link #propose}) as far as the budget and free blocks allow (drafts never cause a preemption);</li>
 *   <li>running sequences still prefilling get a chunk of what is left of their prompt, as much as the remaining
 *       budget (and KV memory) allows: a long prompt spreads over several steps instead of stalling decodes;</li>
 *   <li>waiting sequences are admitted in arrival order while budget, the running cap and free blocks allow.</li>
 * </ol>
 * Before a running sequence is scheduled it gets blocks for the positions it writes. When the pool is out of
 * blocks, the most recently admitted running sequence is preempted by recompute: its blocks go back to the pool,
 * its computed positions drop to zero, and it returns to the front of the waiting queue, to re-prefill its prompt
 * and the tokens it generated (which it keeps). A step that preempted admits nobody, so the freed blocks serve the
 * older sequences that needed them.
 *
 * <p>With prefix caching ({@link PrefixCache}) a sequence being admitted first takes up the cached blocks its tokens
 * start with and feeds only the rest; after every step the blocks sequences filled are registered for later ones.
 * Blocks nobody holds stay cached until {@link BlockPool#allocate()} needs them, so every count of blocks a sequence
 * could still get is of {@link BlockPool#available()} blocks, cached ones included.
 *
 * <p>With sliding-window layers the KV memory is two groups of blocks ({@link KvPools}): a sequence's full-attention
 * blocks cover every position it computed, its sliding ones only its window. After each step a sequence gives back the
 * sliding blocks its next query cannot see ({@link PagedSequenceKv#slide}), so its sliding blocks stay flat past the
 * window; every count of what fits is made per group, and a sequence fits only where every group has room.
 *
 * <p>After the engine ran a step and sampled, it reports the tokens through {@link #complete}, then ends the
 * sequences it decides are done with {@link #finish}: when a sequence ends is the engine's decision (its decoder's),
 * never the scheduler's. The scheduler only queues sequences; the engine owns them and knows them by id.
 *
 * <p>Threading: not thread-safe; the engine thread alone calls every method, between steps, except
 * {@link #requireFits}, which reads only the pools' fixed sizes and the configuration.
 */
public final class Scheduler {
    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());

    private static final int[] NO_TOKENS = new int[0];

    private final KvPools pools;
    private final SchedulerConfig config;
    private final PrefixCache prefixCache;
    private final Deque<ScheduledSequence> waiting = new ArrayDeque<>();
    /** Admission order, oldest first: preemption takes from the end. */
    private final List<ScheduledSequence> running = new ArrayList<>();
    private long preemptions;
    /** The step handed out and not yet completed or cancelled. */
    private Step pending;

    /** A scheduler without prefix caching over one pool (a single full-attention group). */
    public Scheduler(BlockPool pool, SchedulerConfig config) {
        this(KvPools.single(pool), config);
    }

    /** A scheduler with prefix caching over one pool (a single full-attention group). */
    public Scheduler(BlockPool pool, SchedulerConfig config, BlockHasher hasher) {
        this(KvPools.single(pool), config, hasher);
    }

    /** A scheduler without prefix caching. */
    public Scheduler(KvPools pools, SchedulerConfig config) {
        this(pools, config, PrefixCache.off(pools));
    }

    /** A scheduler whose sequences share cached prefix blocks, found by {@code hasher}'s block hashes. */
    public Scheduler(KvPools pools, SchedulerConfig config, BlockHasher hasher) {
        this(pools, config, PrefixCache.on(pools, hasher));
    }

    private Scheduler(KvPools pools, SchedulerConfig config, PrefixCache prefixCache) {
        this.pools = pools;
        this.config = config;
        this.prefixCache = prefixCache;
    }

    /**
     * Queues a request.
     *
     * @param id the engine's name for the request, for messages and logs
     * @throws IllegalArgumentException for an empty prompt, {@code maxTokens < 1}, or a request that needs more KV
     *     blocks than the whole pool holds
     */
    public ScheduledSequence add(String id, int[] prompt, int maxTokens) {
        return add(id, prompt, maxTokens, false);
    }

    /**
     * Queues a request.
     *
     * @param promptRows the engine needs the logits of every prompt row (prompt log-probabilities): the sequence
     *     computes its whole prompt, taking nothing from the prefix cache
     * @throws IllegalArgumentException as {@link #add(String, int[], int)}
     */
    public ScheduledSequence add(String id, int[] prompt, int maxTokens, boolean promptRows) {
        Objects.requireNonNull(id, "id");
        requireFits(id, prompt.length, maxTokens);
        ScheduledSequence s = new ScheduledSequence(id, prompt, maxTokens, new PagedSequenceKv(pools),
                prefixCache.hasher(), promptRows);
        waiting.addLast(s);
        return s;
    }

    /**
     * The admission check: whether a request could ever run here, alone with the whole pool. The engine calls it on
     * the submitting thread, to refuse at once; {@link #add} calls it again. Safe from any thread. In a sliding group a
     * sequence holds at most its window and a step's chunk ({@link KvGroup#blocksNeeded}).
     *
     * @throws IllegalArgumentException for an empty prompt, {@code maxTokens < 1}, or more KV blocks than a group's
     *     pool
     */
    public void requireFits(String id, int promptLength, int maxTokens) {
        if (promptLength == 0) {
            throw new IllegalArgumentException("request " + id + " has an empty prompt: give at least one token");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("request " + id + ": max_tokens must be at least 1, got " + maxTokens);
        }
        // The last generated token is returned, never fed: it needs no position.
        long positions = (long) promptLength + maxTokens - 1;
        for (int g = 0; g < pools.size(); g++) {
            KvGroup group = pools.group(g);
            long needed = group.blocksNeeded(positions, config.maxBatchedTokens(), pools.blockSize());
            int total = pools.pool(g).total();
            if (needed > total) {
                throw new IllegalArgumentException("request " + id + " can never fit: its prompt (" + promptLength
                        + " tokens) plus max_tokens (" + maxTokens + ") needs " + needed + " KV blocks of "
                        + pools.blockSize() + " positions" + (pools.size() > 1 ? " in the " + group.name()
                        + "-attention group" : "") + ", but the whole pool holds " + total
                        + "; lower max_tokens or the prompt, or give the node more KV memory (--kv-memory-mb)");
            }
        }
    }

    /**
     * Builds the next step. An empty step means there is nothing to run; otherwise the step must be passed to
     * {@link #complete} (or {@link #cancel}) before the next call.
     */
    public Step schedule() {
        if (pending != null) {
            throw new IllegalStateException("the previous step was neither completed nor cancelled: report it"
                    + " before scheduling the next one");
        }
        StepBuilder step = new StepBuilder(config.maxBatchedTokens());
        for (int i = 0; i < running.size() && step.budget > 0; i++) {
            ScheduledSequence s = running.get(i);
            if (s.generatedCount() == s.maxTokens()) {
                throw new IllegalStateException("sequence " + s.id() + " generated its " + s.maxTokens()
                        + " tokens but was not finished: call finish() after complete()");
            }
            if (s.remaining() == 1) {
                int drafts = draftsThatFit(s, step);
                if (reserve(s, s.computed() + 1 + drafts, step)) {
                    step.add(s, 1, drafts);
                }
            }
        }
        for (int i = 0; i < running.size() && step.budget > 0; i++) {
            ScheduledSequence s = running.get(i);
            if (s.remaining() > 1) {
                int chunk = prefillChunk(s, step);
                if (chunk > 0) {
                    step.add(s, chunk, 0);
                }
            }
        }
        if (!step.preempted) {
            admit(step);
        }
        Step built = step.build();
        pending = built.isEmpty() ? null : built;
        return built;
    }

    /**
     * How many of a decoding sequence's drafts it feeds this step: as many as the budget (after its own token) and
     * the free blocks allow. Drafts never preempt anyone: when not even one fits, the sequence decodes plain.
     */
    private int draftsThatFit(ScheduledSequence s, StepBuilder step) {
        return Math.max(0, Math.min(s.drafts().length, Math.min(step.budget - 1, room(s) - 1)));
    }

    /**
     * The chunk a running, prefilling sequence feeds this step, with blocks already reserved for it; 0 when it was
     * preempted instead. A chunk shrinks to the blocks the pool can spare; only when not a single position fits does
     * it preempt.
     */
    private int prefillChunk(ScheduledSequence s, StepBuilder step) {
        if (room(s) == 0 && !reserve(s, s.computed() + 1, step)) {
            return 0;
        }
        int chunk = Math.min(Math.min(s.remaining(), step.budget), room(s));
        if (!s.kv().ensureCapacity(s.computed() + chunk)) {
            throw new IllegalStateException("KV blocks for " + chunk + " positions of sequence " + s.id()
                    + " vanished between counting and allocating");
        }
        return chunk;
    }

    /**
     * Positions {@code s} could write beyond its computed ones with the blocks it holds plus every free block, in the
     * group with the least room.
     */
    private int room(ScheduledSequence s) {
        return (int) Math.min(Integer.MAX_VALUE, s.kv().reachable() - s.computed());
    }

    /**
     * Gets {@code s} blocks for {@code positions} positions, preempting the most recently admitted running sequences
     * until they fit.
     *
     * @return false when {@code s} itself had to be preempted
     */
    private boolean reserve(ScheduledSequence s, int positions, StepBuilder step) {
        while (!s.kv().ensureCapacity(positions)) {
            ScheduledSequence victim = running.getLast();
            preempt(victim, step);
            if (victim == s) {
                return false;
            }
        }
        return true;
    }

    private void preempt(ScheduledSequence victim, StepBuilder step) {
        running.removeLast();
        step.remove(victim);
        victim.preempt();
        waiting.addFirst(victim);
        preemptions++;
        LOG.log(Level.DEBUG, () -> "preempted " + victim.id() + " (" + victim.totalTokens() + " tokens to recompute;"
                + " " + usage() + ")");
    }

    /**
     * Admits waiting sequences in arrival order, each starting after the prefix it found cached; stops at the first
     * one whose first chunk does not fit (which then gives its cached blocks back, so a waiting sequence holds none).
     */
    private void admit(StepBuilder step) {
        while (!waiting.isEmpty() && step.budget > 0 && running.size() < config.maxRunningSequences()) {
            ScheduledSequence s = waiting.peekFirst();
            int hit = prefixCache.attach(s);
            int chunk = Math.min(s.remaining(), step.budget);
            if (!s.kv().ensureCapacity(s.computed() + chunk)) {
                s.dropCache();
                return;
            }
            prefixCache.countLookup(s, hit);
            waiting.removeFirst();
            s.setState(SequenceState.RUNNING);
            running.add(s);
            step.add(s, chunk, 0);
        }
    }

    /**
     * Records a step the engine ran: each entry that wanted logits appends {@code appended[i]}, the tokens the engine
     * emitted for entry {@code i} (at least one; values of other entries are ignored). A sequence advances over the
     * positions it fed, except that an entry with drafts advances only over its last token and the drafts that were
     * accepted (the leading appended tokens that are not the last): the keys and values written for rejected drafts
     * lie past {@link ScheduledSequence#computed()}, where the next step overwrites them, and the blocks that hold
     * nothing else go back to the pool, so the prefix cache never registers them. Drafts are used once: the engine
     * proposes again with {@link #propose}. Sequences aborted since {@link #schedule()} are skipped.
     */
    public void complete(Step step, int[][] appended) {
        requirePending(step);
        List<Step.Entry> entries = step.entries();
        if (appended.length != entries.size()) {
            throw new IllegalArgumentException("the step has " + entries.size() + " entries but tokens for "
                    + appended.length + " were reported");
        }
        for (int i = 0; i < entries.size(); i++) {
            Step.Entry e = entries.get(i);
            int count = appended[i] == null ? 0 : appended[i].length;
            if (e.wantLogits() && e.sequence().state() == SequenceState.RUNNING
                    && (count < 1 || count > e.drafts() + 1)) {
                throw new IllegalArgumentException("entry " + i + " (sequence " + e.sequence().id() + ") with "
                        + e.drafts() + " drafts must get 1 to " + (e.drafts() + 1) + " tokens, got " + count);
            }
        }
        pending = null;
        for (int i = 0; i < entries.size(); i++) {
            Step.Entry e = entries.get(i);
            ScheduledSequence s = e.sequence();
            if (s.state() != SequenceState.RUNNING) {
                continue;
            }
            s.setDrafts(NO_TOKENS);
            if (e.drafts() > 0) {
                s.advance(appended[i].length);
                s.kv().truncate(s.computed());
            } else {
                s.advance(e.tokens().length);
            }
            if (e.wantLogits()) {
                for (int token : appended[i]) {
                    s.append(token);
                }
            }
            // After appending: accepted drafts are computed positions whose tokens are only now the sequence's.
            prefixCache.commit(s);
            // After registering: a sliding group's blocks that leave the window stay cached for later hits.
            s.kv().slide(s.computed());
        }
    }

    /**
     * Drafts for a running, decoding sequence to verify in its next step, after its last token. The scheduler feeds
     * as many as fit the budget and the free blocks, and forgets them after that step (or a preemption).
     *
     * @throws IllegalArgumentException when the drafts could take the sequence past its {@code max_tokens}
     */
    public void propose(ScheduledSequence s, int[] drafts) {
        if (s.state() != SequenceState.RUNNING || s.remaining() != 1) {
            throw new IllegalStateException("sequence " + s.id() + " is not decoding: only a running sequence with"
                    + " all but its last token computed can verify drafts");
        }
        int room = s.maxTokens() - s.generatedCount() - 1;
        if (drafts.length > room) {
            throw new IllegalArgumentException("sequence " + s.id() + " may generate " + room + " more tokens after"
                    + " its next one, so it cannot verify " + drafts.length + " drafts");
        }
        s.setDrafts(drafts);
    }

    /**
     * Forgets a step the engine could not run: no sequence advances, and positions it may have written are written
     * again when those sequences are next scheduled.
     */
    public void cancel(Step step) {
        requirePending(step);
        pending = null;
    }

    private void requirePending(Step step) {
        if (step != pending) {
            throw new IllegalStateException("this step is not the one scheduled last, or it was already reported");
        }
    }

    /**
     * Ends a live sequence the engine decided is done (end-of-sequence, stop token, or max tokens) and returns its
     * blocks.
     */
    public void finish(ScheduledSequence s) {
        if (!s.isLive()) {
            throw new IllegalStateException("sequence " + s.id() + " is not live (state " + s.state()
                    + "): it cannot be finished");
        }
        remove(s, SequenceState.FINISHED);
    }

    /**
     * Removes a waiting or running sequence at once and returns its blocks.
     *
     * @return whether the sequence was live (false when it had already finished or been aborted)
     */
    public boolean abort(ScheduledSequence s) {
        if (!s.isLive()) {
            return false;
        }
        remove(s, SequenceState.ABORTED);
        return true;
    }

    private void remove(ScheduledSequence s, SequenceState end) {
        if (s.state() == SequenceState.RUNNING) {
            running.remove(s);
        } else {
            waiting.remove(s);
        }
        s.kv().release();
        s.setState(end);
    }

    /** Whether any request is waiting or running. */
    public boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    /** Waiting sequences, next to admit first (a copy). */
    public List<ScheduledSequence> waiting() {
        return List.copyOf(waiting);
    }

    /** Running sequences, oldest admission first (a copy). */
    public List<ScheduledSequence> running() {
        return List.copyOf(running);
    }

    public SchedulerStats stats() {
        List<KvGroupUsage> groups = usage();
        long evictions = IntStream.range(0, pools.size()).mapToLong(g -> pools.pool(g).evictions()).sum();
        return new SchedulerStats(waiting.size(), running.size(), groups.stream().mapToInt(KvGroupUsage::used).sum(),
                groups.stream().mapToInt(KvGroupUsage::free).sum(),
                groups.stream().mapToInt(KvGroupUsage::cached).sum(), preemptions, prefixCache.queriedTokens(),
                prefixCache.hitTokens(), evictions, groups);
    }

    private List<KvGroupUsage> usage() {
        return IntStream.range(0, pools.size()).mapToObj(g -> KvGroupUsage.of(pools, g)).toList();
    }

    public KvPools pools() {
        return pools;
    }

    /** The step under construction: its entries by sequence, and the token budget left. */
    private static final class StepBuilder {
        final Map<ScheduledSequence, Step.Entry> entries = new LinkedHashMap<>();
        int budget;
        boolean preempted;

        StepBuilder(int budget) {
            this.budget = budget;
        }

        /** Adds {@code count} of the sequence's own tokens, then the first {@code drafts} of its drafts. */
        void add(ScheduledSequence s, int count, int drafts) {
            int start = s.computed();
            int end = start + count;
            int[] tokens = s.tokens(start, end);
            if (drafts > 0) {
                tokens = Arrays.copyOf(tokens, count + drafts);
                System.arraycopy(s.drafts(), 0, tokens, count, drafts);
            }
            entries.put(s, new Step.Entry(s, tokens, start, end == s.totalTokens(), drafts));
            budget -= tokens.length;
        }

        /** Drops a preempted sequence's entry, if it had one, and gives its tokens back to the budget. */
        void remove(ScheduledSequence s) {
            Step.Entry e = entries.remove(s);
            if (e != null) {
                budget += e.tokens().length;
            }
            preempted = true;
        }

        Step build() {
            return new Step(List.copyOf(entries.values()));
        }
    }
}
