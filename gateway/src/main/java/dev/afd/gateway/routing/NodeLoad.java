package dev.afd.gateway.routing;

import dev.afd.proto.FfnExchangeStats;
import dev.afd.proto.LoadResponse;

/**
 * An attention node's last reported load.
 *
 * @param waiting requests queued on the node
 * @param running requests holding KV blocks
 * @param kvBlocksUsed KV blocks held by sequences
 * @param kvBlocksFree KV blocks held by none (cached ones included)
 * @param preemptions sequences preempted since the node started
 * @param serving whether every expert has a live ffn-node
 * @param fingerprint the node's model fingerprint
 * @param maxModelLen the node's context length
 * @param ffn the node's cumulative exchange statistics with its ffn-nodes
 * @param prefixCache the node's prefix cache
 */
public record NodeLoad(int waiting, int running, long kvBlocksUsed, long kvBlocksFree, long preemptions,
        boolean serving, String fingerprint, int maxModelLen, FfnExchangeStats ffn, PrefixCacheLoad prefixCache) {
    /**
     * An attention node's prefix cache, as its Load answer reports it.
     *
     * @param queriedTokens prompt tokens looked up since the node started (vLLM's prefix cache queries)
     * @param hitTokens of those, tokens found cached (vLLM's prefix cache hits)
     * @param cachedBlocks free KV blocks that keep a cached prefix now
     * @param evictions cached blocks evicted to make room since the node started
     */
    public record PrefixCacheLoad(long queriedTokens, long hitTokens, long cachedBlocks, long evictions) {}

    static NodeLoad of(LoadResponse r) {
        return new NodeLoad(r.getWaiting(), r.getRunning(), r.getKvBlocksUsed(), r.getKvBlocksFree(),
                r.getPreemptions(), r.getServing(), r.getModelFingerprint(), r.getMaxModelLen(), r.getFfn(),
                new PrefixCacheLoad(r.getPrefixCacheQueries(), r.getPrefixCacheHits(), r.getKvBlocksCached(),
                        r.getKvEvictions()));
    }

    /** Fraction of KV blocks in use, 0 when the node has none. */
    public double kvUsage() {
        long total = kvBlocksUsed + kvBlocksFree;
        return total == 0 ? 0 : (double) kvBlocksUsed / total;
    }
}
