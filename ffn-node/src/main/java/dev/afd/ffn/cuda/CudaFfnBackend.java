package dev.afd.ffn.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSynchronize;

import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertRange;
import dev.afd.ffn.core.ExpertSet;
import dev.afd.ffn.core.FfnArguments;
import dev.afd.ffn.core.FfnBackend;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.ModelWeights;
import dev.afd.model.ffn.FfnBatch;
import dev.afd.model.ffn.FfnLayerWeights;
import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.kernels.MoeWeights;
import dev.afd.model.safetensors.LoadProgress;
import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import jcuda.CudaException;
import jcuda.driver.CUresult;

/**
 * The FFN on an NVIDIA GPU, with the kernels of {@code ffn.cu}.
 *
 * <p>At creation the weights this node serves are uploaded once, as bf16: every dense layer's MLP, every MoE
 * layer's shared expert, and this node's slice of every MoE layer's routed experts. Each
 * {@link #compute} then sends the frame's activations and routing tables up, runs the grouped MLPs and the
 * combine, and brings the result back. Numerics: activations and the MLPs' intermediate are rounded to bf16 (the
 * tensor cores' input type), accumulation is f32, and the combine adds in the CPU backend's order; results agree
 * with {@link dev.afd.ffn.core.CpuFfnBackend} to within bf16 rounding, not bit for bit.
 *
 * <p>Errors: a CUDA error fails its call; a sticky one (the context is unusable from then on) also fails every later
 * call and is reported by {@link #failure()}, for the node's health.
 *
 * <p>Threading: any thread may call {@link #compute}; calls are handed to the GPU's CUDA thread and run one at a
 * time. Ownership: owns its GPU memory until {@link #close}; the GPU context belongs to {@link CudaProbe}. The
 * checkpoint may be closed once the backend is created.
 */
