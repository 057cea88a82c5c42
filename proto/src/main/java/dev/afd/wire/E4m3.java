package dev.afd.wire;

/**
 * Scalar conversions for 8-bit e4m3 floats (the OCP "E4M3FN" format): 1 sign bit, 4 exponent bits with bias 7,
 * 3 mantissa bits, subnormals, no infinities, a NaN at S.1111.111 and a largest finite value of 448.
 */
public final class E4m3 {
    /** The largest finite magnitude. */
    public static final float MAX = 448f;
    /** Code of +448; negative codes add 0x80. */
    static final int MAX_CODE = 0x7E;
    static final int NAN_CODE = 0x7F;

    /** Every code's value, so decoding is one load. */
    private static final float[] VALUES = new float[256];

    static {
        for (int c = 0; c < 256; c++) {
            int exponent = (c >>> 3) & 0xF;
            int mantissa = c & 7;
            float magnitude;
            if ((c & 0x7F) == NAN_CODE) {
                magnitude = Float.NaN;
            } else if (exponent == 0) {
                magnitude = mantissa * 0x1p-9f;
            } else {
                magnitude = Math.scalb(1f + mantissa / 8f, exponent - 7);
            }
            VALUES[c] = (c & 0x80) != 0 ? -magnitude : magnitude;
        }
    }

    private E4m3() {}

    public static float decode(byte code) {
        return VALUES[code & 0xFF];
    }

    /**
     * Rounds to the nearest code, ties to an even mantissa; magnitudes above 448 (infinities included) saturate
     * to ±448, NaN stays NaN, the sign of zero is kept.
     */
    public static byte encode(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 24) & 0x80;
        int magnitudeBits = bits & 0x7FFF_FFFF;
        float magnitude = Float.intBitsToFloat(magnitudeBits);
        int code;
        if (Float.isNaN(value)) {
            code = NAN_CODE;
        } else if (magnitude > MAX) {
            code = MAX_CODE;
        } else if (magnitude >= 0x1p-6f) {
            // Normal: round the f32 mantissa to 3 bits (a carry correctly bumps the exponent), then rebias 127 -> 7.
            int rounded = (magnitudeBits + 0x7_FFFF + ((magnitudeBits >>> 20) & 1)) >>> 20;
            code = rounded - ((127 - 7) << 3);
        } else {
            // Subnormal: multiples of 2^-9, exact after scaling; 8 * 2^-9 is the smallest normal, whose code is 8.
            code = (int) Math.rint(magnitude * 0x1p9f);
        }
        return (byte) (sign | code);
    }
}
