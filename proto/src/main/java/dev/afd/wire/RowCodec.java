package dev.afd.wire;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.afd.proto.WireDtype;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Encodes {@code rows × hidden} f32 activations into the raw little-endian {@code bytes} of a frame, and back.
 *
 * <p>Formats: {@link WireDtype#WIRE_F32} as is; {@link WireDtype#WIRE_BF16} rounded to nearest, ties to even;
 * {@link WireDtype#WIRE_FP8_E4M3} as {@link E4m3} codes of {@code x / scale} with one f32 scale per row,
 * {@code scale = max|x| / 448} over the row's finite values (0 for a row without any non-zero finite value), so the
 * row's largest value lands on 448. NaN stays NaN; ±infinity saturates to ±448 · scale.
 *
 * <p>Ownership: encoding writes straight into a fresh direct buffer and wraps it, without a copy, into the returned
 * {@link ByteString}. From then on the buffer belongs to that ByteString: nothing keeps a reference to it, writes to
 * it or reuses it, which is what makes the zero-copy wrap safe. Decoding reads the ByteString's read-only view and
 * never copies it into a Java array. Every method is stateless and thread-safe.
 */
public final class RowCodec {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfFloat F32_LE = F32.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The bytes of a frame: {@code data}, and {@code rowScales} for fp8 (empty otherwise). */
    public record Encoded(ByteString data, ByteString rowScales) {}

    private RowCodec() {}

    /** Bytes per value of {@code dtype}. */
    public static int bytesPerValue(WireDtype dtype) {
        return switch (dtype) {
            case WIRE_F32 -> 4;
            case WIRE_BF16 -> 2;
            case WIRE_FP8_E4M3 -> 1;
            default -> throw new IllegalArgumentException("wire dtype " + dtype + " is not one of f32, bf16, fp8-e4m3");
        };
    }

    /** Size {@code data} must have for {@code rows × hidden} values. */
    public static long dataBytes(WireDtype dtype, int rows, int hidden) {
        return (long) rows * hidden * bytesPerValue(dtype);
    }

    /** Size {@code row_scales} must have: 4 bytes per row for fp8, none otherwise. */
    public static long scaleBytes(WireDtype dtype, int rows) {
        return dtype == WireDtype.WIRE_FP8_E4M3 ? 4L * rows : 0;
    }

    /** Short name for messages and logs: f32, bf16, fp8-e4m3. */
    public static String label(WireDtype dtype) {
        return switch (dtype) {
            case WIRE_F32 -> "f32";
            case WIRE_BF16 -> "bf16";
            case WIRE_FP8_E4M3 -> "fp8-e4m3";
            default -> dtype.toString();
        };
    }

    /** Encodes rows {@code [firstRow, firstRow + rows)} of {@code x}, a row-major array of width {@code hidden}. */
    public static Encoded encode(WireDtype dtype, float[] x, int firstRow, int rows, int hidden) {
        checkShape(rows, hidden);
        if (firstRow < 0 || (long) (firstRow + rows) * hidden > x.length) {
            throw new IllegalArgumentException("rows " + firstRow + ".." + (firstRow + rows) + " of width " + hidden
                    + " do not fit an array of " + x.length + " floats");
        }
        long bytes = 4L * rows * hidden;
        return encode(dtype, MemorySegment.ofArray(x).asSlice(4L * firstRow * hidden, bytes), rows, hidden);
    }

    /** Encodes {@code rows × hidden} f32 values in native byte order held by {@code x}. */
    public static Encoded encode(WireDtype dtype, MemorySegment x, int rows, int hidden) {
        long values = checkShape(rows, hidden);
        if (x.byteSize() < 4 * values) {
            throw new IllegalArgumentException(rows + " rows of width " + hidden + " need " + 4 * values
                    + " bytes of f32 values, the segment has " + x.byteSize());
        }
        Buffers out = Buffers.allocate(dtype, rows, hidden);
        write(dtype, x, rows, hidden, out.data, out.scales);
        return out.wrap();
    }

    /**
     * Encodes the rows {@code rows[0], rows[1], ...} of {@code x} (row-major, width {@code hidden}) in that order,
     * reading each straight from {@code x}: the frame for one ffn-node, gathered and encoded in one pass.
     */
    public static Encoded encodeRows(WireDtype dtype, float[] x, int[] rows, int hidden) {
        checkShape(rows.length, hidden);
        for (int r : rows) {
            if (r < 0 || (long) (r + 1) * hidden > x.length) {
                throw new IllegalArgumentException("row " + r + " of width " + hidden + " does not fit an array of "
                        + x.length + " floats");
            }
        }
        Buffers out = Buffers.allocate(dtype, rows.length, hidden);
        MemorySegment all = MemorySegment.ofArray(x);
        long rowIn = 4L * hidden;
        long rowOut = (long) bytesPerValue(dtype) * hidden;
        long scaleOut = scaleBytes(dtype, 1);
        for (int i = 0; i < rows.length; i++) {
            write(dtype, all.asSlice(rows[i] * rowIn, rowIn), 1, hidden, out.data.asSlice(i * rowOut, rowOut),
                    out.scales.asSlice(i * scaleOut, scaleOut));
        }
        return out.wrap();
    }

    /** Writes {@code rows × hidden} f32 values of {@code x} as {@code dtype} to {@code data} (and fp8 scales). */
    private static void write(WireDtype dtype, MemorySegment x, int rows, int hidden, MemorySegment data,
            MemorySegment scales) {
        switch (dtype) {
            case WIRE_F32 -> MemorySegment.copy(x, F32, 0, data, F32_LE, 0, (long) rows * hidden);
            case WIRE_BF16 -> Bf16.encode(x, data, (long) rows * hidden);
            case WIRE_FP8_E4M3 -> encodeFp8(x, rows, hidden, data, scales);
            default -> throw new IllegalArgumentException("cannot encode wire dtype " + dtype);
        }
    }

    /** Fresh direct buffers for a frame's data and scales, and their segments to write through. */
    private record Buffers(ByteBuffer dataBuffer, ByteBuffer scaleBuffer, MemorySegment data, MemorySegment scales) {
        static Buffers allocate(WireDtype dtype, int rows, int hidden) {
            ByteBuffer data = RowCodec.allocate(dataBytes(dtype, rows, hidden));
            ByteBuffer scales = RowCodec.allocate(scaleBytes(dtype, rows));
            return new Buffers(data, scales, MemorySegment.ofBuffer(data), MemorySegment.ofBuffer(scales));
        }

        /** Hands both buffers over to ByteStrings (see the ownership rule). */
        Encoded wrap() {
            return new Encoded(RowCodec.wrap(dataBuffer), RowCodec.wrap(scaleBuffer));
        }
    }

    /** Decodes a frame's bytes into a new {@code rows × hidden} array. */
    public static float[] decode(WireDtype dtype, ByteString data, ByteString rowScales, int rows, int hidden) {
        float[] out = new float[Math.toIntExact(checkShape(rows, hidden))];
        decode(dtype, data, rowScales, rows, hidden, MemorySegment.ofArray(out));
        return out;
    }

    /** Decodes a frame's bytes into {@code out} from {@code outOffset} on. */
    public static void decode(WireDtype dtype, ByteString data, ByteString rowScales, int rows, int hidden,
            float[] out, int outOffset) {
        long values = checkShape(rows, hidden);
        if (outOffset < 0 || outOffset + values > out.length) {
            throw new IllegalArgumentException(values + " values from offset " + outOffset
                    + " do not fit an array of " + out.length + " floats");
        }
        decode(dtype, data, rowScales, rows, hidden, MemorySegment.ofArray(out).asSlice(4L * outOffset, 4 * values));
    }

    /**
     * Decodes a frame's bytes into {@code rows × hidden} native-order f32 values of {@code out}.
     *
     * @throws IllegalArgumentException when the byte counts do not match the shape and dtype
     */
    public static void decode(WireDtype dtype, ByteString data, ByteString rowScales, int rows, int hidden,
            MemorySegment out) {
        long values = checkShape(rows, hidden);
        long expected = dataBytes(dtype, rows, hidden);
        if (data.size() != expected) {
            throw new IllegalArgumentException(rows + " rows of width " + hidden + " in " + label(dtype) + " need "
                    + expected + " bytes of data, got " + data.size());
        }
        if (rowScales.size() != scaleBytes(dtype, rows)) {
            throw new IllegalArgumentException(rows + " rows in " + label(dtype) + " need "
                    + scaleBytes(dtype, rows) + " bytes of row scales, got " + rowScales.size());
        }
        if (out.byteSize() < 4 * values) {
            throw new IllegalArgumentException(values + " values do not fit a segment of " + out.byteSize()
                    + " bytes");
        }
        MemorySegment in = view(data);
        switch (dtype) {
            case WIRE_F32 -> MemorySegment.copy(in, F32_LE, 0, out, F32, 0, values);
            case WIRE_BF16 -> Bf16.decode(in, out, values);
            case WIRE_FP8_E4M3 -> decodeFp8(in, view(rowScales), rows, hidden, out);
            default -> throw new IllegalArgumentException("cannot decode wire dtype " + dtype);
        }
    }

    /** The fp8 scale of one row: its largest finite magnitude over 448. */
    static float rowScale(MemorySegment x, long from, int hidden) {
        float max = 0;
        for (int i = 0; i < hidden; i++) {
            float a = Math.abs(x.get(F32, (from + i) * 4));
            if (a > max && a != Float.POSITIVE_INFINITY) { // NaN fails the first test
                max = a;
            }
        }
        return max / E4m3.MAX;
    }

    private static void encodeFp8(MemorySegment x, int rows, int hidden, MemorySegment out, MemorySegment scales) {
        for (int r = 0; r < rows; r++) {
            long from = (long) r * hidden;
            float scale = rowScale(x, from, hidden);
            // A zero scale means every finite value is zero: any factor keeps them zero, 1 also keeps ±inf saturating.
            float inverse = scale == 0 ? 1 : 1 / scale;
            scales.set(F32_LE, 4L * r, scale);
            for (int i = 0; i < hidden; i++) {
                out.set(ValueLayout.JAVA_BYTE, from + i, E4m3.encode(x.get(F32, (from + i) * 4) * inverse));
            }
        }
    }

    private static void decodeFp8(MemorySegment in, MemorySegment scales, int rows, int hidden, MemorySegment out) {
        for (int r = 0; r < rows; r++) {
            long from = (long) r * hidden;
            float scale = scales.get(F32_LE, 4L * r);
            for (int i = 0; i < hidden; i++) {
                out.set(F32, (from + i) * 4, E4m3.decode(in.get(ValueLayout.JAVA_BYTE, from + i)) * scale);
            }
        }
    }

    private static long checkShape(int rows, int hidden) {
        if (rows < 0 || hidden < 0) {
            throw new IllegalArgumentException("rows and hidden must not be negative, got " + rows + " × " + hidden);
        }
        return (long) rows * hidden;
    }

    private static ByteBuffer allocate(long bytes) {
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a frame of " + bytes + " bytes exceeds the 2 GiB a message can hold;"
                    + " send fewer rows per frame");
        }
        return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Hands {@code buffer} over to a ByteString; the caller must drop its reference (see the ownership rule). */
    private static ByteString wrap(ByteBuffer buffer) {
        return buffer.capacity() == 0 ? ByteString.EMPTY : UnsafeByteOperations.unsafeWrap(buffer);
    }

    /** A read-only view of the ByteString's bytes, heap or direct, without copying them. */
    private static MemorySegment view(ByteString bytes) {
        return MemorySegment.ofBuffer(bytes.asReadOnlyByteBuffer());
    }
}
