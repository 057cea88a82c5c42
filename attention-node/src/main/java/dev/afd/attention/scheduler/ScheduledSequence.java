package dev.afd.attention.scheduler;

import dev.afd.attention.kv.BlockHash;
import dev.afd.attention.kv.BlockHashChain;
import dev.afd.attention.kv.BlockHasher;
import dev.afd.attention.kv.PagedSequenceKv;
import java.util.Arrays;

/**
 * One request as the scheduler tracks it: its tokens (prompt, then those generated so far), how many leading
 * positions are in its KV cache ({@link #computed()}), and its blocks.
 *
 * <p>The next token to feed is always token {@link #computed()}: while {@link #remaining()} exceeds 1 the sequence
 * is prefilling (its prompt, or after a preemption its prompt and generated tokens again); at 1 it is decoding its
 * last generated token, followed by its {@link #drafts()} when a drafter proposed some. With prefix caching, its leading {@link #committedBlocks()} blocks were offered to the
 * prefix cache: attached from it, or computed here and registered (unless a twin was registered first).
 *
 * <p>It does not decide when the sequence ends: the engine's decoder does, and the engine reports it through
 * {@link Scheduler#finish}. {@link #maxTokens()} only bounds the KV blocks the sequence may need.
 *
 * <p>Threading: owned by the scheduler's engine thread; other threads must not read it.
 */
public final class ScheduledSequence {
    private final String id;
    private final int[] prompt;
    private final int maxTokens;
    private final PagedSequenceKv kv;
    /** Hashes of the full blocks; null without prefix caching. */
    private final BlockHashChain hashes;
    /** Whether every prompt row's logits are wanted (prompt log-probabilities). */
    private final boolean promptRows;
    private int[] generated;
    private int generatedCount;
    private int computed;
    private int preemptions;
    private int committedBlocks;
    /** Tokens proposed to follow the last one, fed with it in the next decode step (speculative decoding). */
    private int[] drafts = NO_DRAFTS;
    private SequenceState state = SequenceState.WAITING;

    private static final int[] NO_DRAFTS = new int[0];

    /**
     * @param hasher hashes full blocks for prefix caching; null without it
     * @param promptRows whether the engine wants the logits of every prompt row
     */
    ScheduledSequence(String id, int[] prompt, int maxTokens, PagedSequenceKv kv, BlockHasher hasher,
            boolean promptRows) {
        this.promptRows = promptRows;
        this.id = id;
        this.prompt = prompt.clone();
        this.maxTokens = maxTokens;
        this.kv = kv;
        this.hashes = hasher == null ? null : new BlockHashChain(hasher, this::tokenAt);
        this.generated = new int[Math.min(maxTokens, 8)];
    }

    public String id() {
        return id;
    }

    /** Whether the engine wants the logits of every prompt row: such a sequence takes nothing from the cache. */
    public boolean wantsPromptRows() {
        return promptRows;
    }

    public int promptLength() {
        return prompt.length;
    }

    /** A copy of the prompt. */
    public int[] prompt() {
        return prompt.clone();
    }

    public int maxTokens() {
        return maxTokens;
    }

    public int generatedCount() {
        return generatedCount;
    }

    /** A copy of the tokens generated so far. */
    public int[] generated() {
        return Arrays.copyOf(generated, generatedCount);
    }

    /** The most recently generated token; -1 when none was generated yet. */
    public int lastGenerated() {
        return generatedCount == 0 ? -1 : generated[generatedCount - 1];
    }

    /** Prompt length plus tokens generated. */
    public int totalTokens() {
        return prompt.length + generatedCount;
    }

    /** Positions whose keys and values are in the cache. */
    public int computed() {
        return computed;
    }

    /** Tokens still to feed before the next token can be sampled. */
    public int remaining() {
        return totalTokens() - computed;
    }

    /** Times this sequence was preempted. */
    public int preemptions() {
        return preemptions;
    }

    public SequenceState state() {
        return state;
    }

    /** Waiting or running: neither finished nor aborted. */
    public boolean isLive() {
        return state == SequenceState.WAITING || state == SequenceState.RUNNING;
    }

    public PagedSequenceKv kv() {
        return kv;
    }

    /** Leading full blocks already offered to the prefix cache (attached from it, or registered once computed). */
    public int committedBlocks() {
        return committedBlocks;
    }

    /** The drafts proposed for the next decode step (a copy); none unless set since the last step. */
    public int[] drafts() {
        return drafts.clone();
    }

    /** Prompt followed by every generated token (a copy). */
    public int[] allTokens() {
        return tokens(0, totalTokens());
    }

    /** Tokens at positions {@code [from, to)} of prompt-then-generated. */
    int[] tokens(int from, int to) {
        int[] out = new int[to - from];
        for (int p = from; p < to; p++) {
            out[p - from] = tokenAt(p);
        }
        return out;
    }

    private int tokenAt(int position) {
        return position < prompt.length ? prompt[position] : generated[position - prompt.length];
    }

    /** The hash of full block {@code block}; only with prefix caching. */
    BlockHash blockHash(int block) {
        return hashes.get(block);
    }

    void setCommittedBlocks(int blocks) {
        committedBlocks = blocks;
    }

    void append(int token) {
        if (generatedCount == generated.length) {
            generated = Arrays.copyOf(generated, Math.min(maxTokens, 2 * generated.length));
        }
        generated[generatedCount++] = token;
    }

    void advance(int positions) {
        computed += positions;
    }

    void setDrafts(int[] drafts) {
        this.drafts = drafts.length == 0 ? NO_DRAFTS : drafts.clone();
    }

    /** Drops the cache: everything is recomputed from position 0; generated tokens stay. */
    void preempt() {
        drafts = NO_DRAFTS;
        dropCache();
        preemptions++;
        state = SequenceState.WAITING;
    }

    /** Releases every block: nothing of the sequence is in its cache any more. */
    void dropCache() {
        kv.release();
        computed = 0;
        committedBlocks = 0;
    }

    void setState(SequenceState state) {
        this.state = state;
    }
}
