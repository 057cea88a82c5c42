package dev.afd.attention.spec;

import dev.afd.model.family.KvLayout;
import dev.afd.model.family.MultiTokenPredictor;
import dev.afd.model.family.MultiTokenPredictor.MtpOutput;
import dev.afd.model.kv.WindowKvCache;
import dev.afd.model.tensor.DType;
import java.util.Arrays;

/**
 * Drafts with the model's multi-token-prediction layers (vLLM's {@code mtp} method). MTP layer k at position q takes
 * the hidden state of the layer below at position q-1 (the main model's at q for layer 0) and the token at q+1, and
 * predicts the token at q+2.
 *
 * <p>Per sequence, a session runs every position the sequence keeps through every MTP layer as soon as the token
 * after it is known (a prefill chunk in one call per layer, a decode's last token and accepted drafts likewise):
 * "true" rows, whose keys and values fill the layers' caches; layer k > 0 starts one position after layer k-1, having
 * nothing to take at its first. Layer 0's true row at T-1 (the newest token at T) predicts the first draft. Draft i+1
 * runs layer {@code i % layers}, the rule of vLLM's {@code step3p5_mtp} ({@code spec_step_idx % num_mtp_layers}), at
 * position T-1+i on the hidden state of the layer that drafted i and on draft i: one MTP layer is reused for every
 * draft, three chain 0, 1, 2 (a chained layer also runs its rows between T and T-1+i, so that it never reads a
 * position of its own cache that the round skipped). Drafts write keys and values past the sequence's end; the next
 * step's true rows overwrite them. Drafts are greedy (the argmax of the MTP logits, q one-hot), as vLLM's proposer
 * does, for sampled requests too: rejection sampling with a one-hot q keeps the target distribution exactly.
 *
 * <p>Memory: each session holds one {@link WindowKvCache} over the MTP layers (f32, outside the paged pool), fixed
 * at {@code 2 * window + }{@value SpeculativeConfig#MAX_TOKENS} positions per layer and KV head (the window bounds
 * what an MTP row reads; true rows run in pieces of at most one window so that a piece never overwrites what it
 * reads), or the whole context when an MTP layer attends to every position. {@link Session#release} frees it when
 * the sequence ends or is preempted.
 *
 * <p>Threading: sessions run on the engine thread, between forward steps, like the model they call.
 */
public final class MtpDrafter implements Drafter {
    /** Positions per block of the MTP caches. */
    private static final int BLOCK = 16;

    private final MultiTokenPredictor model;
    private final KvLayout layout;
    private final int layers;
    private final int hiddenSize;
    /** Most true rows per MTP call. */
    private final int piece;
    /** Positions each session's cache keeps per layer. */
    private final int span;

    /** @throws IllegalArgumentException when the model has no MTP layers */
    public MtpDrafter(MultiTokenPredictor model) {
        if (model.mtpLayers() < 1) {
            throw new IllegalArgumentException("model_type " + model.config().modelType()
                    + " has no multi-token-prediction layers to draft with");
        }
        this.model = model;
        this.layout = model.mtpKvLayout();
        this.layers = model.mtpLayers();
        this.hiddenSize = model.config().hiddenSize();
        int window = Arrays.stream(layout.windows()).anyMatch(w -> w == 0)
                ? model.config().maxPositions()
                : Arrays.stream(layout.windows()).max().orElseThrow();
        this.piece = window;
        this.span = Math.min(2 * window, model.config().maxPositions()) + SpeculativeConfig.MAX_TOKENS;
    }

    @Override
    public boolean wantsHiddenStates() {
        return true;
    }

    @Override
    public Session open() {
        return new MtpSession();
    }

    /** One sequence's MTP caches and the hidden states the next rows chain from. */
    private final class MtpSession implements Session {
        /** Null until the first observed rows, and after a release. */
        private WindowKvCache cache;
        /** The first position no MTP layer has run as a true row. */
        private int next;
        /** Per layer, its output at position next-1; null when it has none there. */
        private final float[][] last = new float[layers][];
        /** Layer 0's logits at position next-1, the first draft's; null when unknown. */
        private float[] firstDraftLogits;

