package dev.afd.bench.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ServeProgressBarTest {
    @Test
    void theLineShowsTheShareDoneTheRateAndFailures() {
        assertThat(ProgressBar.line("rate 4/s", 15, 1, 30, 3.0))
                .isEqualTo("rate 4/s [###############...............] 15/30  5.0 req/s  1 failed");
        assertThat(ProgressBar.line("concurrency 8", 0, 0, 30, 0)).contains("[" + ".".repeat(30) + "] 0/30  0.0 req/s");
        assertThat(ProgressBar.line("all at once", 30, 0, 30, 2)).contains("[" + "#".repeat(30) + "] 30/30");
    }

    @Test
    void itRedrawsInPlaceAndEndsTheLineWhenClosed() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        LoadGenerator.Progress progress = new LoadGenerator.Progress();
        try (ProgressBar bar = new ProgressBar(new PrintStream(bytes, true, StandardCharsets.UTF_8), "run", 10,
                progress)) {
            Thread.sleep(50);
        }
        String drawn = bytes.toString(StandardCharsets.UTF_8);
        assertThat(drawn).startsWith("\rrun [").endsWith("\n").contains("0/10");
        assertThat(drawn.chars().filter(c -> c == '\n').count()).isEqualTo(1);
    }
}
