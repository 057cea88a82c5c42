package dev.afd.ffn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertRange;
import dev.afd.ffn.core.ExpertSet;
import dev.afd.ffn.core.TinyModel;
import dev.afd.ffn.cuda.CudaFfnBackend;
import dev.afd.ffn.cuda.CudaProbe;
import dev.afd.ffn.cuda.CudaUnavailableException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Backend choice. Without a GPU driver (the build machines) the fallback runs; with a GPU, the CUDA choice. */
class BackendSelectorTest {
    @TempDir
    static Path dir;

    static TinyModel tiny;

    @BeforeAll
    static void makeModel() throws Exception {
        tiny = new TinyModel(dir);
    }

    @AfterAll
    static void closeModel() {
        tiny.close();
    }

    private static BackendSelector.Selection select(BackendKind kind) {
        return BackendSelector.select(kind, tiny.config, tiny.checkpoint.weights(), ExpertSet.of(new ExpertRange(0, 7)));
    }

    private static CudaProbe.Verdict noGpu() {
        CudaProbe.Verdict verdict = CudaProbe.verdict();
        assumeFalse(verdict.available(), "this machine has a usable GPU: " + verdict.description());
        return verdict;
    }

    @Test
    void parsesTheOptionValues() {
        assertThat(BackendKind.parse("auto")).isEqualTo(BackendKind.AUTO);
        assertThat(BackendKind.parse(" CUDA ")).isEqualTo(BackendKind.CUDA);
        assertThat(BackendKind.parse("cpu")).hasToString("cpu");
        assertThatThrownBy(() -> BackendKind.parse("gpu"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--backend must be auto, cpu or cuda, got 'gpu'");
    }

    @Test
    void theProbeRunsOnceAndNamesTheMissingDriver() {
        CudaProbe.Verdict verdict = noGpu();
        assertThat(CudaProbe.verdict()).isSameAs(verdict);
        // Only a machine without the driver library has this reason; one with a driver but no GPU has another.
        assumeTrue(verdict.description().startsWith("no CUDA driver"), verdict.description());
        assertThat(verdict.description()).startsWith("no CUDA driver: libcuda.so.1 cannot be loaded (")
                .endsWith("); install the NVIDIA driver to use the GPU");
    }

    @Test
    void autoFallsBackToTheCpuAndSaysWhy() {
        CudaProbe.Verdict verdict = noGpu();
        BackendSelector.Selection s = select(BackendKind.AUTO);
        assertThat(s.backend()).isInstanceOf(CpuFfnBackend.class);
        assertThat(s.backend().name()).isEqualTo("cpu");
        assertThat(s.why()).isEqualTo("cpu (auto: " + verdict.description() + ")");
    }

    @Test
    void cudaFailsFastWithTheProbesReason() {
        CudaProbe.Verdict verdict = noGpu();
        assertThatThrownBy(() -> select(BackendKind.CUDA))
                .isInstanceOf(CudaUnavailableException.class)
                .hasMessage(verdict.description());
    }

    @Test
    void cpuIsTheCpu() {
        BackendSelector.Selection s = select(BackendKind.CPU);
        assertThat(s.backend()).isInstanceOf(CpuFfnBackend.class);
        assertThat(s.why()).isEqualTo("cpu (asked for)");
    }

    @Test
    void aRangeBeyondTheModelIsRefusedWhateverTheBackend() {
        for (BackendKind kind : BackendKind.values()) {
            assertThatThrownBy(() -> BackendSelector.select(kind, tiny.config, tiny.checkpoint.weights(),
                    ExpertSet.of(new ExpertRange(4, 8))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("experts 4-8 exceed the model's 8 routed experts; pick a range within 0-7");
        }
    }

    @Test
    void withAGpuAutoAndCudaPickTheGpu() throws Exception {
        CudaProbe.Verdict verdict = CudaProbe.verdict();
        assumeTrue(verdict.available(), "no usable GPU: " + verdict.description());
        for (BackendKind kind : new BackendKind[] {BackendKind.AUTO, BackendKind.CUDA}) {
            BackendSelector.Selection s = select(kind);
            try (CudaFfnBackend cuda = (CudaFfnBackend) s.backend()) {
                assertThat(cuda.name()).isEqualTo("cuda");
                assertThat(s.why()).startsWith("cuda on " + verdict.description());
            }
        }
    }
}
