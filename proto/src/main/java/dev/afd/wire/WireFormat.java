package dev.afd.wire;

import dev.afd.proto.WireDtype;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The wire formats of activation rows, each with everything the code needs to know about it in one place: its name
 * for users and messages, its {@link WireDtype} on the wire, its size, which direction may use it, and how its
 * values are written and read. {@link RowCodec} walks rows and frames; the per-value work is here.
 */
public enum WireFormat {
    /** f32 as is. */
    F32("f32", WireDtype.WIRE_F32, 4, true) {
        @Override
        void write(MemorySegment x, int rows, int hidden, MemorySegment data, MemorySegment scales) {
            MemorySegment.copy(x, F32_NATIVE, 0, data, F32_LE, 0, (long) rows * hidden);
        }

        @Override
        void read(MemorySegment data, MemorySegment scales, int rows, int hidden, MemorySegment out) {
            MemorySegment.copy(data, F32_LE, 0, out, F32_NATIVE, 0, (long) rows * hidden);
        }
    },
    /** bf16, rounded to nearest, ties to even. */
    BF16("bf16", WireDtype.WIRE_BF16, 2, true) {
        @Override
        void write(MemorySegment x, int rows, int hidden, MemorySegment data, MemorySegment scales) {
            Bf16.encode(x, data, (long) rows * hidden);
        }

        @Override
        void read(MemorySegment data, MemorySegment scales, int rows, int hidden, MemorySegment out) {
            Bf16.decode(data, out, (long) rows * hidden);
        }
    },
    /**
     * {@link E4m3} codes of {@code x / scale} with one f32 scale per row, {@code scale = max|x| / 448} over the row's
     * finite values (0 for a row without any non-zero finite value), so the row's largest value lands on 448. NaN
     * stays NaN; ±infinity saturates to ±448 · scale. Activations to the ffn-nodes only: results keep more bits.
     */
    FP8_E4M3("fp8-e4m3", WireDtype.WIRE_FP8_E4M3, 1, false) {
        @Override
        void write(MemorySegment x, int rows, int hidden, MemorySegment data, MemorySegment scales) {
            for (int r = 0; r < rows; r++) {
                long from = (long) r * hidden;
                float scale = rowScale(x, from, hidden);
                // A zero scale means every finite value is zero: any factor keeps them zero, 1 also keeps ±inf
                // saturating.
                float inverse = scale == 0 ? 1 : 1 / scale;
                scales.set(F32_LE, 4L * r, scale);
                for (int i = 0; i < hidden; i++) {
                    data.set(ValueLayout.JAVA_BYTE, from + i, E4m3.encode(x.get(F32_NATIVE, (from + i) * 4) * inverse));
                }
            }
        }

        @Override
        void read(MemorySegment data, MemorySegment scales, int rows, int hidden, MemorySegment out) {
            for (int r = 0; r < rows; r++) {
                long from = (long) r * hidden;
                float scale = scales.get(F32_LE, 4L * r);
                for (int i = 0; i < hidden; i++) {
                    out.set(F32_NATIVE, (from + i) * 4, E4m3.decode(data.get(ValueLayout.JAVA_BYTE, from + i)) * scale);
                }
            }
        }

        @Override
        public long scaleBytes(int rows) {
            return 4L * rows;
        }
    };

    private static final ValueLayout.OfFloat F32_NATIVE = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfFloat F32_LE = F32_NATIVE.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String label;
    private final WireDtype dtype;
    private final int bytesPerValue;
    private final boolean response;

    WireFormat(String label, WireDtype dtype, int bytesPerValue, boolean response) {
        this.label = label;
        this.dtype = dtype;
        this.bytesPerValue = bytesPerValue;
        this.response = response;
    }

    /**
     * The format of a frame's or handshake's dtype.
     *
     * @throws IllegalArgumentException for an unset or unknown dtype
     */
    public static WireFormat of(WireDtype dtype) {
        WireFormat f = find(dtype);
        if (f == null) {
            throw new IllegalArgumentException("wire dtype " + dtype + " is not one of " + list());
        }
        return f;
    }

    private static WireFormat find(WireDtype dtype) {
        for (WireFormat f : values()) {
            if (f.dtype == dtype) {
                return f;
            }
        }
        return null;
    }

    /**
     * Parses a user's name: {@code f32}, {@code bf16}, {@code fp8-e4m3} or its short form {@code fp8}, in any case.
     *
     * @throws IllegalArgumentException naming the formats there are
     */
    public static WireFormat parse(String name) {
        String n = name.strip().toLowerCase(Locale.ROOT);
        for (WireFormat f : values()) {
            if (f.label.equals(n) || f.label.startsWith(n + "-")) {
                return f;
            }
        }
        throw new IllegalArgumentException("wire dtype must be " + choices(false) + ", got '" + name + "'");
    }

    /** Whether a dtype names a format (activations to the ffn-nodes may use any). */
    public static boolean isRequest(WireDtype dtype) {
        return find(dtype) != null;
    }

    /** Whether results from the ffn-nodes may come back in this dtype. */
    public static boolean isResponse(WireDtype dtype) {
        WireFormat f = find(dtype);
        return f != null && f.response;
    }

    /** Every format's name, for "is not one of" messages: {@code "f32, bf16, fp8-e4m3"}. */
    public static String list() {
        return String.join(", ", Arrays.stream(values()).map(f -> f.label).toList());
    }

    /** The formats to choose from, or those results may use: {@code "f32, bf16 or fp8-e4m3"}, {@code "f32 or bf16"}. */
    public static String choices(boolean responseOnly) {
        List<String> names = Arrays.stream(values()).filter(f -> !responseOnly || f.response).map(f -> f.label)
                .toList();
        return String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.getLast();
    }

    /** A dtype's name for messages and logs, also for dtypes that name no format. */
    public static String label(WireDtype dtype) {
        WireFormat f = find(dtype);
        return f != null ? f.label : dtype.toString();
    }

    /** The dtype this format has on the wire. */
    public WireDtype dtype() {
        return dtype;
    }

    /** Whether results from the ffn-nodes may use this format. */
    public boolean isResponse() {
        return response;
    }

    public int bytesPerValue() {
        return bytesPerValue;
    }

    /** Size {@code data} has for {@code rows × hidden} values. */
    public long dataBytes(int rows, int hidden) {
        return (long) rows * hidden * bytesPerValue;
    }

    /** Size {@code row_scales} has for {@code rows} rows: none but for fp8. */
    public long scaleBytes(int rows) {
        return 0;
    }

    /** Writes {@code rows × hidden} native-order f32 values of {@code x} to {@code data} (and fp8's row scales). */
    abstract void write(MemorySegment x, int rows, int hidden, MemorySegment data, MemorySegment scales);

    /** Reads {@code rows × hidden} values of {@code data} (and fp8's row scales) into native-order f32 {@code out}. */
    abstract void read(MemorySegment data, MemorySegment scales, int rows, int hidden, MemorySegment out);

    /** The fp8 scale of one row: its largest finite magnitude over 448. */
    static float rowScale(MemorySegment x, long from, int hidden) {
        float max = 0;
        for (int i = 0; i < hidden; i++) {
            float a = Math.abs(x.get(F32_NATIVE, (from + i) * 4));
            if (a > max && a != Float.POSITIVE_INFINITY) { // NaN fails the first test
                max = a;
            }
        }
        return max / E4m3.MAX;
    }

    @Override
    public String toString() {
        return label;
    }
}
