package dev.afd.ffn.cuda;

import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.kernels.MoeWeights;
import dev.afd.model.safetensors.SafetensorsFile;
import dev.afd.model.step3.Step3Config;
import dev.afd.model.step3.Step3Weights;
import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * One MoE layer with the reference output of its input rows, as {@code benchmarks/gpu/step3_reference.py} writes
 * it (the file layout is documented there): the weights as a one-layer model for the FFN backends, the rows, their
 * routing (every row also goes through the shared expert) and the expected output.
 *
 * <p>Ownership: maps the file until {@link #close}; the weights are views of that mapping.
 */
final class ReferenceLayer implements AutoCloseable {
    private static final ValueLayout.OfFloat FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** The stated tolerance: relative L2 error of the whole output. */
    static final double RELATIVE_L2 = 1e-2;
    /** The stated tolerance: largest error of one element, against the largest reference value. */
    static final double MAX_ERROR = 2e-2;

    final SyntheticModel.Shape shape;
    final Step3Config config;
    final Step3Weights weights;
    final int rows;
    private final float[] x;
    private final int[] expertIds;
    private final float[] expertWeights;
    private final float[] reference;
    private final Arena arena = Arena.ofShared();

    /**
     * How far an output is from the reference.
     *
     * @param relativeL2 {@code ||actual - reference|| / ||reference||}
     * @param maxError the largest element error over the largest reference value
     */
    record Comparison(double relativeL2, double maxError) {
        boolean passes() {
            return relativeL2 <= RELATIVE_L2 && maxError <= MAX_ERROR;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "relative L2 %.2e, largest %.2e", relativeL2, maxError);
        }
    }

    ReferenceLayer(Path file) {
        try {
            Map<String, Tensor> t = SafetensorsFile.map(file, arena).tensors();
            Tensor gate = bf16(t, "gate", 3);
            Tensor sharedGate = bf16(t, "shared.gate", 2);
            Tensor ids = f32(t, "expert_ids", 2);
            shape = new SyntheticModel.Shape(Math.toIntExact(gate.dim(2)), 0, Math.toIntExact(gate.dim(0)),
                    Math.toIntExact(ids.dim(1)), Math.toIntExact(gate.dim(1)), Math.toIntExact(sharedGate.dim(0)));
            config = SyntheticModel.config(shape);
            MoeWeights moe = new MoeWeights(SyntheticModel.placeholder(arena), gate, bf16(t, "up", 3),
                    bf16(t, "down", 3), new MlpWeights(sharedGate, bf16(t, "shared.up", 2), bf16(t, "shared.down", 2)));
            weights = SyntheticModel.weights(SyntheticModel.placeholder(arena), moe, null);
            rows = Math.toIntExact(ids.dim(0));
            x = floats(f32(t, "x", 2));
            reference = floats(f32(t, "reference", 2));
            expertWeights = floats(f32(t, "expert_weights", 2));
            float[] idValues = floats(ids);
            expertIds = new int[idValues.length];
            for (int i = 0; i < idValues.length; i++) {
                expertIds[i] = (int) idValues[i];
            }
            if (x.length != rows * shape.hidden() || reference.length != x.length
                    || expertWeights.length != expertIds.length) {
                throw new IllegalArgumentException(file + ": x, reference and the routing disagree on the rows");
            }
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Tensor bf16(Map<String, Tensor> tensors, String name, int rank) {
        return tensor(tensors, name, DType.BF16, rank);
    }

    private static Tensor f32(Map<String, Tensor> tensors, String name, int rank) {
        return tensor(tensors, name, DType.F32, rank);
    }

    private static Tensor tensor(Map<String, Tensor> tensors, String name, DType dtype, int rank) {
        Tensor t = tensors.get(name);
        if (t == null || t.dtype() != dtype || t.shape().length != rank) {
            throw new IllegalArgumentException("the reference layer needs " + name + " as " + dtype + " of rank "
                    + rank + ", found " + t);
        }
        return t;
    }

    private static float[] floats(Tensor t) {
        MemorySegment data = t.data();
        float[] values = new float[Math.toIntExact(data.byteSize() / Float.BYTES)];
        MemorySegment.copy(data, FLOAT, 0, values, 0, values.length);
        return values;
    }

    /** The first {@code n} input rows. */
    float[] x(int n) {
        return Arrays.copyOf(x, n * shape.hidden());
    }

    /** The first {@code n} rows' experts, {@code n × topK}. */
    int[] expertIds(int n) {
        return Arrays.copyOf(expertIds, n * shape.topK());
    }

    /** The first {@code n} rows' routing weights. */
    float[] expertWeights(int n) {
        return Arrays.copyOf(expertWeights, n * shape.topK());
    }

    /** Every one of {@code n} rows goes through the shared expert, as in Step-3. */
    static int[] allRows(int n) {
        int[] all = new int[n];
        Arrays.setAll(all, i -> i);
        return all;
    }

    /** An output for the first {@code actual.length / hidden} rows against the reference. */
    Comparison compare(float[] actual) {
        double diff = 0;
        double norm = 0;
        double worst = 0;
        double scale = 1e-30;
        for (int i = 0; i < actual.length; i++) {
            double d = actual[i] - reference[i];
            diff += d * d;
            norm += (double) reference[i] * reference[i];
            worst = Math.max(worst, Math.abs(d));
            scale = Math.max(scale, Math.abs(reference[i]));
        }
        // NaN compares false everywhere; make it fail.
        double relative = Double.isNaN(diff) ? Double.POSITIVE_INFINITY : Math.sqrt(diff / Math.max(norm, 1e-30));
        return new Comparison(relative, Double.isNaN(worst) ? Double.POSITIVE_INFINITY : worst / scale);
    }

    @Override
    public void close() {
        arena.close();
    }
}
