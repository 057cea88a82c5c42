package dev.afd.model.kernels;

import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Halfs;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Loads stored weights (BF16, F16 or F32, little-endian) as f32 vectors of the preferred species. Every kernel works
 * in f32 lanes; 16-bit weights are widened right after the load, so memory traffic stays at the stored size.
 */
final class Widen {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Half as wide as {@link #F}: one load gives exactly {@link #LANES} 16-bit values. */
    private static final VectorSpecies<Short> H =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Widen() {}

    /**
     * {@link #LANES} consecutive elements starting at {@code byteOffset}. The dtype tests are loop-invariant in every
     * caller, so the JIT unswitches them out of the hot loops.
     */
    static FloatVector load(DType t, MemorySegment seg, long byteOffset) {
        if (t == DType.BF16) {
            return bf16(seg, byteOffset);
        } else if (t == DType.F16) {
            return f16(seg, byteOffset);
        }
        return FloatVector.fromMemorySegment(F, seg, byteOffset, LE);
    }

    /** bf16 is the high half of an f32: shift the 16 stored bits up. */
    private static FloatVector bf16(MemorySegment seg, long byteOffset) {
        return halves(seg, byteOffset).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * Moves the 5-bit exponent and 10-bit mantissa into f32 position and rebiases by multiplying with 2^112, which
     * is exact and also turns f16 subnormals into the right normal f32 values; Inf and NaN (exponent all ones) get
     * the f32 all-ones exponent instead, keeping the NaN payload and, like {@link Float#float16ToFloat}, quieting it.
     */
    private static FloatVector f16(MemorySegment seg, long byteOffset) {
        IntVector h = halves(seg, byteOffset);
        IntVector magnitude = h.and(0x7FFF);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        IntVector finite = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> infOrNan = magnitude.compare(VectorOperators.GE, 0x7C00);
        VectorMask<Integer> nan = magnitude.compare(VectorOperators.GT, 0x7C00);
        IntVector bits = finite.blend(shifted.or(0x7F800000), infOrNan).blend(shifted.or(0x7FC00000), nan);
        return bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    private static IntVector halves(MemorySegment seg, long byteOffset) {
        return (IntVector) ShortVector.fromMemorySegment(H, seg, byteOffset, LE)
                .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
    }

    /** One element, for the scalar tails of the vector loops. */
    static float get(DType t, MemorySegment seg, long byteOffset) {
        return switch (t) {
            case BF16 -> Halfs.bf16ToFloat(seg.get(Tensor.SHORT_LE, byteOffset));
            case F16 -> Halfs.f16ToFloat(seg.get(Tensor.SHORT_LE, byteOffset));
            case F32 -> seg.get(Tensor.FLOAT_LE, byteOffset);
        };
    }

    /** Widens {@code count} elements starting at {@code byteOffset} into {@code dst[dstOff...]}. */
    static void toFloats(DType t, MemorySegment seg, long byteOffset, float[] dst, int dstOff, int count) {
        int es = t.byteSize();
        int bound = F.loopBound(count);
        int i = 0;
        for (; i < bound; i += LANES) {
            load(t, seg, byteOffset + (long) i * es).intoArray(dst, dstOff + i);
        }
        for (; i < count; i++) {
            dst[dstOff + i] = get(t, seg, byteOffset + (long) i * es);
        }
    }
}
