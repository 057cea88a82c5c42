package dev.afd.attention.spec;

/**
 * Proposes draft tokens for speculative decoding. The engine opens a {@link Session} per request and, after every
 * step in which the sequence got tokens, asks it for up to k tokens to verify in the next step.
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
    }

    /** Starts drafting for a new sequence. */
    Session open();
}
