package dev.afd.model.family;

import java.util.Arrays;

/**
 * One tensor of a family's checkpoint layout, as the model generator writes it: its name, its shape, and what it is
 * (which decides the distribution of its random values).
 */
public record TensorSpec(String name, Kind kind, long... shape) {
    public TensorSpec {
        shape = shape.clone();
    }

    /** What a tensor is; the generator draws each kind from its own distribution. */
    public enum Kind {
        /** Token embeddings. */
        EMBEDDING,
        /** A plain RMSNorm weight (scales by {@code w}). */
        NORM,
        /** A zero-centred RMSNorm weight (scales by {@code 1 + w}). */
        ZERO_CENTRED_NORM,
        /** A linear layer's weight, [out, in] or stacked [E, out, in]. */
        LINEAR,
        /** A MoE router's weight [E, H]. */
        ROUTER,
        /** A MoE router's per-expert selection bias [E]. */
        ROUTER_BIAS,
        /** A head-wise attention gate's weight [heads, H]. */
        GATE,
        /** The output projection to the vocabulary. */
        LM_HEAD
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && t.name.equals(name) && t.kind == kind && Arrays.equals(t.shape, shape);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + kind + " " + Arrays.toString(shape);
    }
}
