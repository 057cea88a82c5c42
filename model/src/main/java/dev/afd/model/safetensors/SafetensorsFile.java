package dev.afd.model.safetensors;

import dev.afd.model.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One {@code .safetensors} file, memory-mapped whole (one mapping, any size) and parsed into tensor views.
 *
 * <p>Ownership: the mapping belongs to the arena passed to {@link #map}; this object owns nothing and needs no
 * closing. Its tensors stay valid until that arena is closed, and may be read by any number of threads.
 */
public final class SafetensorsFile {
    private static final ValueLayout.OfLong LONG_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final MemorySegment mapping;
    private final SafetensorsHeader header;
    private final Map<String, Tensor> tensors;

    private SafetensorsFile(Path path, MemorySegment mapping, SafetensorsHeader header, Map<String, Tensor> tensors) {
        this.path = path;
        this.mapping = mapping;
        this.header = header;
        this.tensors = tensors;
    }

    /**
     * Maps {@code file} read-only into {@code arena} and validates its header.
     *
     * @throws CheckpointException naming the file (and tensor) when the file cannot be read or is malformed
     */
    public static SafetensorsFile map(Path file, Arena arena) {
        MemorySegment mapping;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < SafetensorsHeader.PREFIX_BYTES) {
                throw new CheckpointException(file + ": " + size + " bytes is too short for a safetensors file"
                        + " (it needs at least an 8-byte header length); the file is truncated");
            }
            mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot map the file: " + e, e);
        }
        long headerBytes = mapping.get(LONG_LE, 0);
        long available = mapping.byteSize() - SafetensorsHeader.PREFIX_BYTES;
        if (headerBytes < 0 || headerBytes > available) {
            throw new CheckpointException(file + ": the header length " + Long.toUnsignedString(headerBytes)
                    + " is larger than the " + available + " bytes after it; the file is truncated or not a"
                    + " safetensors file");
        }
        if (headerBytes > SafetensorsHeader.MAX_HEADER_BYTES) {
            throw new CheckpointException(file + ": the header length " + headerBytes + " exceeds the "
                    + SafetensorsHeader.MAX_HEADER_BYTES + "-byte limit of the format");
        }
        byte[] json = mapping.asSlice(SafetensorsHeader.PREFIX_BYTES, headerBytes).toArray(ValueLayout.JAVA_BYTE);
        MemorySegment data = mapping.asSlice(SafetensorsHeader.PREFIX_BYTES + headerBytes);
        SafetensorsHeader header = SafetensorsHeader.parse(json, data.byteSize(), file.toString());
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (TensorInfo t : header.tensors()) {
            tensors.put(t.name(), new Tensor(t.name(), t.dtype(), t.shape(), data.asSlice(t.begin(), t.byteSize())));
        }
        return new SafetensorsFile(file, mapping, header, Collections.unmodifiableMap(tensors));
    }

    public Path path() {
        return path;
    }

    /** Tensors by name, in header order. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return header.metadata();
    }

    public SafetensorsHeader header() {
        return header;
    }

    /** Size of the whole file (and of its mapping). */
    public long byteSize() {
        return mapping.byteSize();
    }
}
