package dev.afd.attention.engine;

/**
 * When a request reached each stage on the engine, in {@link System#nanoTime()} units; 0 for a stage it never
 * reached (an abort before its first step, say). The phases are vLLM's: queued from arrival to its first step,
 * prefill from then to its first token, decode from the first token to the last, inference the two together.
 *
 * @param arrived when it was submitted
 * @param scheduled when it was first in a step (preempted and resumed later, it keeps its first)
 * @param firstToken when its first token was sampled
 * @param lastToken when its last token was sampled
 * @param finished when it ended
 * @param promptTokens tokens in its prompt
 * @param generatedTokens tokens it generated
 */
public record RequestTimeline(long arrived, long scheduled, long firstToken, long lastToken, long finished,
        int promptTokens, int generatedTokens) {
    public boolean wasScheduled() {
        return scheduled != 0;
    }

    public boolean hasTokens() {
        return firstToken != 0;
    }

    public long e2eNanos() {
        return finished - arrived;
    }

    /** Arrival to the first step; the whole wait when it never ran. */
    public long queueNanos() {
        return (wasScheduled() ? scheduled : finished) - arrived;
    }

    /** First step to first token; only when it has a token. */
    public long prefillNanos() {
        return firstToken - scheduled;
    }

    /** First token to last token; only when it has a token. */
    public long decodeNanos() {
        return lastToken - firstToken;
    }

    /** First step to last token; only when it has a token. */
    public long inferenceNanos() {
        return lastToken - scheduled;
    }
}
