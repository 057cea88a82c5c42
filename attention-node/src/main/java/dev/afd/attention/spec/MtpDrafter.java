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
 * <p>Per sequence, a session runs every position the sequence keeps through every MTP layer, as soon as the next
 * token is known (prefill chunks in one call per layer, a decode's last token and accepted drafts likewise): "true"
 * rows, whose keys and values fill the layers' caches. Layer 0's true row at the newest-but-one position T-1 predicts
 * the first draft. Draft i (i >= 1) runs layer {@code i % layers} at position T-1+i on the previous draft step's
 * hidden state and the previous draft, the rule of vLLM's {@code step3p5_mtp} ({@code spec_step_idx %
 * num_mtp_layers}): one MTP layer is reused for every draft, three chain 0, 1, 2. Drafts write their keys and values
 * past the sequence's end; the next step's true rows overwrite them. Drafts are greedy (the argmax of the MTP
 * logits, q one-hot), as vLLM's proposer does, for sampled requests too: rejection sampling with a one-hot q keeps the
 * target distribution exactly.
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

    /** Positions per block of the MTP caches. */
    private static final int BLOCK = 16;

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
            float[] below = null;
            for (int k = 0; k < layers; k++) {
                int first;
                float[] in;
                if (k == 0) {
                    first = a;
                    in = main;
                } else if (below == null) {
                    last[k] = null;
                    continue;
                } else if (last[k - 1] != null) {
                    // Row q takes layer k-1's output at q-1: its last one from before, then this piece's but the last.
                    first = a;
                    in = concat(last[k - 1], below, b - a - 1);
                } else {
                    first = a + 1;
                    in = Arrays.copyOf(below, (b - a - 1) * hiddenSize);
                }
                if (k > 0) {
                    last[k - 1] = lastRow(below);
                }
                if (first >= b) {
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
            }
            last[layers - 1] = below == null ? null : lastRow(below);
        }

        @Override
        public Draft propose(int[] tokens, int k) {
            if (firstDraftLogits == null || last[0] == null || next != tokens.length - 1 || k < 1) {
                return Draft.NONE;
            }
            int[] drafts = new int[k];
            drafts[0] = argmax(firstDraftLogits);
            float[] h = last[0];
            for (int i = 1; i < k; i++) {
                MtpOutput out = model.mtp(i % layers, cache, next - 1 + i, h, new int[] {drafts[i - 1]}, 1);
                drafts[i] = argmax(out.logits());
                h = out.hidden();
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
