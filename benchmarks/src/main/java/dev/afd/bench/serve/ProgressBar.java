package dev.afd.bench.serve;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A one-line progress bar redrawn in place ({@code \r}) five times a second: finished of total, requests per
 * second so far, failures. Drawing happens on its own daemon thread, which only reads the run's atomic counters.
 */
final class ProgressBar implements AutoCloseable {
    private static final int WIDTH = 30;

    private final PrintStream out;
    private final String label;
    private final int total;
    private final LoadGenerator.Progress progress;
    private final long start = System.nanoTime();
    private final ScheduledExecutorService painter;

    ProgressBar(PrintStream out, String label, int total, LoadGenerator.Progress progress) {
        this.out = out;
        this.label = label;
        this.total = total;
        this.progress = progress;
        this.painter = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "bench-serve-progress");
            t.setDaemon(true);
            return t;
        });
        painter.scheduleAtFixedRate(this::draw, 0, 200, TimeUnit.MILLISECONDS);
    }

    static String line(String label, int done, int failed, int total, double seconds) {
        int filled = total == 0 ? WIDTH : (int) ((long) WIDTH * done / total);
        return String.format(Locale.ROOT, "%s [%s%s] %d/%d  %.1f req/s  %d failed", label, "#".repeat(filled),
                ".".repeat(WIDTH - filled), done, total, seconds > 0 ? done / seconds : 0.0, failed);
    }

    private synchronized void draw() {
        double seconds = (System.nanoTime() - start) / 1e9;
        out.print("\r" + line(label, progress.finished(), progress.failed(), total, seconds) + "  ");
        out.flush();
    }

    @Override
    public void close() {
        painter.shutdownNow();
        try {
            painter.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        draw();
        out.println();
        out.flush();
    }
}
