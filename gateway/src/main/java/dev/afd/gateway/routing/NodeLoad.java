package dev.afd.gateway.routing;

import dev.afd.proto.LoadResponse;

/**
 * An attention node's last reported load, for routing. (The node's own metrics, on its {@code --metrics-port}, report
 * the rest of what its Load answer carries.)
 *
 * @param waiting requests queued on the node
 * @param running requests holding KV blocks
 * @param kvBlocksUsed KV blocks held by sequences
 * @param kvBlocksFree KV blocks held by none (cached ones included)
 * @param serving whether every expert has a live ffn-node
 * @param fingerprint the node's model fingerprint
 * @param maxModelLen the node's context length
 */
public record NodeLoad(int waiting, int running, long kvBlocksUsed, long kvBlocksFree, boolean serving,
        String fingerprint, int maxModelLen) {
    static NodeLoad of(LoadResponse r) {
        return new NodeLoad(r.getWaiting(), r.getRunning(), r.getKvBlocksUsed(), r.getKvBlocksFree(), r.getServing(),
                r.getModelFingerprint(), r.getMaxModelLen());
    }

    /** Fraction of KV blocks in use, 0 when the node has none. */
    public double kvUsage() {
        long total = kvBlocksUsed + kvBlocksFree;
        return total == 0 ? 0 : (double) kvBlocksUsed / total;
    }
}
