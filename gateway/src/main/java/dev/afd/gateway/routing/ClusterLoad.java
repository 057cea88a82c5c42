package dev.afd.gateway.routing;

/**
 * The load of every ready attention node together, for metrics.
 *
 * @param readyNodes nodes the router may use
 * @param waiting requests queued on them
 * @param running requests holding KV blocks on them
 * @param kvUsage fraction of all their KV blocks in use
 * @param preemptions sequences they preempted since they started
 */
public record ClusterLoad(int readyNodes, int waiting, int running, double kvUsage, long preemptions) {}
