package dev.afd.wire;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.afd.proto.WireDtype;
import java.lang.foreign.MemorySegment;

/**
 * Encodes {@code rows × hidden} f32 activations into the raw little-endian {@code bytes} of a frame, and back.
 *
 * <p>What each format does to a value is {@link WireFormat}'s business; this class checks shapes and sizes and walks
 * the rows.
 *
 * <p>Ownership: encoding writes straight into a fresh heap array and wraps it, without a copy, into the returned
 * {@link ByteString}. From then on the array belongs to that ByteString: nothing keeps a reference to it, writes to
 * it or reuses it, which is what makes the zero-copy wrap safe. A frame's bytes cannot be pooled: the ByteString
 * outlives the call (the in-process link hands it to another thread, gRPC serializes it later), and no one learns
 * when it is dropped. Heap arrays, unlike direct buffers, cost no native memory that only a GC cycle would give
 * back. Decoding reads the ByteString's read-only view and never copies it into a Java array. Every method is
 * stateless and thread-safe.
 */
public final class RowCodec {
    /** The bytes of a frame: {@code data}, and {@code rowScales} for fp8 (empty otherwise). */
    public record Encoded(ByteString data, ByteString rowScales) {}

    private RowCodec() {}

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
        WireFormat format = WireFormat.of(dtype);
        Buffers out = Buffers.allocate(format, rows, hidden);
        format.write(x, rows, hidden, out.data(), out.scales());
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
        WireFormat format = WireFormat.of(dtype);
        Buffers out = Buffers.allocate(format, rows.length, hidden);
        MemorySegment all = MemorySegment.ofArray(x);
        long rowIn = 4L * hidden;
        long rowOut = format.dataBytes(1, hidden);
        long scaleOut = format.scaleBytes(1);
        for (int i = 0; i < rows.length; i++) {
            format.write(all.asSlice(rows[i] * rowIn, rowIn), 1, hidden, out.data().asSlice(i * rowOut, rowOut),
                    out.scales().asSlice(i * scaleOut, scaleOut));
        }
        return out.wrap();
    }

    /** Fresh arrays for a frame's data and scales. */
    private record Buffers(byte[] dataArray, byte[] scaleArray) {
        static Buffers allocate(WireFormat format, int rows, int hidden) {
            return new Buffers(RowCodec.allocate(format.dataBytes(rows, hidden)),
                    RowCodec.allocate(format.scaleBytes(rows)));
        }

        MemorySegment data() {
            return MemorySegment.ofArray(dataArray);
        }

        MemorySegment scales() {
            return MemorySegment.ofArray(scaleArray);
        }

        /** Hands both arrays over to ByteStrings (see the ownership rule). */
        Encoded wrap() {
            return new Encoded(RowCodec.wrap(dataArray), RowCodec.wrap(scaleArray));
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
        WireFormat format = WireFormat.of(dtype);
        long expected = format.dataBytes(rows, hidden);
        if (data.size() != expected) {
            throw new IllegalArgumentException(rows + " rows of width " + hidden + " in " + format + " need "
                    + expected + " bytes of data, got " + data.size());
        }
        if (rowScales.size() != format.scaleBytes(rows)) {
            throw new IllegalArgumentException(rows + " rows in " + format + " need "
                    + format.scaleBytes(rows) + " bytes of row scales, got " + rowScales.size());
        }
        if (out.byteSize() < 4 * values) {
            throw new IllegalArgumentException(values + " values do not fit a segment of " + out.byteSize()
                    + " bytes");
        }
        format.read(view(data), view(rowScales), rows, hidden, out);
    }

    private static long checkShape(int rows, int hidden) {
        if (rows < 0 || hidden < 0) {
            throw new IllegalArgumentException("rows and hidden must not be negative, got " + rows + " × " + hidden);
        }
        return (long) rows * hidden;
    }

    private static byte[] allocate(long bytes) {
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a frame of " + bytes + " bytes exceeds the 2 GiB a message can hold;"
                    + " send fewer rows per frame");
        }
        return new byte[(int) bytes];
    }

    /** Hands {@code bytes} over to a ByteString; the caller must drop its reference (see the ownership rule). */
    private static ByteString wrap(byte[] bytes) {
        return bytes.length == 0 ? ByteString.EMPTY : UnsafeByteOperations.unsafeWrap(bytes);
    }

    /** A read-only view of the ByteString's bytes, heap or direct, without copying them. */
    private static MemorySegment view(ByteString bytes) {
        return MemorySegment.ofBuffer(bytes.asReadOnlyByteBuffer());
    }
}
