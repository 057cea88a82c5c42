package dev.afd.attention.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.kv.BlockPool;
import dev.afd.attention.kv.BlockTable;
import dev.afd.attention.kv.KvGroup;
import dev.afd.attention.kv.PagedSequenceKv;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A stand-in for the forward pass that keeps its "KV cache" in the pool's blocks: each step writes the tokens it feeds
 * into the sequence's blocks (position p at offset p % blockSize of block table[p / blockSize]) and "predicts" a hash
 * of the whole prefix read back through the block table. A scheduler that skips, repeats or reorders a token, or
 * hands a sequence a block holding someone else's tokens (a wrong cache hit, a block reused while held), changes
 * every later prediction, so comparing generated tokens with {@link #expected} checks what it fed and what it
 * shared. Writing into a block another sequence also holds fails at once. With a sliding-window group (the first
 * group must attend to every position), each read of a position the window still sees checks that the sliding group's
 * block holds the same token, and reading a block the sequence gave back fails.
 */
final class FakeModel {
    static final int VOCAB = 1000;
    /** A token that ends a sequence early, so lengths vary. */
    static final int EOS = 0;

    /** Per pool and block id, the token last written at each offset. */
    private final Map<BlockPool, Map<Integer, int[]>> blocks = new IdentityHashMap<>();

    /**
     * Runs a step: writes its tokens, checks what it reads, and returns, per entry, the tokens it emits (none when it
     * wants no logits). An entry with drafts is verified greedily: a draft is kept while it equals the prediction of
     * the row before it, and the first prediction that differs, or the one after the last draft, ends the run.
     */
    int[][] run(Step step) {
        int[][] emitted = new int[step.entries().size()][];
        for (int i = 0; i < emitted.length; i++) {
            Step.Entry e = step.entries().get(i);
            PagedSequenceKv kv = e.sequence().kv();
            assertThat(kv.capacity()).as("blocks of %s", e.sequence().id())
                    .isGreaterThanOrEqualTo(e.start() + e.tokens().length);
            for (int g = 0; g < kv.pools().size(); g++) {
                for (int t = 0; t < e.tokens().length; t++) {
                    write(kv.table(g), e.sequence().id(), e.start() + t, e.tokens()[t]);
                }
            }
            List<Integer> out = new ArrayList<>();
            if (e.wantLogits()) {
                int[] drafts = e.draftTokens();
                int last = e.start() + e.tokens().length - drafts.length - 1;
                List<Integer> prefix = new ArrayList<>();
                for (int p = 0; p <= last; p++) {
                    prefix.add(read(kv, p, last));
                }
                for (int d = 0; ; d++) {
                    int t = next(prefix);
                    out.add(t);
                    if (d == drafts.length || t != drafts[d] || t == EOS) {
                        break;
                    }
                    prefix.add(read(kv, last + d + 1, last + d + 1));
                }
            }
            emitted[i] = out.stream().mapToInt(Integer::intValue).toArray();
        }
        return emitted;
    }

    private void write(BlockTable table, String id, int position, int token) {
        int size = table.pool().blockSize();
        int block = table.block(position / size);
        assertThat(table.pool().references(block)).as("%s writes position %d into a block nobody else holds", id,
                position).isEqualTo(1);
        blocks.computeIfAbsent(table.pool(), p -> new HashMap<>()).computeIfAbsent(block, b -> new int[size])
                [position % size] = token;
    }

    /**
     * The token at {@code position} as the first (full-attention) group holds it; a sliding group must hold the same
     * token wherever a query at {@code query} sees it.
     */
    private int read(PagedSequenceKv kv, int position, int query) {
        int token = tokenAt(kv.table(0), position);
        for (int g = 1; g < kv.pools().size(); g++) {
            KvGroup group = kv.pools().group(g);
            if (position >= query + 1 - group.window()) {
                assertThat(tokenAt(kv.table(g), position)).as("%s group, position %d", group.name(), position)
                        .isEqualTo(token);
            }
        }
        return token;
    }

    private int tokenAt(BlockTable table, int position) {
        int size = table.pool().blockSize();
        return blocks.get(table.pool()).get(table.block(position / size))[position % size];
    }

    static int next(List<Integer> prefix) {
        long h = 17;
        for (int t : prefix) {
            h = h * 1_000_003 + t;
        }
        return (int) Math.floorMod(h ^ (h >>> 29), (long) VOCAB);
    }

    /** The tokens an unpreempted run generates: up to {@code maxTokens}, ending at {@link #EOS}. */
    static int[] expected(int[] prompt, int maxTokens) {
        List<Integer> tokens = new ArrayList<>();
        for (int t : prompt) {
            tokens.add(t);
        }
        List<Integer> generated = new ArrayList<>();
        while (generated.size() < maxTokens) {
            int t = next(tokens);
            tokens.add(t);
            generated.add(t);
            if (t == EOS) {
                break;
            }
        }
        return generated.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Whether the engine would end {@code s} now. */
    static boolean done(ScheduledSequence s) {
        return s.generatedCount() == s.maxTokens() || s.lastGenerated() == EOS;
    }
}
