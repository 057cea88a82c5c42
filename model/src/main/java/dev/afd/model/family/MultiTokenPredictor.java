package dev.afd.model.family;

import dev.afd.model.kv.SequenceKv;

/**
 * A model with multi-token-prediction (MTP) layers: small decoder blocks that, given the main model's hidden state at
 * position p and the token at p+1, predict the token at p+2. Speculative decoding drafts with them. A family whose
 * checkpoint has such layers implements this; callers test for the capability, never for the family.
 *
 * <p>Each MTP layer attends over a cache of its own ({@link #mtpKvLayout()}, layer k of it for MTP layer k), apart
 * from the main model's.
 *
 * <p>Threading: as {@link CausalLm}: the engine thread calls {@link #mtp} between forward steps.
 */
public interface MultiTokenPredictor extends CausalLm {
    /** MTP layers in the checkpoint; 0 when it has none. */
    int mtpLayers();

    /** The KV layout of the MTP layers' own cache: MTP layer k is layer k of it. */
    KvLayout mtpKvLayout();

    /**
     * What one MTP layer computes for some rows of one sequence.
     *
     * @param hidden the block's output (rows × H): the hidden state the next MTP layer takes
     * @param logits the last {@code logitRows} rows × V: row t's prediction of the token two past its position
     */
    record MtpOutput(float[] hidden, float[] logits) {}

    /**
     * Runs MTP layer {@code k} over consecutive positions {@code start, start+1, ...} of one sequence, writing their
     * keys and values to layer k of {@code cache}, which must hold the positions before {@code start} that its
     * window reads.
     *
     * @param hidden rows × H pre-norm hidden states of the main model (or of MTP layer k-1, to chain)
     * @param nextTokens for each row, the token at its position + 1
     * @param logitRows how many of the last rows want logits (0 to {@code nextTokens.length})
     */
    MtpOutput mtp(int k, SequenceKv cache, int start, float[] hidden, int[] nextTokens, int logitRows);

    /** {@link #mtp(int, SequenceKv, int, float[], int[], int)} with logits for every row. */
    default MtpOutput mtp(int k, SequenceKv cache, int start, float[] hidden, int[] nextTokens) {
        return mtp(k, cache, start, hidden, nextTokens, nextTokens.length);
    }
}
