package dev.afd.attention.spec;

/**
 * Prompt lookup (vLLM's {@code ngram} method): finds the latest earlier occurrence of the sequence's last n tokens,
 * n from {@code maxN} down to {@code minN}, and proposes the tokens that followed it. Costs no model call, and pays
 * off where output repeats its context: code edits, quoting, extraction, structured output. Deterministic, so its
 * drafts have a one-hot q. Keeps no state per sequence.
 */
public final class NgramDrafter implements Drafter {
    private final int minN;
    private final int maxN;

    /** @throws IllegalArgumentException unless {@code 1 <= minN <= maxN} */
    public NgramDrafter(int minN, int maxN) {
        if (minN < 1 || maxN < minN) {
            throw new IllegalArgumentException("n-gram lengths must satisfy 1 <= min <= max, got min " + minN
                    + " and max " + maxN);
        }
        this.minN = minN;
        this.maxN = maxN;
    }

    @Override
    public Session open() {
        return this::propose;
    }

    /** The tokens that followed the latest earlier match of the longest suffix that has one; none without. */
    Draft propose(int[] tokens, int k) {
        int length = tokens.length;
        for (int n = Math.min(maxN, length - 1); n >= minN; n--) {
            int match = latestEarlierMatch(tokens, n);
            if (match >= 0) {
                // The n tokens at match equal the suffix, and match + n < length, so at least one follows.
                int from = match + n;
                int count = Math.min(k, length - from);
                int[] draft = new int[count];
                System.arraycopy(tokens, from, draft, 0, count);
                return new Draft(draft, null);
            }
        }
        return Draft.NONE;
    }

    /** The latest start {@code i < length - n} where the n tokens equal the last n; -1 when none does. */
    private static int latestEarlierMatch(int[] tokens, int n) {
        int suffix = tokens.length - n;
        for (int i = suffix - 1; i >= 0; i--) {
            int j = 0;
            while (j < n && tokens[i + j] == tokens[suffix + j]) {
                j++;
            }
            if (j == n) {
                return i;
            }
        }
        return -1;
    }
}