        @Override
        public void observe(int[] tokens, int start, float[] hidden, int rows) {
            int end = Math.min(start + rows, tokens.length - 1);
            if (cache == null) {
                cache = new WindowKvCache(layout.slots(), layout.headDim(), DType.F32, BLOCK, span);
            }
            if (start != next) {
                // A recompute after preemption, or positions a prefix-cache hit skipped: chain afresh from here.
                // Skipped positions stay unwritten, which costs drafts their quality, never the output its exactness.
                Arrays.fill(last, null);
                firstDraftLogits = null;
            }
            for (int a = start; a < end; a += piece) {
                int b = Math.min(end, a + piece);
                trueRows(tokens, a, b, Arrays.copyOfRange(hidden, (a - start) * hiddenSize, (b - start) * hiddenSize));
            }
            next = Math.max(start, end);
        }

        /** Runs positions [a, b) through every MTP layer; {@code main} holds the main model's rows there. */
        private void trueRows(int[] tokens, int a, int b, float[] main) {
            float[] below = main;
            int belowFirst = a;
            for (int k = 0; k < layers; k++) {
                int first = a;
                float[] in = main;
                if (k > 0) {
                    // Row q takes layer k-1's output at q-1: its last one from before when it has one, then this
                    // call's rows but the last.
                    float[] before = below == null ? null : last[k - 1];
                    first = before != null ? a : belowFirst + 1;
                    in = below == null || first >= b ? null
                            : before != null ? concat(before, below, b - 1 - a)
                            : Arrays.copyOf(below, (b - first) * hiddenSize);
                    if (below != null) {
                        last[k - 1] = lastRow(below);
                    }
                }
                if (in == null) {
                    below = null;
                    last[k] = null;
                    continue;
                }
                MtpOutput out = model.mtp(k, cache, first, in, Arrays.copyOfRange(tokens, first + 1, b + 1),
                        k == 0 ? 1 : 0);
                if (k == 0) {
                    firstDraftLogits = out.logits();
                }
                below = out.hidden();
                belowFirst = first;
            }
            last[layers - 1] = below == null ? null : lastRow(below);
        }

        /**
         * Draft 1 is layer 0's prediction at T-1 (the newest token at T). Draft i+1 runs layer {@code i % layers} at
         * the positions from T up to T-1+i that it has not run this round, each on the output at the position before
         * of the layer that drafted i (its true row at T-1, then its draft rows) and the draft there: one row when a
         * single layer is reused (as vLLM does), the layer's missing rows when layers chain, so that no layer reads a
         * position of its own cache that this round skipped.
         */
        @Override
        public Draft propose(int[] tokens, int k) {
            int t = tokens.length - 1;
            if (firstDraftLogits == null || next != t || k < 1) {
                return Draft.NONE;
            }
            int[] drafts = new int[k];
            drafts[0] = argmax(firstDraftLogits);
            // Per layer, its outputs this round at positions T, T+1, ...
            float[][] round = new float[layers][0];
            for (int i = 1; i < k; i++) {
                int layer = i % layers;
                int below = (i - 1) % layers;
                int first = t + round[layer].length / hiddenSize;
                int n = t + i - first;
                float[] in = new float[n * hiddenSize];
                int[] next = new int[n];
                for (int r = 0; r < n; r++) {
                    int q = first + r;
                    float[] h = q - 1 < t ? last[below] : Arrays.copyOfRange(round[below], (q - 1 - t) * hiddenSize,
                            (q - t) * hiddenSize);
                    if (h == null) {
                        return new Draft(Arrays.copyOf(drafts, i), null);
                    }
                    System.arraycopy(h, 0, in, r * hiddenSize, hiddenSize);
                    next[r] = drafts[q - t];
                }
                MtpOutput out = model.mtp(layer, cache, first, in, next, 1);
                drafts[i] = argmax(out.logits());
                float[] grown = Arrays.copyOf(round[layer], round[layer].length + out.hidden().length);
                System.arraycopy(out.hidden(), 0, grown, round[layer].length, out.hidden().length);
                round[layer] = grown;
            }
            return new Draft(drafts, null);
        }

        @Override
        public void release() {
            if (cache != null) {
                cache.close();
                cache = null;
            }
            Arrays.fill(last, null);
            firstDraftLogits = null;
            next = 0;
        }

        private float[] lastRow(float[] rows) {
            return Arrays.copyOfRange(rows, rows.length - hiddenSize, rows.length);
        }

        /** {@code head} then the first {@code n} rows of {@code rows}. */
        private float[] concat(float[] head, float[] rows, int n) {
            float[] out = Arrays.copyOf(head, (n + 1) * hiddenSize);
            System.arraycopy(rows, 0, out, hiddenSize, n * hiddenSize);
            return out;
        }
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
