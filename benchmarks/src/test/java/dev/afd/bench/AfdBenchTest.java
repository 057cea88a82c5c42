package dev.afd.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.proto.WireDtype;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every mode of {@code afd bench afd} runs on the tiny model and reports figures that fit together. */
class AfdBenchTest {
    @Test
    void measuresEveryModeBatchAndMicroBatchCount(@TempDir Path dir) throws Exception {
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), dir);
        List<String> progress = new ArrayList<>();
        DecodeBench.Timing quick = new DecodeBench.Timing(Duration.ZERO, Duration.ofMillis(50));
        List<AfdBench.Run> runs;
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            runs = AfdBench.run(checkpoint, new int[] {1, 3}, new int[] {2}, 2, WireDtype.WIRE_BF16, quick,
                    progress::add);
        }

        assertThat(runs).extracting(r -> r.mode() + " b" + r.batch()).containsExactly(
                "single process b1", "single process m=2 b1", "single process b3", "single process m=2 b3",
                "disaggregated m=1 b1", "disaggregated m=2 b1", "disaggregated m=1 b3", "disaggregated m=2 b3",
                "one core per side m=1 b1", "one core per side m=2 b1", "one core per side m=1 b3",
                "one core per side m=2 b3");
        int cores = Runtime.getRuntime().availableProcessors();
        for (AfdBench.Run r : runs) {
            assertThat(r.tokensPerSecond()).as(r.mode()).isPositive();
            assertThat(r.decodedTokens()).as(r.mode()).isGreaterThanOrEqualTo(2L * r.batch());
            assertThat(r.coresBusy()).as(r.mode()).isPositive().isLessThan(cores + 0.5);
            boolean wire = !r.mode().startsWith("single");
            assertThat(r.exchange() != null).as(r.mode()).isEqualTo(wire);
            assertThat(r.pipelined()).as(r.mode()).isEqualTo(wire && r.microBatches() > 1);
            if (wire) {
                // Every layer of every timed step went over the wire, and a token's rows cross it both ways.
                assertThat(r.exchange().exchanges()).as(r.mode()).isGreaterThanOrEqualTo(
                        r.decodedTokens() / r.batch() * checkpointLayers(dir));
                assertThat(r.wireBytesPerToken()).as(r.mode()).isGreaterThan(0);
            }
        }
        assertThat(progress).contains("one core per side m=2, batch 3");
    }

    private static long checkpointLayers(Path dir) {
        try (Checkpoint c = Checkpoint.open(dir)) {
            return c.config().numLayers();
        }
    }
}
