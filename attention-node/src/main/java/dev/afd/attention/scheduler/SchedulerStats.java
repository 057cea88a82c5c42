package dev.afd.attention.scheduler;

/**
 * A snapshot of the scheduler's load.
 *
 * @param preemptions sequences preempted (blocks released, to be recomputed) since start-up
 */
public record SchedulerStats(int waiting, int running, int blocksUsed, int blocksFree, long preemptions) {}
