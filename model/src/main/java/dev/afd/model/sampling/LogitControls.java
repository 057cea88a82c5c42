package dev.afd.model.sampling;

import java.util.Arrays;
import java.util.Map;

/**
 * Per-request changes to the logits before sampling, with vLLM's meanings: {@code allowed_token_ids} keeps only those
 * tokens; {@code logit_bias} adds a bias (-100 to 100) to the named tokens. Both act after log-probabilities are
 * reported (those stay the raw model's, as vLLM reports them) and before penalties and temperature.
 *
 * @param bias token id to the bias added to its logit (empty for none)
 * @param allowedTokenIds the only tokens that may be sampled, ascending; null allows every token
 */
public record LogitControls(Map<Integer, Float> bias, int[] allowedTokenIds) {
    /** Nothing changed. */
    public static final LogitControls NONE = new LogitControls(Map.of(), null);
    /** OpenAI's range for a logit bias. */
    public static final float MAX_BIAS = 100;

    public LogitControls {
        bias = Map.copyOf(bias);
        for (Map.Entry<Integer, Float> e : bias.entrySet()) {
            float b = e.getValue();
            if (!(b >= -MAX_BIAS && b <= MAX_BIAS)) {
                throw new SamplingParams.InvalidSamplingException("logit_bias", "logit_bias of token " + e.getKey()
                        + " must be between -" + MAX_BIAS + " and " + MAX_BIAS + ", got " + b);
            }
        }
        if (allowedTokenIds != null) {
            allowedTokenIds = Arrays.stream(allowedTokenIds).sorted().distinct().toArray();
            if (allowedTokenIds.length == 0) {
                throw new SamplingParams.InvalidSamplingException("allowed_token_ids",
                        "allowed_token_ids must name at least one token");
            }
        }
    }

    public boolean isNone() {
        return bias.isEmpty() && allowedTokenIds == null;
    }

    /**
     * Checks every token id against the vocabulary.
     *
     * @throws SamplingParams.InvalidSamplingException naming the field and the id outside {@code [0, vocabSize)}
     */
    public void requireInVocabulary(int vocabSize) {
        for (int id : bias.keySet()) {
            if (id < 0 || id >= vocabSize) {
                throw new SamplingParams.InvalidSamplingException("logit_bias", "logit_bias names token id " + id
                        + ", outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        if (allowedTokenIds != null) {
            for (int id : allowedTokenIds) {
                if (id < 0 || id >= vocabSize) {
                    throw new SamplingParams.InvalidSamplingException("allowed_token_ids", "allowed_token_ids names"
                            + " token id " + id + ", outside the vocabulary [0, " + vocabSize + ")");
                }
            }
        }
    }

    /** {@code logits} with the bias added and disallowed tokens at negative infinity; the input when none apply. */
    float[] apply(float[] logits) {
        if (isNone()) {
            return logits;
        }
        float[] l;
        if (allowedTokenIds == null) {
            l = logits.clone();
        } else {
            l = new float[logits.length];
            Arrays.fill(l, Float.NEGATIVE_INFINITY);
            for (int t : allowedTokenIds) {
                l[t] = logits[t];
            }
        }
        for (Map.Entry<Integer, Float> e : bias.entrySet()) {
            l[e.getKey()] += e.getValue();
        }
        return l;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LogitControls c && bias.equals(c.bias) && Arrays.equals(allowedTokenIds, c.allowedTokenIds);
    }

    @Override
    public int hashCode() {
        return bias.hashCode() * 31 + Arrays.hashCode(allowedTokenIds);
    }

    @Override
    public String toString() {
        return "LogitControls[bias=" + bias + ", allowedTokenIds=" + Arrays.toString(allowedTokenIds) + "]";
    }
}
