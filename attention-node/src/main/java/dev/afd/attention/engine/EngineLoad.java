package dev.afd.attention.engine;

import dev.afd.attention.kv.KvGroupUsage;
import java.util.List;

/**
 * A snapshot of an engine's load, for routing and metrics.
 *
 * @param waiting requests admitted but not yet scheduled
 * @param running requests holding KV blocks
 * @param kvBlocksUsed KV blocks held by sequences
 * @param kvBlocksFree KV blocks held by no sequence (cached ones included: they are given up when needed)
 * @param preemptions sequences preempted (and recomputed later) since start
 * @param kvBlocksCached of the free blocks, those keeping a cached prefix
 * @param prefixQueriedTokens prompt tokens looked up in the prefix cache since start
 * @param prefixHitTokens of those, tokens found cached
 * @param kvEvictions cached blocks evicted to make room since start
 * @param kvGroups the blocks of each KV group ({@code full}, and {@code sliding} for a model with sliding-window
 *     layers); the block counts above are their sums
 */
public record EngineLoad(int waiting, int running, long kvBlocksUsed, long kvBlocksFree, long preemptions,
        long kvBlocksCached, long prefixQueriedTokens, long prefixHitTokens, long kvEvictions,
        List<KvGroupUsage> kvGroups) {
    public EngineLoad {
        kvGroups = List.copyOf(kvGroups);
    }
}
