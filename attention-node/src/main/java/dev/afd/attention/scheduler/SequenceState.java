package dev.afd.attention.scheduler;

/** Where a sequence is in the scheduler's life cycle. */
public enum SequenceState {
    /** Queued for admission: new, or preempted and holding no KV blocks. */
    WAITING,
    /** Admitted: holds KV blocks and takes part in steps. */
    RUNNING,
    /** Ended by the engine through {@link Scheduler#finish}. */
    FINISHED,
    /** Ended by {@link Scheduler#abort}. */
    ABORTED
}