public final class CudaFfnBackend implements FfnBackend, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CudaFfnBackend.class.getName());
    /** Left free beyond the weights for the per-frame workspace and the driver. */
    private static final long HEADROOM_BYTES = 1L << 30;
    /** Pinned staging buffer for the upload. */
    private static final long STAGING_BYTES = 64L << 20;
    private static final double GIB = 1L << 30;

    private final CudaDevice device;
    private final ModelWeights weights;
    private final ExpertRange experts;
    private final int hidden;
    private final List<DeviceLayer> layers;
    private final FfnRunner runner;
    private final long weightBytes;
    private boolean closed;
    /** The sticky CUDA error that broke the context, or null; written on the CUDA thread, read by any. */
    private volatile String failure;

    private CudaFfnBackend(CudaDevice device, ModelWeights weights, ExpertRange experts, int hidden,
            List<DeviceLayer> layers, FfnRunner runner) {
        this.device = device;
        this.weights = weights;
        this.experts = experts;
        this.hidden = hidden;
        this.layers = List.copyOf(layers);
        this.runner = runner;
        this.weightBytes = layers.stream().mapToLong(DeviceLayer::bytes).sum();
    }

    /**
     * Uploads this node's weights to the probed GPU.
     *
     * @throws IllegalArgumentException when {@code experts} exceeds the model's routed experts
     * @throws CudaUnavailableException when there is no usable GPU, the weights are not bf16 or have sizes the
     *     kernels cannot take, or they do not fit in GPU memory; the message says which
     */
    public static CudaFfnBackend create(ModelConfig config, ModelWeights weights, ExpertRange experts) {
        experts.requireWithin(config.numExperts());
        CudaDevice device = CudaProbe.device();
        long bytes = 0;
        for (FfnLayerWeights l : weights.ffnLayers()) {
            for (Tensor t : tensors(l)) {
                requireSupported(t);
            }
            bytes += layerBytes(l, experts);
        }
        long needed = bytes;
        return device.thread().call(() -> upload(device, config, weights, experts, needed));
    }

    private static CudaFfnBackend upload(CudaDevice device, ModelConfig config, ModelWeights weights,
            ExpertRange experts, long needed) {
        List<DeviceLayer> layers = new ArrayList<>();
        try {
            // Inside the try: a CUDA error here, as anywhere in the upload, must become a CudaUnavailableException
            // so that backend "auto" falls back to the CPU.
            long free = device.freeBytes();
            if (needed + HEADROOM_BYTES > free) {
                throw new CudaUnavailableException(String.format(Locale.ROOT, "this node's weights need %.1f GiB"
                        + " on the GPU (plus %.1f GiB of workspace) but only %.1f GiB are free; give the node fewer"
                        + " experts with --experts", needed / GIB, HEADROOM_BYTES / GIB, free / GIB));
            }
            LoadProgress progress = LoadProgress.logged("uploading this node's weights to the GPU", needed);
            try (PinnedBuffer staging = new PinnedBuffer(STAGING_BYTES)) {
                for (FfnLayerWeights l : weights.ffnLayers()) {
                    layers.add(l.isMoe() ? uploadMoe(l.moe(), experts, staging)
                            : new DeviceLayer(DeviceMlp.upload(l.dense(), staging), null));
                    progress.advance(layerBytes(l, experts));
                }
            }
            progress.finish();
            // The runner frees what it created when its constructor fails; the layers are freed below.
            return new CudaFfnBackend(device, weights, experts, config.hiddenSize(), layers,
                    new FfnRunner(device.kernels(), config.hiddenSize()));
        } catch (RuntimeException e) {
            for (DeviceLayer layer : layers) {
                try {
                    layer.free();
                } catch (RuntimeException freeing) {
                    e.addSuppressed(freeing);
                }
            }
            if (e instanceof CudaUnavailableException unavailable) {
                throw unavailable;
            }
            throw new CudaUnavailableException("uploading the weights to the GPU failed: "
                    + CudaDevice.messages(e), e);
        }
    }

    /** One MoE layer's shared expert and this node's routed experts; on failure nothing stays allocated. */
    private static DeviceLayer uploadMoe(MoeWeights m, ExpertRange experts, PinnedBuffer staging) {
        DeviceMlp shared = DeviceMlp.upload(m.shared(), staging);
        try {
            return new DeviceLayer(shared, DeviceMlp.upload(m.gate(), m.up(), m.down(), m.limit(), experts.first(),
                    experts.size(), staging));
        } catch (RuntimeException e) {
            shared.free();
            throw e;
        }
    }

    private static List<Tensor> tensors(FfnLayerWeights l) {
        if (!l.isMoe()) {
            return List.of(l.dense().gate(), l.dense().up(), l.dense().down());
        }
        MlpWeights s = l.moe().shared();
        return List.of(s.gate(), s.up(), s.down(), l.moe().gate(), l.moe().up(), l.moe().down());
    }

    private static void requireSupported(Tensor t) {
        if (t.dtype() != DType.BF16) {
            throw new CudaUnavailableException("the CUDA kernels take bf16 weights, but " + t + " is "
                    + t.dtype().safetensorsCode() + "; use the CPU backend or a bf16 checkpoint");
        }
        long[] shape = t.shape();
        if (shape[shape.length - 1] % 8 != 0 || shape[shape.length - 2] % 8 != 0) {
            throw new CudaUnavailableException("the CUDA kernels need hidden and intermediate sizes that are"
                    + " multiples of 8 (16-byte loads), but " + t + " has other sizes; use the CPU backend");
        }
    }

    /** What one layer puts on the GPU: its dense MLP, or its shared expert and this node's routed experts. */
    private static long layerBytes(FfnLayerWeights l, ExpertRange experts) {
        return l.isMoe() ? mlpBytes(l.moe().shared()) + ownExpertBytes(l.moe(), experts) : mlpBytes(l.dense());
    }

    private static long mlpBytes(MlpWeights m) {
        return m.gate().data().byteSize() + m.up().data().byteSize() + m.down().data().byteSize();
    }

    private static long ownExpertBytes(MoeWeights m, ExpertRange experts) {
        return (m.gate().data().byteSize() + m.up().data().byteSize() + m.down().data().byteSize())
                / m.numExperts() * experts.size();
    }

    @Override
    public float[] compute(FfnBatch batch) {
        FfnArguments.check(weights, ExpertSet.of(experts), hidden, batch);
        int layer = batch.layer();
        int rows = batch.rows();
        float[] x = batch.x();
        if (batch.sharedRows().length == 0 && !batch.routing().anyRouted()) {
            return new float[rows * hidden]; // nothing to compute: no GPU round trip
        }
        RoutingPlan plan = RoutingPlan.of(batch, experts);
        return device.thread().call(() -> {
            if (closed) {
                throw new IllegalStateException("the CUDA backend has been closed");
            }
            if (failure != null) {
                throw new IllegalStateException("the CUDA backend stopped after " + failure + "; restart the node");
            }
            try {
                return runner.run(layers.get(layer), x, plan);
            } catch (CudaException e) {
                throw failed(e, "layer " + layer + " with " + rows + " rows");
            }
        });
    }

    /**
     * What a CUDA error of one call means. A sticky error (an illegal address, a kernel that trapped) breaks the
     * context for good: every later call would fail too, so the backend records it, refuses further work and
     * reports it through {@link #failure()}. Anything else, an out-of-memory for the frame's workspace above all,
     * fails this call only.
     */
    private IllegalStateException failed(CudaException e, String where) {
        if (contextBroken()) {
            failure = "the CUDA error " + e.getMessage() + " on " + where;
            LOG.log(System.Logger.Level.ERROR, "CUDA backend: {0}; the GPU context is unusable, so this backend"
                    + " computes nothing more: restart the node", failure);
            return new IllegalStateException("CUDA failed on " + where + ": " + e.getMessage() + "; the GPU"
                    + " context is unusable (a sticky error): restart the node", e);
        }
        if (CUresult.stringFor(CUresult.CUDA_ERROR_OUT_OF_MEMORY).equals(e.getMessage())) {
            return new IllegalStateException("the GPU has no memory left for the workspace of " + where
                    + " (" + e.getMessage() + "); send smaller frames, or give the node fewer experts", e);
        }
        return new IllegalStateException("CUDA failed on " + where + ": " + e.getMessage(), e);
    }

    /** After a sticky error every call fails, a synchronisation included; after any other it succeeds. */
    private static boolean contextBroken() {
        try {
            cuCtxSynchronize();
            return false;
        } catch (CudaException e) {
            return true;
        }
    }

    /** Empty while healthy; after a sticky CUDA error, that error and where it happened. */
    @Override
    public Optional<String> failure() {
        return Optional.ofNullable(failure);
    }

    @Override
    public ExpertSet experts() {
        return ExpertSet.of(experts);
    }

    @Override
    public String name() {
        return "cuda";
    }

    /** For logs: the GPU and what is on it. */
    public String describe() {
        return String.format(Locale.ROOT, "%s; %.2f GiB of weights (experts %s of %d layers)", device.describe(),
                weightBytes / GIB, experts, layers.size());
    }

    /** This backend's layers on the GPU, for benchmarks in this package. */
    DeviceLayer layer(int layer) {
        return layers.get(layer);
    }

    /** The runner, for benchmarks in this package; CUDA thread only. */
    FfnRunner runner() {
        return runner;
    }

    CudaDevice device() {
        return device;
    }

    /** Frees the GPU memory; later {@link #compute} calls fail. Safe to call more than once. */
    @Override
    public void close() {
        device.thread().call(() -> {
            if (!closed) {
                closed = true;
                layers.forEach(DeviceLayer::free);
                runner.close();
            }
            return null;
        });
    }
}
