package dev.afd.bench.serve;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * {@code --dataset prefix}: {@code numPrefixes} distinct prefixes of exactly {@code prefixLen} random token ids, each
 * request one of them followed by its own random suffix (length and output length from {@link Lengths}), as chat
 * and agent traffic resends one system prompt. Token ids go to the server as they are, so a prefix is exactly
 * {@code prefixLen} tokens of the served model whatever its tokenizer, and prefix caching shows in TTFT.
 *
 * <p>Request {@code i} takes prefix {@code i % numPrefixes}: the first {@code numPrefixes} requests (the warm-ups,
 * with {@code --num-warmups numPrefixes}) touch every prefix once, and each prefix recurs evenly.
 */
public record PrefixDataset(int prefixLen, int numPrefixes, Lengths suffix, int tokenRange) implements Dataset {
    public PrefixDataset {
        if (prefixLen < 1 || numPrefixes < 1) {
            throw new IllegalArgumentException("--prefix-len and --num-prefixes must be >= 1, got " + prefixLen
                    + " and " + numPrefixes);
        }
        if (tokenRange < 2) {
            // One id would make every prefix the same.
            throw new IllegalArgumentException("--prompt-token-range must be >= 2 for prefixes, got " + tokenRange);
        }
        if (Math.pow(tokenRange, prefixLen) < numPrefixes) {
            throw new IllegalArgumentException("there are not " + numPrefixes + " distinct prefixes of " + prefixLen
                    + " token ids in [0, " + tokenRange + ")");
        }
    }

    @Override
    public List<PreparedRequest> requests(Context context, int count, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[][] prefixes = new int[numPrefixes][];
        for (int k = 0; k < numPrefixes; k++) {
            int[] candidate;
            do {
                candidate = Prompts.randomIds(random, prefixLen, tokenRange);
            } while (isAmong(candidate, prefixes, k));
            prefixes[k] = candidate;
        }
        List<PreparedRequest> requests = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int[] prefix = prefixes[i % numPrefixes];
            int[] ids = Arrays.copyOf(prefix, prefixLen + suffix.input(random));
            System.arraycopy(Prompts.randomIds(random, ids.length - prefixLen, tokenRange), 0, ids, prefixLen,
                    ids.length - prefixLen);
            requests.add(Prompts.tokenIds(context.model(), ids, suffix.output(random)));
        }
        return requests;
    }

    private static boolean isAmong(int[] candidate, int[][] prefixes, int count) {
        return IntStream.range(0, count).anyMatch(k -> Arrays.equals(candidate, prefixes[k]));
    }

    @Override
    public boolean tokenIdPrompts() {
        return true;
    }

    @Override
    public String describe() {
        return "prefix: " + numPrefixes + " prefixes of " + prefixLen + " token ids, each request one of them plus "
                + Lengths.range(suffix.minInput(), suffix.maxInput()) + " own token ids in [0, " + tokenRange + "), "
                + Lengths.range(suffix.minOutput(), suffix.maxOutput()) + " output tokens (ignore_eos)";
    }
}
