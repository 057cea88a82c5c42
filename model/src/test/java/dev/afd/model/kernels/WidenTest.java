package dev.afd.model.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Halfs;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class WidenTest {
    /** Every 16-bit pattern (zeros, subnormals, Inf, NaN payloads included) widens to the scalar conversion's bits. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void vectorWideningMatchesScalarForEveryBitPattern(DType t) {
        int count = 1 << 16;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(2L * count + 6);
            for (int bits = 0; bits < count; bits++) {
                data.set(Tensor.SHORT_LE, 2L * bits + 6, (short) bits);
            }
            float[] widened = new float[count];
            // Starting 3 elements in: unaligned loads, and a scalar tail.
            Widen.toFloats(t, data, 6, widened, 0, count);
            for (int bits = 0; bits < count; bits++) {
                float expected = t == DType.BF16 ? Halfs.bf16ToFloat((short) bits) : Halfs.f16ToFloat((short) bits);
                assertThat(Float.floatToRawIntBits(widened[bits])).as("%s bits 0x%04x", t, bits)
                        .isEqualTo(Float.floatToRawIntBits(expected));
            }
        }
    }
}
