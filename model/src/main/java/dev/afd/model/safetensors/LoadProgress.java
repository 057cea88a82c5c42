package dev.afd.model.safetensors;

import java.time.Duration;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Progress of a long weight operation (mapping a checkpoint, reading pages in, uploading to a GPU), so that a
 * node loading a large model says what it is doing instead of staying silent for minutes. Short operations say
 * nothing: the first line comes only once {@code every} has passed, then at most one line per {@code every}, and
 * a closing line when something was said.
 *
 * <p>Not thread-safe: one operation, advanced by one thread.
 */
public final class LoadProgress {
    private static final System.Logger LOG = System.getLogger(LoadProgress.class.getName());
    private static final Duration EVERY = Duration.ofSeconds(5);
    private static final double GIB = 1024.0 * 1024 * 1024;

    private final String what;
    private final long totalBytes;
    private final Consumer<String> sink;
    private final LongSupplier nanos;
    private final long everyNanos;
    private final long start;
    private long nextReport;
    private long doneBytes;
    private boolean spoke;

    /**
     * @param what what is being done, e.g. {@code "reading this node's weights into memory"}
     * @param sink where the lines go
     * @param nanos the clock, {@link System#nanoTime()} outside tests
     */
    public LoadProgress(String what, long totalBytes, Duration every, Consumer<String> sink, LongSupplier nanos) {
        this.what = what;
        this.totalBytes = totalBytes;
        this.sink = sink;
        this.nanos = nanos;
        this.everyNanos = every.toNanos();
        this.start = nanos.getAsLong();
        this.nextReport = start + everyNanos;
    }

    /** Reports to the log at INFO, every 5 seconds. */
    public static LoadProgress logged(String what, long totalBytes) {
        return new LoadProgress(what, totalBytes, EVERY, line -> LOG.log(System.Logger.Level.INFO, line),
                System::nanoTime);
    }

    /** {@code bytes} more are done. */
    public void advance(long bytes) {
        doneBytes += bytes;
        long now = nanos.getAsLong();
        if (now - nextReport >= 0) {
            spoke = true;
            nextReport = now + everyNanos;
            sink.accept(String.format(Locale.ROOT, "%s: %.1f of %.1f GiB (%.0f%%), %.0f s", what, doneBytes / GIB,
                    totalBytes / GIB, totalBytes > 0 ? 100.0 * doneBytes / totalBytes : 100.0, seconds(now)));
        }
    }

    /** Ends the operation; says how long it took if it said anything before. */
    public void finish() {
        if (spoke) {
            sink.accept(String.format(Locale.ROOT, "%s: done, %.1f GiB in %.0f s", what, doneBytes / GIB,
                    seconds(nanos.getAsLong())));
        }
    }

    private double seconds(long now) {
        return (now - start) / 1e9;
    }
}
