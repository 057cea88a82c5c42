package dev.afd.ffn.cuda;

import dev.afd.ffn.core.ExpertRange;
import dev.afd.ffn.core.FfnBackend;
import dev.afd.model.ffn.FfnBatch;
import dev.afd.model.ffn.Routing;
import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Halfs;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Locale;
import java.util.Random;

/**
 * The probe's last step: one small MoE layer through every kernel and path (tensor cores, both GEMV variants,
 * the shared MLP, the combine, the SwiGLU clamps), compared with a plain Java reference that rounds where the GPU rounds (activations
 * and the intermediate to bf16). Shapes are chosen to leave partial tiles in every dimension and to take every
 * loop of the kernels more than once: {@code HIDDEN} and {@code INTER} span 33 k-tiles of the tensor-core path (its
 * 4-stage ring of shared-memory stages goes round 8 times) and two activation chunks of the GEMV paths (1024 + a
 * partial one). A GPU that loads the module but computes wrong answers (a driver bug, a miscompiled JIT) is caught
 * here, before serving.
 */
final class SelfTest {
    private static final int HIDDEN = 1032;
    private static final int INTER = 1040;
    private static final int SHARED_INTER = 48;
    private static final int EXPERTS = 3;
    private static final int ROWS = 16;
    private static final int K = 2;
    /** SwiGLU limits below the activations' spread of about 1, so that both clamps change many elements. */
    private static final float ROUTED_LIMIT = 1.0f;
    private static final float SHARED_LIMIT = 0.75f;
    /** Allowed error relative to the largest reference value: far above rounding, far below any indexing bug. */
    private static final double TOLERANCE = 1e-2;

    private SelfTest() {}

    /**
     * Runs the test on the device's thread.
     *
     * @throws CudaUnavailableException when the GPU's answer differs from the reference
     */
    static void run(CudaDevice device) {
        device.thread().requireCurrent();
        Random random = new Random(20240607);
        // Slot 0 of every row goes to expert 0 (16 rows: tensor cores); slot 1 of rows 0-4 to expert 1 (5 rows:
        // GEMV8), of row 5 to expert 2 (1 row: GEMV2); the other slots belong to other nodes.
        int[] ids = new int[ROWS * K];
        float[] weights = new float[ROWS * K];
        for (int r = 0; r < ROWS; r++) {
            ids[r * K + 1] = r < 5 ? 1 : r == 5 ? 2 : -1;
            weights[r * K] = random.nextFloat();
            weights[r * K + 1] = random.nextFloat();
        }
        int[] sharedRows = {3, 0, 7};
        float[] x = new float[ROWS * HIDDEN];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        try (Arena arena = Arena.ofConfined(); PinnedBuffer staging = new PinnedBuffer(1 << 20);
                FfnRunner runner = new FfnRunner(device.kernels(), HIDDEN)) {
            Tensor gate = random(arena, random, "gate", EXPERTS, INTER, HIDDEN);
            Tensor up = random(arena, random, "up", EXPERTS, INTER, HIDDEN);
            Tensor down = random(arena, random, "down", EXPERTS, HIDDEN, INTER);
            MlpWeights shared = new MlpWeights(random(arena, random, "shared.gate", SHARED_INTER, HIDDEN),
                    random(arena, random, "shared.up", SHARED_INTER, HIDDEN),
                    random(arena, random, "shared.down", HIDDEN, SHARED_INTER), SHARED_LIMIT);
            DeviceLayer layer = new DeviceLayer(DeviceMlp.upload(shared, staging),
                    DeviceMlp.upload(gate, up, down, ROUTED_LIMIT, 0, EXPERTS, staging));
            try {
                FfnBatch batch = new FfnBatch(0, x, HIDDEN, sharedRows, new Routing(ROWS, K, ids, weights));
                float[] actual = runner.run(layer, x, RoutingPlan.of(batch, new ExpertRange(0, EXPERTS - 1)));
                float[] expected = reference(x, sharedRows, ids, weights, shared, gate, up, down);
                compare(actual, expected);
            } finally {
                layer.free();
            }
        }
    }

    private static void compare(float[] actual, float[] expected) {
        double scale = 0;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(actual[i] - expected[i]) <= TOLERANCE * scale)) {
                throw new CudaUnavailableException(String.format(Locale.ROOT, "the CUDA self-test disagrees with"
                        + " the CPU reference at row %d, column %d: %g instead of %g (largest value %g); the kernels"
                        + " are not usable on this GPU", i / HIDDEN, i % HIDDEN, actual[i], expected[i], scale));
            }
        }
    }

    /** Row by row, as {@link dev.afd.ffn.core.FfnBackend#compute} defines the result. */
    private static float[] reference(float[] x, int[] sharedRows, int[] ids, float[] weights, MlpWeights shared,
            Tensor gate, Tensor up, Tensor down) {
        float[] out = new float[ROWS * HIDDEN];
        for (int r : sharedRows) {
            float[] y = mlp(x, r, shared.gate(), shared.up(), shared.down(), 0, SHARED_INTER, SHARED_LIMIT);
            System.arraycopy(y, 0, out, r * HIDDEN, HIDDEN);
        }
        for (int s = 0; s < ROWS * K; s++) {
            if (ids[s] >= 0) {
                float[] y = mlp(x, s / K, gate, up, down, ids[s], INTER, ROUTED_LIMIT);
                for (int c = 0; c < HIDDEN; c++) {
                    int o = s / K * HIDDEN + c;
                    out[o] = Math.fma(weights[s], y[c], out[o]);
                }
            }
        }
        return out;
    }

    /**
     * One row through expert {@code e} of stacked (or, for e = 0, plain) weights, rounding like the GPU, with
     * {@code min(silu(g), limit) * clamp(u, -limit, limit)}.
     */
    private static float[] mlp(float[] x, int row, Tensor gate, Tensor up, Tensor down, int e, int inter,
            float limit) {
        float[] h = new float[inter];
        for (int n = 0; n < inter; n++) {
            double g = 0;
            double u = 0;
            for (int c = 0; c < HIDDEN; c++) {
                double xc = bf16(x[row * HIDDEN + c]);
                g += xc * gate.getFloat(((long) e * inter + n) * HIDDEN + c);
                u += xc * up.getFloat(((long) e * inter + n) * HIDDEN + c);
            }
            double silu = Math.min(g / (1 + Math.exp(-g)), limit);
            h[n] = bf16((float) (silu * Math.max(-limit, Math.min(limit, u))));
        }
        float[] y = new float[HIDDEN];
        for (int m = 0; m < HIDDEN; m++) {
            double sum = 0;
            for (int n = 0; n < inter; n++) {
                sum += h[n] * (double) down.getFloat(((long) e * HIDDEN + m) * inter + n);
            }
            y[m] = (float) sum;
        }
        return y;
    }

    private static float bf16(float v) {
        return Halfs.bf16ToFloat(Halfs.floatToBf16(v));
    }

    /** A bf16 tensor of N(0, 1/fan-in) values, so that outputs stay near 1. */
    private static Tensor random(Arena arena, Random random, String name, long... shape) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        double std = 1 / Math.sqrt(shape[shape.length - 1]);
        MemorySegment data = arena.allocate(2 * count, 16);
        for (long i = 0; i < count; i++) {
            data.set(Tensor.SHORT_LE, 2 * i, Halfs.floatToBf16((float) (random.nextGaussian() * std)));
        }
        return new Tensor(name, DType.BF16, shape, data);
    }
}
