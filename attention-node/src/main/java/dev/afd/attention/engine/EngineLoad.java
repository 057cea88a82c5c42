package dev.afd.attention.engine;

/**
 * A snapshot of an engine's load, for routing and metrics.
 *
 * @param waiting requests admitted but not yet scheduled
 * @param running requests holding KV blocks
 * @param kvBlocksUsed KV blocks in use
 * @param kvBlocksFree KV blocks free
 * @param preemptions sequences preempted (and recomputed later) since start
 */
public record EngineLoad(int waiting, int running, long kvBlocksUsed, long kvBlocksFree, long preemptions) {}
