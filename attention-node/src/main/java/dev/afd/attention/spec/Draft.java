package dev.afd.attention.spec;

/**
 * Tokens a drafter proposes to follow a sequence, in order.
 *
 * @param tokens the proposed tokens (possibly none)
 * @param probabilities for a drafter that samples, the distribution q each token was drawn from ({@code vocab}
 *     entries per token), which rejection sampling needs; null for a deterministic drafter (q one-hot)
 */
public record Draft(int[] tokens, float[][] probabilities) {
    /** Nothing proposed: the sequence decodes one token. */
    public static final Draft NONE = new Draft(new int[0], null);

    public Draft {
        if (probabilities != null && probabilities.length != tokens.length) {
            throw new IllegalArgumentException(tokens.length + " draft tokens but " + probabilities.length
                    + " draft distributions");
        }
    }

    /** The distribution draft {@code i} was drawn from; null when the drafter is deterministic. */
    public float[] probabilities(int i) {
        return probabilities == null ? null : probabilities[i];
    }
}
