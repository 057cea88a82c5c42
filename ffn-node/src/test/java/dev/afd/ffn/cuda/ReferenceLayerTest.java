package dev.afd.ffn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.afd.ffn.core.Batches;
import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertRange;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java side of the GPU check's full-size comparison, on any machine: {@code step3_reference.py tiny} writes a
 * small layer with numpy, in the same layout and with the same math as the full-size one it makes with PyTorch on
 * the GPU machine, and the CPU backend must reproduce its reference through {@link ReferenceLayer}. Skipped where
 * python3 with numpy is missing.
 */
class ReferenceLayerTest {
    /** From ffn-node/, where both Maven and device-check.sh run the tests. */
    private static final Path SCRIPT = Path.of("../benchmarks/gpu/step3_reference.py");

    private static Path tinyLayer(Path dir) throws Exception {
        assumeTrue(Files.isRegularFile(SCRIPT), SCRIPT + " is not there");
        Process p;
        try {
            p = new ProcessBuilder("python3", SCRIPT.toString(), "tiny", dir.toString()).redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            assumeTrue(false, "no python3: " + e.getMessage());
            throw e;
        }
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assumeTrue(!log.contains("No module named 'numpy'"), "python3 has no numpy");
        assertThat(p.exitValue()).as("step3_reference.py tiny:%n%s", log).isZero();
        return dir.resolve("layer.safetensors");
    }

    @Test
    void theCpuBackendReproducesTheNumpyReference(@TempDir Path dir) throws Exception {
        try (ReferenceLayer layer = new ReferenceLayer(tinyLayer(dir))) {
            assertThat(layer.shape).isEqualTo(new SyntheticModel.Shape(72, 0, 6, 3, 40, 24));
            CpuFfnBackend cpu = new CpuFfnBackend(layer.config, layer.weights,
                    new ExpertRange(0, layer.shape.experts() - 1));
            for (int rows : new int[] {1, 7, layer.rows}) {
                float[] out = cpu.compute(Batches.of(layer.shape.hidden(), SyntheticModel.MOE_LAYER, layer.x(rows),
                        rows, ReferenceLayer.allRows(rows), layer.shape.topK(), layer.expertIds(rows),
                        layer.expertWeights(rows)));
                ReferenceLayer.Comparison c = layer.compare(out);
                assertThat(c.passes()).as("%d rows: %s", rows, c).isTrue();
                // The CPU keeps x in f32 where the reference rounds it to bf16: close, but not equal.
                assertThat(c.relativeL2()).as("%d rows", rows).isGreaterThan(0);
            }
        }
    }

    @Test
    void aWrongOutputFailsTheComparison(@TempDir Path dir) throws Exception {
        try (ReferenceLayer layer = new ReferenceLayer(tinyLayer(dir))) {
            int rows = 4;
            CpuFfnBackend cpu = new CpuFfnBackend(layer.config, layer.weights,
                    new ExpertRange(0, layer.shape.experts() - 1));
            int[] ids = layer.expertIds(rows);
            ids[1] = (ids[1] + 1) % layer.shape.experts(); // one slot of row 0 to the wrong expert
            float[] out = cpu.compute(Batches.of(layer.shape.hidden(), SyntheticModel.MOE_LAYER, layer.x(rows), rows,
                    ReferenceLayer.allRows(rows), layer.shape.topK(), ids, layer.expertWeights(rows)));
            assertThat(layer.compare(out).passes()).isFalse();
            out[0] = Float.NaN;
            assertThat(layer.compare(out).relativeL2()).isInfinite();
        }
    }
}
