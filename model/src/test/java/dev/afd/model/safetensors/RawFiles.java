package dev.afd.model.safetensors;

import dev.afd.model.tensor.Tensor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/** Hand-made safetensors files for tests, including broken ones. */
final class RawFiles {
    private RawFiles() {}

    /** An 8-byte little-endian length, {@code header} as UTF-8, then {@code dataBytes} zero bytes. */
    static Path write(Path file, String header, long dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
            f.write(json);
            // setLength leaves a hole: large test files cost no disk.
            f.setLength(8L + json.length + dataBytes);
        }
        return file;
    }

    /** Writes a little-endian f32 at byte {@code offset} of the data region of a file made by {@link #write}. */
    static void putFloat(Path file, long offset, float value) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] lengthBytes = new byte[8];
            f.readFully(lengthBytes);
            long headerLength = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
            f.seek(8 + headerLength + offset);
            f.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(value).array());
        }
    }

    /** Rewrites a safetensors file after {@code edit} has changed its list of entries (values copied as f32). */
    static void rewrite(Path file, UnaryOperator<List<SafetensorsWriter.Entry>> edit) throws IOException {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        Path copy = file.resolveSibling(file.getFileName() + ".orig");
        Files.move(file, copy);
        try (Arena arena = Arena.ofConfined()) {
            for (Tensor t : SafetensorsFile.map(copy, arena).tensors().values()) {
                entries.add(copyOf(t));
            }
            SafetensorsWriter.write(file, edit.apply(entries));
        }
        Files.delete(copy);
    }

    /** An entry with the same name, dtype, shape and values as {@code t} (valid while {@code t}'s mapping is). */
    static SafetensorsWriter.Entry copyOf(Tensor t) {
        return new SafetensorsWriter.Entry(t.name(), t.dtype(), t.shape(), (first, out, count) -> t.copyTo(first,
                out, 0, count));
    }
}
