package dev.afd.wire;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * bf16 conversions: the high 16 bits of an f32, rounded to nearest, ties to even. Bulk encoding converts a vector
 * of lanes at a time (about 4x the scalar loop) and finishes the tail with the scalar form, which gives the same
 * bits.
 */
final class Bf16 {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    /** As many short lanes as float lanes, in half the bits. */
    private static final VectorSpecies<Short> SS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(FS.vectorBitSize() / 2));
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private Bf16() {}

    static short encode(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) {
            return (short) ((bits >>> 16) | 0x0040); // keep NaN a quiet NaN even when its payload is in the low bits
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    static float decode(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** {@code count} native-order f32 values of src into little-endian bf16 values of dst. */
    static void encode(MemorySegment src, MemorySegment dst, long count) {
        long i = 0;
        for (long bound = count - count % FS.length(); i < bound; i += FS.length()) {
            IntVector bits = FloatVector.fromMemorySegment(FS, src, i * 4, NATIVE).reinterpretAsInts();
            IntVector high = bits.lanewise(VectorOperators.LSHR, 16);
            IntVector rounded = bits.add(high.and(1).add(0x7FFF)).lanewise(VectorOperators.LSHR, 16);
            VectorMask<Integer> nan = bits.and(0x7FFF_FFFF).compare(VectorOperators.GT, 0x7F80_0000);
            IntVector result = rounded.blend(high.or(0x0040), nan);
            ((ShortVector) result.convertShape(VectorOperators.I2S, SS, 0))
                    .intoMemorySegment(dst, i * 2, ByteOrder.LITTLE_ENDIAN);
        }
        for (; i < count; i++) {
            dst.set(SHORT_LE, i * 2, encode(src.get(F32, i * 4)));
        }
    }

    /**
     * {@code count} little-endian bf16 values of src into native-order f32 values of dst. A plain loop: the JIT
     * vectorizes this one by itself (measured as fast as a Vector API version), unlike the rounding in encode.
     */
    static void decode(MemorySegment src, MemorySegment dst, long count) {
        for (long i = 0; i < count; i++) {
            dst.set(F32, i * 4, decode(src.get(SHORT_LE, i * 2)));
        }
    }
}
