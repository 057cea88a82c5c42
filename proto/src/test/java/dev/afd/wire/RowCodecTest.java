package dev.afd.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.afd.proto.WireDtype;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** f32 and bf16 rows, shapes, and the zero-copy buffers; fp8 is in {@link RowCodecFp8Test}. */
class RowCodecTest {
    /** Widths that are no multiple of any vector length, so vector bodies and scalar tails both run. */
    private static final int[] WIDTHS = {1, 3, 17, 37, 67, 130};

    static float[] random(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(7) - 3));
        }
        return x;
    }

    private static ByteBuffer le(ByteString bytes) {
        return bytes.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void f32IsExactAndLittleEndian() {
        Random random = new Random(1);
        for (int hidden : WIDTHS) {
            float[] x = random(random, 5 * hidden);
            x[0] = Float.intBitsToFloat(0x7FC0_1234); // a NaN payload survives too
            RowCodec.Encoded e = RowCodec.encode(WireDtype.WIRE_F32, x, 1, 3, hidden);
            assertThat(e.data().size()).isEqualTo(3 * hidden * 4);
            assertThat(e.rowScales().isEmpty()).isTrue();
            ByteBuffer b = le(e.data());
            for (int i = 0; i < 3 * hidden; i++) {
                assertThat(b.getFloat(4 * i)).isEqualTo(x[hidden + i]);
            }
            float[] back = RowCodec.decode(WireDtype.WIRE_F32, e.data(), e.rowScales(), 3, hidden);
            for (int i = 0; i < back.length; i++) {
                assertThat(Float.floatToRawIntBits(back[i])).isEqualTo(Float.floatToRawIntBits(x[hidden + i]));
            }
            float[] whole = RowCodec.decode(WireDtype.WIRE_F32,
                    RowCodec.encode(WireDtype.WIRE_F32, x, 0, 5, hidden).data(), ByteString.EMPTY, 5, hidden);
            assertThat(Float.floatToRawIntBits(whole[0])).isEqualTo(0x7FC0_1234);
        }
    }

    /** Round to nearest even, worked out on exact double distances rather than on bit tricks. */
    static short bf16Reference(float x) {
        int bits = Float.floatToRawIntBits(x);
        if (Float.isNaN(x)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        if (Float.isInfinite(x)) {
            return (short) (bits >>> 16);
        }
        int lower = bits >>> 16; // truncation: the neighbour towards zero
        int upper = lower + 1;
        double below = Math.abs(magnitudeForRounding(lower) - Math.abs((double) x));
        double above = Math.abs(magnitudeForRounding(upper) - Math.abs((double) x));
        if (below < above || (below == above && (lower & 1) == 0)) {
            return (short) lower;
        }
        return (short) upper;
    }

    /** The magnitude of a bf16 pattern; infinity counts as 2^128, as IEEE rounding treats overflow. */
    private static double magnitudeForRounding(int bf16) {
        double v = Math.abs((double) Float.intBitsToFloat((bf16 & 0xFFFF) << 16));
        return Double.isInfinite(v) ? Math.scalb(1.0, 128) : v;
    }

    @Test
    void bf16ScalarEqualsTheReferenceOnRandomBitsAndEdges() {
        Random random = new Random(2);
        float[] edges = {0f, -0f, 1f, -1f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, Float.MIN_NORMAL,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0x3F80_8000),
            Float.intBitsToFloat(0x3F81_8000), Float.intBitsToFloat(0x7F7F_8000), Float.intBitsToFloat(0x7F80_0001)};
        for (float e : edges) {
            assertThat(Bf16.encode(e)).as("%s", e).isEqualTo(bf16Reference(e));
        }
        for (int i = 0; i < 200_000; i++) {
            float x = Float.intBitsToFloat(random.nextInt());
            assertThat(Bf16.encode(x)).as("%08x", Float.floatToRawIntBits(x)).isEqualTo(bf16Reference(x));
        }
    }

    @Test
    void bf16RowsEqualTheReferenceAndDecodeExactly() {
        Random random = new Random(3);
        for (int hidden : WIDTHS) {
            int rows = 4;
            float[] x = random(random, rows * hidden);
            for (int i = 0; i < x.length; i += 7) {
                x[i] = Float.intBitsToFloat(random.nextInt()); // any bit pattern, NaN and infinities included
            }
            for (int i = 3; i < x.length; i += 5) {
                // Exact ties, half of them next to an odd pattern: they must go to the even neighbour.
                x[i] = Float.intBitsToFloat((Float.floatToRawIntBits(x[i]) & 0xFFFF_0000) | 0x8000);
            }
            RowCodec.Encoded e = RowCodec.encode(WireDtype.WIRE_BF16, x, 0, rows, hidden);
            assertThat(e.data().size()).isEqualTo(rows * hidden * 2);
            ByteBuffer b = le(e.data());
            float[] back = RowCodec.decode(WireDtype.WIRE_BF16, e.data(), e.rowScales(), rows, hidden);
            for (int i = 0; i < x.length; i++) {
                short expected = bf16Reference(x[i]);
                assertThat(b.getShort(2 * i)).as("value %d of width %d", i, hidden).isEqualTo(expected);
                assertThat(Float.floatToRawIntBits(back[i])).isEqualTo((expected & 0xFFFF) << 16);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = WireDtype.class, names = {"WIRE_F32", "WIRE_BF16", "WIRE_FP8_E4M3"})
    void encodesOffHeapSegmentsLikeArraysIntoDirectBuffers(WireDtype dtype) {
        Random random = new Random(4);
        int rows = 3;
        int hidden = 37;
        float[] x = random(random, rows * hidden);
        RowCodec.Encoded fromArray = RowCodec.encode(dtype, x, 0, rows, hidden);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(4L * x.length);
            MemorySegment.copy(x, 0, segment, ValueLayout.JAVA_FLOAT, 0, x.length);
            RowCodec.Encoded fromSegment = RowCodec.encode(dtype, segment, rows, hidden);
            assertThat(fromSegment).isEqualTo(fromArray);
            assertThat(fromSegment.data().asReadOnlyByteBuffer().isDirect()).as("no native memory per frame").isFalse();

            MemorySegment decoded = arena.allocate(4L * x.length);
            RowCodec.decode(dtype, fromSegment.data(), fromSegment.rowScales(), rows, hidden, decoded);
            float[] viaArray = RowCodec.decode(dtype, fromArray.data(), fromArray.rowScales(), rows, hidden);
            assertThat(decoded.toArray(ValueLayout.JAVA_FLOAT)).containsExactly(viaArray);
        }
    }

    @ParameterizedTest
    @EnumSource(value = WireDtype.class, names = {"WIRE_F32", "WIRE_BF16", "WIRE_FP8_E4M3"})
    void gatheredRowsEncodeLikeTheSameRowsCopiedTogether(WireDtype dtype) {
        Random random = new Random(6);
        for (int hidden : WIDTHS) {
            int total = 9;
            float[] x = random(random, total * hidden);
            int[] rows = {7, 0, 3, 8, 3}; // any order, repeats allowed
            float[] copied = new float[rows.length * hidden];
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(x, rows[i] * hidden, copied, i * hidden, hidden);
            }
            RowCodec.Encoded gathered = RowCodec.encodeRows(dtype, x, rows, hidden);
            assertThat(gathered).as("hidden %d", hidden).isEqualTo(RowCodec.encode(dtype, copied, 0, rows.length,
                    hidden));
            assertThat(gathered.data().asReadOnlyByteBuffer().isDirect()).as("no native memory per frame").isFalse();
        }
        RowCodec.Encoded none = RowCodec.encodeRows(dtype, new float[4], new int[0], 4);
        assertThat(none.data().isEmpty()).isTrue();
        assertThatThrownBy(() -> RowCodec.encodeRows(dtype, new float[8], new int[] {0, 2}, 4))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("row 2 of width 4 does not fit an array of 8 floats");
    }

    @ParameterizedTest
    @EnumSource(value = WireDtype.class, names = {"WIRE_F32", "WIRE_BF16", "WIRE_FP8_E4M3"})
    void decodesHeapByteStringsAsReceivedFromTheNetwork(WireDtype dtype) {
        float[] x = random(new Random(5), 2 * 19);
        RowCodec.Encoded e = RowCodec.encode(dtype, x, 0, 2, 19);
        ByteString heapData = ByteString.copyFrom(e.data().toByteArray());
        ByteString heapScales = ByteString.copyFrom(e.rowScales().toByteArray());
        float[] out = new float[2 * 19 + 5];
        RowCodec.decode(dtype, heapData, heapScales, 2, 19, out, 5);
        float[] expected = RowCodec.decode(dtype, e.data(), e.rowScales(), 2, 19);
        for (int i = 0; i < expected.length; i++) {
            assertThat(out[5 + i]).isEqualTo(expected[i]);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1})
    void emptyFramesHaveNoBytes(int hidden) {
        RowCodec.Encoded e = RowCodec.encode(WireDtype.WIRE_FP8_E4M3, new float[0], 0, 0, hidden);
        assertThat(e.data().isEmpty()).isTrue();
        assertThat(e.rowScales().isEmpty()).isTrue();
        assertThat(RowCodec.decode(WireDtype.WIRE_FP8_E4M3, e.data(), e.rowScales(), 0, hidden)).isEmpty();
    }

    @Test
    void mismatchedSizesAndDtypesAreNamed() {
        RowCodec.Encoded e = RowCodec.encode(WireDtype.WIRE_BF16, new float[6], 0, 2, 3);
        assertThatThrownBy(() -> RowCodec.decode(WireDtype.WIRE_BF16, e.data(), ByteString.EMPTY, 3, 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("3 rows of width 3 in bf16 need 18 bytes of data, got 12");
        RowCodec.Encoded f = RowCodec.encode(WireDtype.WIRE_FP8_E4M3, new float[6], 0, 2, 3);
        assertThatThrownBy(() -> RowCodec.decode(WireDtype.WIRE_FP8_E4M3, f.data(), ByteString.EMPTY, 2, 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("2 rows in fp8-e4m3 need 8 bytes of row scales, got 0");
        assertThatThrownBy(() -> RowCodec.encode(WireDtype.WIRE_DTYPE_UNSPECIFIED, new float[6], 0, 2, 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("WIRE_DTYPE_UNSPECIFIED is not one of f32, bf16, fp8-e4m3");
        assertThatThrownBy(() -> RowCodec.encode(WireDtype.WIRE_F32, new float[6], 1, 2, 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("rows 1..3 of width 3 do not fit an array of 6 floats");
    }
}
