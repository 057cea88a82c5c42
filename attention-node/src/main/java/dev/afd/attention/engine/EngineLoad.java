package dev.afd.attention.engine;

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
 */
public record EngineLoad(int waiting, int running, long kvBlocksUsed, long kvBlocksFree, long preemptions,
        long kvBlocksCached, long prefixQueriedTokens, long prefixHitTokens, long kvEvictions) {}
