package dev.afd.model.family;

import dev.afd.model.kv.SequenceKv;

/**
 * Tokens of one sequence at consecutive positions {@code start, start+1, ...}; its cache must already hold positions
 * {@code [0, start)}.
 *
 * @param logitRows how many of the chunk's last rows want logits: 0 for none, 1 to sample the next token, more to
 *     score tokens (prompt log-probabilities, drafted tokens to verify), up to {@code tokens.length}
 */
public record Chunk(SequenceKv kv, int[] tokens, int start, int logitRows) {
    public Chunk {
        if (logitRows < 0 || logitRows > tokens.length) {
            throw new IllegalArgumentException("a chunk of " + tokens.length + " tokens cannot want logits for "
                    + logitRows + " rows");
        }
    }

    /** A chunk that wants the logits of its last row, or none. */
    public Chunk(SequenceKv kv, int[] tokens, int start, boolean wantLogits) {
        this(kv, tokens, start, wantLogits ? 1 : 0);
    }

    public boolean wantLogits() {
        return logitRows > 0;
    }
}
