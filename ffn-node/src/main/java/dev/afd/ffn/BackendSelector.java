package dev.afd.ffn;

import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertSet;
import dev.afd.ffn.core.FfnBackend;
import dev.afd.ffn.cuda.CudaFfnBackend;
import dev.afd.ffn.cuda.CudaProbe;
import dev.afd.ffn.cuda.CudaUnavailableException;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.ModelWeights;

/**
 * Picks the ffn-node's compute backend and says why, in one log line at start-up: never a silent fallback.
 */
public final class BackendSelector {
    private static final System.Logger LOG = System.getLogger(BackendSelector.class.getName());

    private BackendSelector() {}

    /**
     * The backend in use and why it was chosen.
     *
     * @param backend the backend; a {@link CudaFfnBackend} holds GPU memory until closed
     * @param why for logs, e.g. {@code cuda on NVIDIA H200 (...)} or
     *     {@code cpu (auto: no CUDA driver: libcuda.so.1 cannot be loaded ...)}
     */
    public record Selection(FfnBackend backend, String why) {}

    /**
     * Selects and creates the backend, probing for a GPU unless {@code kind} is {@link BackendKind#CPU}.
     *
     * @throws CudaUnavailableException for {@link BackendKind#CUDA} when the CUDA backend cannot run, with the
     *     reason
     * @throws IllegalArgumentException when {@code experts} exceeds the model's routed experts, or has gaps where
     *     the CUDA backend is asked for (it holds one contiguous range)
     */
    public static Selection select(BackendKind kind, ModelConfig config, ModelWeights weights,
            ExpertSet experts) {
        Selection s = switch (kind) {
            case CPU -> cpu(config, weights, experts, "cpu (asked for)");
            case CUDA -> cuda(config, weights, experts);
            case AUTO -> auto(config, weights, experts);
        };
        LOG.log(System.Logger.Level.INFO, "ffn backend: {0}", s.why());
        return s;
    }

    private static Selection auto(ModelConfig config, ModelWeights weights, ExpertSet experts) {
        experts = experts.requireWithin(config.numExperts());
        CudaProbe.Verdict verdict = CudaProbe.verdict();
        if (!verdict.available()) {
            return cpu(config, weights, experts, "cpu (auto: " + verdict.description() + ")");
        }
        if (experts.ranges().size() != 1) {
            return cpu(config, weights, experts, "cpu (auto: the CUDA backend holds one contiguous range of experts,"
                    + " this node holds " + experts + ")");
        }
        try {
            return cuda(config, weights, experts);
        } catch (CudaUnavailableException e) {
            // A GPU is there but cannot take this model: worth more than an info line.
            LOG.log(System.Logger.Level.WARNING, "a GPU is present but the CUDA backend cannot run: {0}",
                    e.getMessage());
            return cpu(config, weights, experts, "cpu (auto: " + e.getMessage() + ")");
        }
    }

    private static Selection cuda(ModelConfig config, ModelWeights weights, ExpertSet experts) {
        CudaFfnBackend cuda = CudaFfnBackend.create(config, weights,
                experts.requireWithin(config.numExperts()).asRange("CUDA"));
        return new Selection(cuda, "cuda on " + cuda.describe());
    }

    private static Selection cpu(ModelConfig config, ModelWeights weights, ExpertSet experts, String why) {
        return new Selection(new CpuFfnBackend(config, weights, experts), why);
    }
}
