package dev.afd.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code afd bench sliding-kv} on step3p5-tiny (window 16): one point per token; past the window the sliding group's
 * blocks stay flat while the full group's grow, and the sequence holds less than it would if every layer kept every
 * position.
 */
class SlidingKvBenchTest {
    @Test
    void slidingBlocksStayFlatPastTheWindowWhileFullBlocksGrow(@TempDir Path dir) throws Exception {
        ModelGenerator.generate(ModelPreset.STEP3P5_TINY.config(false), ModelGenerator.Options.defaults(), dir);
        SlidingKvBench.Result r;
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            r = SlidingKvBench.run(checkpoint, 8, 96, 16L << 20);
        }
        assertThat(r.groups()).containsExactly("full", "sliding");
        List<SlidingKvBench.Point> points = r.points();
        assertThat(points).hasSize(96);
        SlidingKvBench.Point atWindow = points.get(32);
        SlidingKvBench.Point last = points.getLast();
        assertThat(last.blocks()[0]).as("full-attention blocks grow").isGreaterThan(atWindow.blocks()[0]);
        assertThat(points.subList(32, 96)).as("sliding blocks past the window")
                .allSatisfy(p -> assertThat(p.blocks()[1]).isLessThanOrEqualTo(atWindow.blocks()[1] + 1));
        long held = last.bytes()[0] + last.bytes()[1];
        assertThat(held).isLessThan(r.withoutDropping());
    }
}
