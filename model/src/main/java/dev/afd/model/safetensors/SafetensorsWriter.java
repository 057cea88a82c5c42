package dev.afd.model.safetensors;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.model.config.JsonFiles;
import dev.afd.model.kernels.Parallel;
import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Halfs;
import dev.afd.model.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes safetensors files, streaming: tensor values are produced, converted to the stored dtype and written in
 * fixed-size chunks, so a file of any size needs only a few MB of memory. Chunks are filled in parallel on the
 * kernel pool and written in order; since the chunk boundaries are fixed, the bytes do not depend on the number of
 * threads.
 */
public final class SafetensorsWriter {
    /** Elements per chunk handed to {@link Values#fill}. */
    static final int CHUNK = 1 << 16;

    private SafetensorsWriter() {}

    /**
     * The values of one tensor in row-major order. Called from several threads at once for disjoint ranges, so it
     * must be a pure function of its arguments.
     */
    @FunctionalInterface
    public interface Values {
        /** Writes elements [first, first + count) into {@code out[0..count)}. */
        void fill(long first, float[] out, int count);

        /** Fixed values, e.g. for tests. */
        static Values of(float... values) {
            float[] copy = values.clone();
            return (first, out, count) -> System.arraycopy(copy, Math.toIntExact(first), out, 0, count);
        }
    }

    /** One tensor to write: its values are rounded to {@code dtype} (round to nearest even) on the way out. */
    public record Entry(String name, DType dtype, long[] shape, Values values) {
        public Entry {
            shape = shape.clone();
            for (long d : shape) {
                if (d < 0) {
                    throw new IllegalArgumentException("tensor '" + name + "' has a negative dimension in "
                            + Arrays.toString(shape));
                }
            }
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        public long elementCount() {
            return Tensor.elementCount(shape);
        }

        public long byteSize() {
            return Math.multiplyExact(elementCount(), dtype.byteSize());
        }
    }

    /** Writes one safetensors file holding {@code entries} in order, with {@code __metadata__ {"format": "pt"}}. */
    public static long write(Path file, List<Entry> entries) throws IOException {
        List<TensorInfo> infos = new ArrayList<>(entries.size());
        long offset = 0;
        for (Entry e : entries) {
            long end = offset + e.byteSize();
            infos.add(new TensorInfo(e.name(), e.dtype(), e.shape(), offset, end));
            offset = end;
        }
        byte[] header = new SafetensorsHeader(infos, Map.of("format", "pt")).encode();
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer prefix = ByteBuffer.allocate(SafetensorsHeader.PREFIX_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(header.length).flip();
            writeFully(out, prefix);
            writeFully(out, ByteBuffer.wrap(header));
            ChunkWriter chunks = new ChunkWriter(out);
            for (Entry e : entries) {
                chunks.write(e);
            }
            return out.size();
        }
    }

    /**
     * Writes a checkpoint's weights into {@code dir} the way Hugging Face does: one {@code model.safetensors}, or
     * with {@code shards > 1} the files {@code model-00001-of-0000N.safetensors}... plus
     * {@code model.safetensors.index.json}. Tensors are kept whole and kept in order; shards get about equal bytes.
     *
     * @return the files written, weights first, the index last when there is one
     */
    public static List<Path> writeCheckpoint(Path dir, List<Entry> entries, int shards) throws IOException {
        if (shards < 1 || shards > entries.size()) {
            throw new IllegalArgumentException("cannot spread " + entries.size() + " tensors over " + shards
                    + " files; choose between 1 and " + entries.size() + " shards");
        }
        if (shards == 1) {
            Path file = dir.resolve("model" + Checkpoint.SUFFIX);
            write(file, entries);
            return List.of(file);
        }
        List<List<Entry>> groups = split(entries, shards);
        List<Path> files = new ArrayList<>();
        Map<String, String> weightMap = new TreeMap<>();
        long totalSize = 0;
        for (int i = 0; i < shards; i++) {
            String name = shardName(i, shards);
            Path file = dir.resolve(name);
            write(file, groups.get(i));
            files.add(file);
            for (Entry e : groups.get(i)) {
                weightMap.put(e.name(), name);
                totalSize += e.byteSize();
            }
        }
        ObjectNode index = JsonFiles.object();
        index.putObject("metadata").put("total_size", totalSize);
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        Path indexFile = dir.resolve(Checkpoint.INDEX);
        JsonFiles.write(indexFile, index);
        files.add(indexFile);
        return files;
    }

    /** {@code model-00002-of-00005.safetensors} for the second of five shards. */
    public static String shardName(int index, int shards) {
        return String.format("model-%05d-of-%05d%s", index + 1, shards, Checkpoint.SUFFIX);
    }

    /**
     * Cuts {@code entries} into {@code shards} non-empty runs of about equal bytes: a run ends once it reaches its
     * share of the bytes still to place, or when every remaining tensor is needed to keep later runs non-empty.
     */
    static List<List<Entry>> split(List<Entry> entries, int shards) {
        long remaining = entries.stream().mapToLong(Entry::byteSize).sum();
        List<List<Entry>> groups = new ArrayList<>();
        List<Entry> current = new ArrayList<>();
        long currentBytes = 0;
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            int runsLeft = shards - groups.size();
            long share = remaining / runsLeft;
            boolean mustClose = !current.isEmpty() && entries.size() - i < runsLeft;
            boolean full = !current.isEmpty() && runsLeft > 1 && currentBytes + e.byteSize() / 2 > share;
            if (mustClose || full) {
                groups.add(current);
                remaining -= currentBytes;
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(e);
            currentBytes += e.byteSize();
        }
        groups.add(current);
        return groups;
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    /**
     * Fills and encodes a group of chunks in parallel, then writes them in order. Each slot's buffers are touched by
     * one pool task per round and by the writing thread only after the round has finished.
     */
    private static final class ChunkWriter {
        private final FileChannel out;
        private final int slots = Math.max(1, Parallel.threads() * 2);
        private final float[][] values = new float[slots][CHUNK];
        private final ByteBuffer[] bytes = new ByteBuffer[slots];

        ChunkWriter(FileChannel out) {
            this.out = out;
            for (int s = 0; s < slots; s++) {
                bytes[s] = ByteBuffer.allocateDirect(CHUNK * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            }
        }

        void write(Entry e) throws IOException {
            long n = e.elementCount();
            long chunks = (n + CHUNK - 1) / CHUNK;
            for (long round = 0; round < chunks; round += slots) {
                long firstChunk = round;
                int used = (int) Math.min(slots, chunks - round);
                Parallel.forRange(used, 1, (from, to) -> {
                    for (int s = from; s < to; s++) {
                        long first = (firstChunk + s) * CHUNK;
                        encode(e, first, (int) Math.min(CHUNK, n - first), values[s], bytes[s]);
                    }
                });
                for (int s = 0; s < used; s++) {
                    writeFully(out, bytes[s]);
                }
            }
        }

        private static void encode(Entry e, long first, int count, float[] values, ByteBuffer bytes) {
            e.values().fill(first, values, count);
            bytes.clear();
            switch (e.dtype()) {
                case BF16 -> {
                    for (int i = 0; i < count; i++) {
                        bytes.putShort(Halfs.floatToBf16(values[i]));
                    }
                }
                case F16 -> {
                    for (int i = 0; i < count; i++) {
                        bytes.putShort(Halfs.floatToF16(values[i]));
                    }
                }
                case F32 -> {
                    for (int i = 0; i < count; i++) {
                        bytes.putFloat(values[i]);
                    }
                }
            }
            bytes.flip();
        }
    }
}
