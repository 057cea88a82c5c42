package dev.afd.attention.spec;

/**
 * Proposes draft tokens for speculative decoding. The engine opens a {@link Session} per request and, after every
 * step in which the sequence got tokens, asks it for up to k tokens to verify in the next step. A drafter that
 * {@link #wantsHiddenStates() wants the main model's hidden states} is shown each step's rows first
 * ({@link Session#observe}).
 *
 * <p>Threading: sessions are used on the engine thread only; {@link #open} is called there too.
 */
public interface Drafter {
    /** One sequence's drafting, with whatever state the drafter keeps per sequence. */
    interface Session {
        /**
         * Proposes up to {@code k} tokens to follow {@code tokens} (prompt, then every generated token).
         *
         * @return the proposal; {@link Draft#NONE} when the drafter has nothing to offer
         */
        Draft propose(int[] tokens, int k);

        /**
         * Shown after a step what the model computed for the sequence: the hidden states before the final norm of
         * its first {@code rows} rows from position {@code start}, the positions the sequence now keeps (a prefill
         * chunk's every row; a decode's last token and its accepted drafts). Called only when the drafter
         * {@link #wantsHiddenStates() wants them}, before {@link #propose}.
         *
         * @param tokens the sequence's tokens after the step (prompt, then every generated token)
         * @param hidden at least {@code rows} rows of the model's hidden size
         */
        default void observe(int[] tokens, int start, float[] hidden, int rows) {}

        /**
         * Frees what the session holds, when its sequence ends or is preempted; a preempted sequence's recompute is
         * observed again from its first recomputed position.
         */
        default void release() {}
    }

    /** Starts drafting for a new sequence. */
    Session open();

    /** Whether sessions need {@link Session#observe}: the engine then keeps each step's hidden rows. */
    default boolean wantsHiddenStates() {
        return false;
    }
}
