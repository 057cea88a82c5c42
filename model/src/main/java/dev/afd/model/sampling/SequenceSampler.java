package dev.afd.model.sampling;

import dev.afd.model.kernels.Softmax;
import dev.afd.model.kernels.TopK;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Picks the tokens of one sequence. Holds that sequence's random stream and token counts, so the same seed gives the
 * same tokens whatever else shares the batch.
 *
 * <p>Order of operations (vLLM's): log-probabilities are reported from the raw logits; then the request's
 * {@link LogitControls} (allowed tokens, logit bias); then repetition, frequency and presence penalties; then greedy
 * argmax, or temperature, top-k, top-p, min-p and a draw.
 *
 * <p>Not thread-safe: one sequence, one engine thread.
 */
public final class SequenceSampler {
    /** No draft: {@link #next(float[], int[], int[], int, float[])} draws a plain token. */
    public static final int NO_DRAFT = -1;

    private final SamplingParams params;
    private final LogitControls controls;
    private final SplittableRandom random;
    private final int[] outputCounts;
    private final boolean[] seen;

    public SequenceSampler(SamplingParams params, int[] promptTokens, int vocabSize) {
        this(params, LogitControls.NONE, promptTokens, vocabSize);
    }

    public SequenceSampler(SamplingParams params, LogitControls controls, int[] promptTokens, int vocabSize) {
        this.params = params;
        this.controls = controls;
        this.random = new SplittableRandom(params.seed() != null ? params.seed() : new SplittableRandom().nextLong());
        this.outputCounts = new int[vocabSize];
        this.seen = new boolean[vocabSize];
        for (int t : promptTokens) {
            seen[t] = true;
        }
    }

    /** Chooses the next token from {@code logits} (not modified) and records it as generated. */
    public Sample next(float[] logits) {
        return next(logits, null);
    }

    /**
     * Chooses the next token among {@code allowed} (token ids; null allows every token) and records it. The
     * log-probabilities reported stay those of the raw logits, as vLLM reports them.
     */
    public Sample next(float[] logits, int[] allowed) {
        return next(logits, allowed, null, NO_DRAFT, null);
    }

    /**
     * Chooses the next token among {@code allowed} (null: every token) but none of {@code banned} (null: none), where
     * a drafter proposed {@code draft} (speculative decoding), and records it. The ban yields when it would leave
     * nothing to choose (a grammar that only allows ending). Greedy: the argmax, as always; the draft is accepted
     * when it equals it. Sampled: standard speculative rejection
     * sampling (Leviathan et al. 2023, Chen et al. 2023) against the target distribution p (after the controls,
     * penalties, mask, ban, temperature, top-k, top-p and min-p): the draft is kept with probability min(1, p(draft) /
     * q(draft)), else the token is drawn from max(0, p - q) normalised; either way the token follows p exactly. A
     * deterministic draft takes the very draw a plain token would, so seeded output is the same with it or without.
     *
     * @param draft the proposed token, or {@link #NO_DRAFT} for a plain draw
     * @param draftProbabilities q, the distribution the drafter drew {@code draft} from ({@code vocab} entries); null
     *     for a deterministic drafter, whose q is one-hot at {@code draft}
     */
    public Sample next(float[] logits, int[] allowed, int[] banned, int draft, float[] draftProbabilities) {
        int vocab = logits.length;
        float[] logprobs = new float[vocab];
        Softmax.logSoftmax(logits, 0, vocab, logprobs, 0);
        float[] adjusted = penalised(controls.apply(logits));
        float[] scores = allowed == null ? adjusted : masked(adjusted, allowed);
        if (banned != null) {
            scores = withoutBanned(scores, banned);
        }
        int token;
        if (params.isGreedy()) {
            token = argmax(scores);
        } else {
            Target target = target(scores);
            // No draft, or a deterministic one (q one-hot): rejection sampling then keeps the draft with probability
            // p(draft) and otherwise draws from p without it, which is exactly one draw from p that is the draft or
            // not. One number from the stream, as without drafts, so seeded output does not depend on them.
            token = draftProbabilities == null ? draw(target) : verify(target, draft, draftProbabilities);
        }
        outputCounts[token]++;
        seen[token] = true;
        return new Sample(token, logprobs[token], top(logprobs, params.topLogprobs()));
    }

    private float[] penalised(float[] logits) {
        boolean repetition = params.repetitionPenalty() != 1;
        boolean additive = params.presencePenalty() != 0 || params.frequencyPenalty() != 0;
        if (!repetition && !additive) {
            return logits;
        }
        float[] l = logits.clone();
        float rp = (float) params.repetitionPenalty();
        for (int t = 0; t < l.length; t++) {
            if (repetition && seen[t]) {
                l[t] = l[t] > 0 ? l[t] / rp : l[t] * rp;
            }
            if (additive && outputCounts[t] > 0) {
                l[t] -= (float) (params.frequencyPenalty() * outputCounts[t] + params.presencePenalty());
            }
        }
        return l;
    }

    /** Every token not allowed at negative infinity, which greedy and sampled choices both skip. */
    private static float[] masked(float[] logits, int[] allowed) {
        float[] m = new float[logits.length];
        Arrays.fill(m, Float.NEGATIVE_INFINITY);
        for (int t : allowed) {
            m[t] = logits[t];
        }
        return m;
    }

    private static float[] withoutBanned(float[] scores, int[] banned) {
        float[] s = scores.clone();
        for (int t : banned) {
            s[t] = Float.NEGATIVE_INFINITY;
        }
        for (float v : s) {
            if (v != Float.NEGATIVE_INFINITY) {
                return s;
            }
        }
        return scores;
    }

    private static int argmax(float[] l) {
        int best = 0;
        for (int t = 1; t < l.length; t++) {
            if (l[t] > l[best]) {
                best = t;
            }
        }
        return best;
    }

    /**
     * The distribution tokens are drawn from: candidates most likely first, the unnormalised weights of the first
     * {@code keep} (the rest have probability 0), and their sum.
     */
    private record Target(int[] order, double[] weight, int keep, double mass) {
        /** p(token): 0 outside the kept candidates. */
        double probability(int token) {
            for (int i = 0; i < keep; i++) {
                if (order[i] == token) {
                    return weight[i] / mass;
                }
            }
            return 0;
        }
    }

    private Target target(float[] logits) {
        double inverseT = 1.0 / params.temperature();
        int[] order = candidates(logits);
        double max = logits[order[0]];
        double[] p = new double[order.length];
        double total = 0;
        for (int i = 0; i < order.length; i++) {
            p[i] = Math.exp((logits[order[i]] - max) * inverseT);
            total += p[i];
        }
        int keep = order.length;
        // Masked tokens (negative infinity) have probability 0 and sort last: never draw them, even by rounding.
        while (keep > 1 && p[keep - 1] == 0 && logits[order[keep - 1]] == Float.NEGATIVE_INFINITY) {
            keep--;
        }
        if (params.topP() < 1) {
            double cumulative = 0;
            for (int i = 0; i < keep; i++) {
                cumulative += p[i] / total;
                if (cumulative >= params.topP()) {
                    keep = i + 1;
                    break;
                }
            }
        }
        if (params.minP() > 0) {
            double floor = params.minP() * p[0];
            int i = 1;
            while (i < keep && p[i] >= floor) {
                i++;
            }
            keep = i;
        }
        double mass = 0;
        for (int i = 0; i < keep; i++) {
            mass += p[i];
        }
        return new Target(order, p, keep, mass);
    }

    private int draw(Target t) {
        double u = random.nextDouble() * t.mass();
        for (int i = 0; i < t.keep() - 1; i++) {
            u -= t.weight()[i];
            if (u < 0) {
                return t.order()[i];
            }
        }
        return t.order()[t.keep() - 1];
    }

    /** Keeps {@code draft} with probability min(1, p/q), else draws from the residual max(0, p - q). */
    private int verify(Target t, int draft, float[] q) {
        if (random.nextDouble() * q[draft] < t.probability(draft)) {
            return draft;
        }
        double[] residual = new double[t.keep()];
        double total = 0;
        for (int i = 0; i < t.keep(); i++) {
            residual[i] = Math.max(0, t.weight()[i] / t.mass() - q[t.order()[i]]);
            total += residual[i];
        }
        if (total <= 0) {
            // p and q agree (up to rounding) wherever p is not 0, so a rejection is rounding: p itself is the answer.
            return draw(t);
        }
        double u = random.nextDouble() * total;
        int last = -1;
        for (int i = 0; i < t.keep(); i++) {
            if (residual[i] > 0) {
                last = i;
                u -= residual[i];
                if (u < 0) {
                    return t.order()[i];
                }
            }
        }
        return t.order()[last];
    }

    /** Token ids most likely first (ties to the lower id), cut to top-k when set. */
    private int[] candidates(float[] logits) {
        if (params.topK() > 0 && params.topK() < logits.length) {
            return TopK.topK(logits, 0, logits.length, params.topK());
        }
        // Sort (logit, id) pairs packed into longs: descending logit, ascending id, no boxing.
        long[] keys = new long[logits.length];
        for (int t = 0; t < logits.length; t++) {
            keys[t] = ((long) ~sortableBits(logits[t]) << 32) | t;
        }
        Arrays.sort(keys);
        int[] order = new int[logits.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = (int) keys[i];
        }
        return order;
    }

    /** Float bits remapped so that signed int order equals float order. */
    private static int sortableBits(float f) {
        int bits = Float.floatToIntBits(f);
        return bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
    }

    /**
     * The log-probability of {@code token} under row {@code logits[offset, offset + vocab)} (raw, as reported for
     * sampled tokens), its rank (1 = most likely; ties share the better rank) and the {@code top} most likely tokens.
     * For prompt tokens, where nothing is sampled.
     */
    public static PromptLogprob promptLogprob(float[] logits, int offset, int vocab, int token, int top) {
        float[] logprobs = new float[vocab];
        Softmax.logSoftmax(logits, offset, vocab, logprobs, 0);
        float own = logprobs[token];
        int rank = 1;
        for (float l : logprobs) {
            if (l > own) {
                rank++;
            }
        }
        return new PromptLogprob(token, own, rank, top(logprobs, top));
    }

    private static List<TokenLogprob> top(float[] logprobs, int n) {
        if (n == 0) {
            return List.of();
        }
        List<TokenLogprob> top = new ArrayList<>(n);
        for (int t : TopK.topK(logprobs, 0, logprobs.length, n)) {
            top.add(new TokenLogprob(t, logprobs[t]));
        }
        return top;
    }
}
