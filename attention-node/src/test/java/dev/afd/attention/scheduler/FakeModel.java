package dev.afd.attention.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A stand-in for the forward pass: keeps, per sequence, the tokens fed at each position, and "predicts" a hash of
 * the whole prefix. A scheduler that skips, repeats or reorders a token changes every later prediction, so
 * comparing generated tokens with {@link #expected} checks what it fed.
 */
final class FakeModel {
    static final int VOCAB = 1000;
    /** A token that ends a sequence early, so lengths vary. */
    static final int EOS = 0;

    private final Map<ScheduledSequence, List<Integer>> cache = new IdentityHashMap<>();

    /** Runs a step: checks the positions it writes and returns, per entry, the next token or -1. */
    int[] run(Step step) {
        int[] sampled = new int[step.entries().size()];
        for (int i = 0; i < sampled.length; i++) {
            Step.Entry e = step.entries().get(i);
            List<Integer> fed = cache.computeIfAbsent(e.sequence(), s -> new ArrayList<>());
            assertThat(e.start()).as("start of %s", e.sequence().id()).isLessThanOrEqualTo(fed.size());
            if (e.start() < fed.size()) {
                assertThat(e.start()).as("%s restarts only from scratch, after a preemption", e.sequence().id())
                        .isZero();
                assertThat(e.sequence().preemptions()).isPositive();
            }
            assertThat(e.sequence().kv().capacity()).as("blocks of %s", e.sequence().id())
                    .isGreaterThanOrEqualTo(e.start() + e.tokens().length);
            fed.subList(e.start(), fed.size()).clear();
            for (int t : e.tokens()) {
                fed.add(t);
            }
            sampled[i] = e.wantLogits() ? next(fed) : -1;
        }
        return sampled;
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
