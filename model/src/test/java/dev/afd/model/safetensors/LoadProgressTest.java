package dev.afd.model.safetensors;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoadProgressTest {
    private static final long SECOND = 1_000_000_000L;
    private static final long GIB = 1L << 30;

    private long now = 42 * SECOND;
    private final List<String> lines = new ArrayList<>();

    private LoadProgress progress(long total) {
        return new LoadProgress("uploading", total, Duration.ofSeconds(5), lines::add, () -> now);
    }

    @Test
    void aShortOperationSaysNothing() {
        LoadProgress p = progress(4 * GIB);
        for (int i = 0; i < 4; i++) {
            now += SECOND;
            p.advance(GIB);
        }
        p.finish();
        assertThat(lines).isEmpty();
    }

    @Test
    void aLongOneReportsAtMostOncePerIntervalThenHowLongItTook() {
        LoadProgress p = progress(10 * GIB);
        for (int i = 0; i < 10; i++) {
            now += 2 * SECOND;
            p.advance(GIB);
        }
        p.finish();
        // Reports at 6 s (3 GiB), 12 s (6 GiB), 18 s (9 GiB): none sooner than 5 s after the last.
        assertThat(lines).containsExactly("uploading: 3.0 of 10.0 GiB (30%), 6 s",
                "uploading: 6.0 of 10.0 GiB (60%), 12 s", "uploading: 9.0 of 10.0 GiB (90%), 18 s",
                "uploading: done, 10.0 GiB in 20 s");
    }
}
