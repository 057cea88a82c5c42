package dev.afd.gateway.lifecycle;

import java.util.Set;

/**
 * When a generated token ends its sequence on the attention node, by the node's own rule (its decoder stops on an
 * end-of-sequence id, unless ignored, or a stop id, once {@code minTokens} are out). The gateway applies it as the
 * token arrives, so that token's text is left out of the answer (as vLLM leaves it out) without waiting for the
 * finish message.
 */
public record StopTokenRule(Set<Integer> eosIds, Set<Integer> stopIds, boolean ignoreEos, int minTokens) {
    public StopTokenRule {
        eosIds = Set.copyOf(eosIds);
        stopIds = Set.copyOf(stopIds);
    }

    /** Whether {@code token}, the {@code generated}-th token, ends the sequence. */
    boolean ends(int token, int generated) {
        boolean stopId = (!ignoreEos && eosIds.contains(token)) || stopIds.contains(token);
        return stopId && generated >= minTokens;
    }
}
