package dev.afd.model.grammar;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One sequence's grammar: which tokens may come next, and the state after each chosen token. The tokens a state
 * allows are found by walking the vocabulary's trie with the matcher, pruning every prefix the grammar refuses, and
 * are kept per state (the recent {@link #CACHED_MASKS}), since decoding returns to the same states over and over
 * (inside a string, between values).
 *
 * <p>Each allowed token comes with the fewest bytes still needed to finish after it, so that the sequence can be
 * steered to finish within its token budget: a token is only allowed while the rest still fits, one byte a token.
 *
 * <p>Not thread-safe: one sequence, one engine thread.
 */
public final class GrammarConstraint {
    static final int CACHED_MASKS = 64;

    private final GrammarMatcher matcher;
    private final Vocabulary vocabulary;
    private final int[] endIds;
    private final Map<GrammarMatcher.State, Mask> masks = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<GrammarMatcher.State, Mask> eldest) {
            return size() > CACHED_MASKS;
        }
    };
    private GrammarMatcher.State state;

    /** Tokens a state allows, and for each the fewest bytes needed to finish after it. */
    private record Mask(int[] tokens, int[] distances) {}

    /** @param endIds the ids that end the sequence (end-of-sequence and stop ids): allowed once the grammar accepts */
    public GrammarConstraint(Grammar grammar, Vocabulary vocabulary, Set<Integer> endIds) {
        this.matcher = new GrammarMatcher(grammar);
        this.vocabulary = vocabulary;
        this.endIds = endIds.stream().mapToInt(Integer::intValue).filter(t -> t < vocabulary.size()).sorted()
                .toArray();
        this.state = matcher.start();
    }

    /**
     * The tokens allowed next, ascending, given that at most {@code budget} more tokens may follow this one. When no
     * token lets the sentence finish in time, those that get closest.
     */
    public int[] allowed(int budget) {
        Mask m = masks.computeIfAbsent(state, this::walk);
        if (m.tokens.length == 0) {
            // Only a grammar whose sentences no token can spell gets here: end rather than emit anything.
            return endIds.clone();
        }
        int[] out = new int[m.tokens.length];
        int count = 0;
        int best = Integer.MAX_VALUE;
        for (int d : m.distances) {
            best = Math.min(best, d);
        }
        int limit = Math.max(budget, best);
        for (int i = 0; i < m.tokens.length; i++) {
            if (m.distances[i] <= limit) {
                out[count++] = m.tokens[i];
            }
        }
        return Arrays.copyOf(out, count);
    }

    private Mask walk(GrammarMatcher.State from) {
        int[] tokens = new int[64];
        int[] distances = new int[64];
        int count = 0;
        if (from.accepting()) {
            for (int t : endIds) {
                if (count == tokens.length) {
                    tokens = Arrays.copyOf(tokens, count * 2);
                    distances = Arrays.copyOf(distances, count * 2);
                }
                tokens[count] = t;
                distances[count++] = 0;
            }
        }
        Vocabulary v = vocabulary;
        GrammarMatcher.State[] path = new GrammarMatcher.State[v.maxDepth + 1];
        path[0] = from;
        int nodes = v.trieByte.length;
        for (int i = 0; i < nodes; ) {
            int depth = v.trieDepth[i];
            GrammarMatcher.State next = matcher.advance(path[depth - 1], v.trieByte[i] & 0xFF);
            if (next.dead()) {
                i = v.trieSkip[i];
                continue;
            }
            path[depth] = next;
            for (int k = v.trieTokenStart[i]; k < v.trieTokenStart[i + 1]; k++) {
                if (count == tokens.length) {
                    tokens = Arrays.copyOf(tokens, count * 2);
                    distances = Arrays.copyOf(distances, count * 2);
                }
                tokens[count] = v.trieTokens[k];
                distances[count++] = next.distance();
            }
            i++;
        }
        return sortedByToken(Arrays.copyOf(tokens, count), Arrays.copyOf(distances, count));
    }

    private static Mask sortedByToken(int[] tokens, int[] distances) {
        long[] pairs = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            pairs[i] = ((long) tokens[i] << 32) | distances[i];
        }
        Arrays.sort(pairs);
        for (int i = 0; i < pairs.length; i++) {
            tokens[i] = (int) (pairs[i] >>> 32);
            distances[i] = (int) pairs[i];
        }
        return new Mask(tokens, distances);
    }

    /** Moves past {@code token}; end ids leave the state as it is. */
    public void accept(int token) {
        byte[] b = token < vocabulary.size() ? vocabulary.bytes(token) : null;
        if (b != null && b.length > 0) {
            state = matcher.advance(state, b);
        }
    }
}
