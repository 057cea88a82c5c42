package dev.afd.wire;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.proto.WireDtype;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** fp8-e4m3 codes against a plain reference, and fp8 rows with their per-row scales. */
class RowCodecFp8Test {
    /** The value of a code from the format's definition. */
    private static double referenceValue(int code) {
        int sign = (code & 0x80) != 0 ? -1 : 1;
        int exponent = (code >> 3) & 0xF;
        int mantissa = code & 7;
        if (exponent == 15 && mantissa == 7) {
            return Double.NaN;
        }
        double magnitude = exponent == 0
                ? mantissa / 8.0 * Math.pow(2, -6)
                : (1 + mantissa / 8.0) * Math.pow(2, exponent - 7);
        return sign * magnitude;
    }

    @Test
    void decodesAll256Codes() {
        for (int code = 0; code < 256; code++) {
            // Boxed, so that NaN equals NaN and -0 differs from 0.
            assertThat(Float.valueOf(E4m3.decode((byte) code))).as("code %02x", code)
                    .isEqualTo(Float.valueOf((float) referenceValue(code)));
        }
        assertThat(E4m3.decode((byte) 0x7E)).isEqualTo(448f);
        assertThat(E4m3.decode((byte) 0x01)).isEqualTo(0x1p-9f);
        assertThat(E4m3.decode((byte) 0x80)).isEqualTo(-0f);
    }

    /** Asserts that {@code code} is a nearest finite code to {@code q}, and the even one on a tie. */
    private static void assertNearest(float q, byte code) {
        double value = referenceValue(code & 0xFF);
        double distance = Math.abs(value - q);
        for (int other = 0; other < 256; other++) {
            double v = referenceValue(other);
            if (Double.isNaN(v) || other == (code & 0xFF) || v == value) {
                continue;
            }
            double d = Math.abs(v - q);
            assertThat(distance).as("%s encodes to %s, but %s is nearer", q, value, v).isLessThanOrEqualTo(d);
            if (d == distance) {
                assertThat(code & 1).as("tie for %s between %s and %s goes to the even mantissa", q, value, v)
                        .isZero();
            }
        }
        assertThat(Math.signum(value) * Math.signum(q)).as("sign of %s", q).isNotNegative();
    }

    @Test
    void encodesRandomValuesToTheNearestCode() {
        Random random = new Random(6);
        for (int i = 0; i < 20_000; i++) {
            // Log-uniform from deep in the subnormals to past the saturation point, both signs.
            float q = (float) (Math.pow(2, random.nextDouble() * 22 - 12) * (random.nextBoolean() ? 1 : -1));
            byte code = E4m3.encode(q);
            if (Math.abs(q) > 448) {
                assertThat(E4m3.decode(code)).isEqualTo(Math.copySign(448f, q));
            } else {
                assertNearest(q, code);
            }
        }
    }

    @Test
    void tiesMidpointsSubnormalsAndSpecials() {
        for (int code = 0; code < 0x7E; code++) {
            // Every midpoint between neighbours is a tie; the even mantissa must win.
            double mid = (referenceValue(code) + referenceValue(code + 1)) / 2;
            int even = (code & 1) == 0 ? code : code + 1;
            assertThat(E4m3.encode((float) mid) & 0xFF).as("midpoint %s", mid).isEqualTo(even);
            assertThat(E4m3.encode((float) -mid) & 0xFF).isEqualTo(even | 0x80);
            assertThat(E4m3.encode((float) referenceValue(code)) & 0xFF).isEqualTo(code);
        }
        assertThat(E4m3.encode(0x1p-9f)).isEqualTo((byte) 0x01);
        assertThat(E4m3.encode(0x1.8p-9f)).isEqualTo((byte) 0x02);
        assertThat(E4m3.encode(0x1p-10f)).isEqualTo((byte) 0x00);
        assertThat(E4m3.encode(0x1.01p-10f)).isEqualTo((byte) 0x01);
        assertThat(E4m3.encode(-0f)).isEqualTo((byte) 0x80);
        assertThat(E4m3.encode(463.9f)).isEqualTo((byte) 0x7E);
        assertThat(E4m3.encode(1e30f)).isEqualTo((byte) 0x7E);
        assertThat(E4m3.encode(Float.NEGATIVE_INFINITY)).isEqualTo((byte) 0xFE);
        assertThat(Float.isNaN(E4m3.decode(E4m3.encode(Float.NaN)))).isTrue();
    }

    @Test
    void rowsScaleToTheirLargestFiniteValue() {
        Random random = new Random(7);
        int hidden = 45;
        int rows = 6;
        float[] x = RowCodecTest.random(random, rows * hidden);
        java.util.Arrays.fill(x, 0, hidden, 0f); // row 0: all zero
        for (int i = hidden; i < 2 * hidden; i++) {
            x[i] = -Math.abs(x[i]) * 1e-3f; // row 1: negative and small, into the subnormal range
        }
        x[2 * hidden + 3] = Float.NaN; // row 2: NaN is kept
        x[3 * hidden + 4] = Float.POSITIVE_INFINITY; // row 3: infinity saturates at the row maximum
        x[4 * hidden] = 1e-30f; // row 4: a value far below the scale flushes to zero

        RowCodec.Encoded e = RowCodec.encode(WireDtype.WIRE_FP8_E4M3, x, 0, rows, hidden);
        ByteBuffer scales = e.rowScales().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] back = RowCodec.decode(WireDtype.WIRE_FP8_E4M3, e.data(), e.rowScales(), rows, hidden);
        for (int r = 0; r < rows; r++) {
            float max = 0;
            for (int i = 0; i < hidden; i++) {
                float a = Math.abs(x[r * hidden + i]);
                if (Float.isFinite(a)) {
                    max = Math.max(max, a);
                }
            }
            float scale = scales.getFloat(4 * r);
            assertThat(scale).as("row %d", r).isEqualTo(max / 448f);
            for (int i = 0; i < hidden; i++) {
                int at = r * hidden + i;
                byte code = e.data().byteAt(at);
                float expected = Float.isInfinite(x[at]) ? Math.copySign(max, x[at]) : x[at];
                if (Float.isNaN(x[at])) {
                    assertThat(back[at]).isNaN();
                    continue;
                }
                if (scale > 0 && Float.isFinite(x[at])) {
                    assertNearest(x[at] * (1 / scale), code);
                }
                // 3 mantissa bits: half an ulp is 1/16 relative; below the normal range 2^-10 of the scale.
                double bound = Math.max(Math.abs(expected) / 16, scale * 0x1p-10) * 1.0001;
                assertThat((double) back[at]).as("row %d value %d", r, i).isCloseTo(expected,
                        org.assertj.core.api.Assertions.within(bound));
                assertThat(back[at] * expected).as("sign of row %d value %d", r, i).isNotNegative();
            }
        }
        for (int i = 0; i < hidden; i++) {
            assertThat(back[i]).isZero();
        }
        assertThat(back[4 * hidden]).isZero();
    }
}
