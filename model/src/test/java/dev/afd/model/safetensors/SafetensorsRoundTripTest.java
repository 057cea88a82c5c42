package dev.afd.model.safetensors;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Halfs;
import dev.afd.model.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    /** What a value looks like after being stored as {@code dtype}: the plain scalar reference. */
    static float stored(DType dtype, float v) {
        return switch (dtype) {
            case BF16 -> Halfs.bf16ToFloat(Halfs.floatToBf16(v));
            case F16 -> Halfs.f16ToFloat(Halfs.floatToF16(v));
            case F32 -> v;
        };
    }

    static float[] randomValues(long seed, int n) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * 3);
        }
        return v;
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void everyDtypeReadsBackExactly(DType dtype) throws IOException {
        // Sizes off the vector width and one tensor spanning several writer chunks.
        float[] a = randomValues(1, 3 * 7);
        float[] b = randomValues(2, 5);
        float[] big = randomValues(3, SafetensorsWriter.CHUNK * 2 + 17);
        List<SafetensorsWriter.Entry> entries = List.of(
                new SafetensorsWriter.Entry("a", dtype, new long[] {3, 7}, SafetensorsWriter.Values.of(a)),
                new SafetensorsWriter.Entry("b", dtype, new long[] {5}, SafetensorsWriter.Values.of(b)),
                new SafetensorsWriter.Entry("empty", dtype, new long[] {0, 4}, SafetensorsWriter.Values.of()),
                new SafetensorsWriter.Entry("big", dtype, new long[] {big.length}, SafetensorsWriter.Values.of(big)));
        Path file = dir.resolve("x.safetensors");
        long size = SafetensorsWriter.write(file, entries);
        assertThat(Files.size(file)).isEqualTo(size);

        try (Arena arena = Arena.ofConfined()) {
            SafetensorsFile f = SafetensorsFile.map(file, arena);
            assertThat(f.tensors().keySet()).containsExactly("a", "b", "empty", "big");
            assertThat(f.metadata()).containsEntry("format", "pt");
            assertValues(f.tensors().get("a"), dtype, new long[] {3, 7}, a);
            assertValues(f.tensors().get("b"), dtype, new long[] {5}, b);
            assertValues(f.tensors().get("empty"), dtype, new long[] {0, 4}, new float[0]);
            assertValues(f.tensors().get("big"), dtype, new long[] {big.length}, big);
        }
    }

    private static void assertValues(Tensor t, DType dtype, long[] shape, float[] expected) {
        assertThat(t.dtype()).isEqualTo(dtype);
        assertThat(t.shape()).containsExactly(shape);
        float[] actual = new float[expected.length];
        t.copyTo(0, actual, 0, actual.length);
        for (int i = 0; i < expected.length; i++) {
            // Bit-exact: the stored value is the round-to-nearest-even of the written one.
            assertThat(Float.floatToRawIntBits(actual[i])).as("%s[%d]", t.name(), i)
                    .isEqualTo(Float.floatToRawIntBits(stored(dtype, expected[i])));
        }
    }

    @Test
    void headerIsPaddedSoTheDataRegionIsEightByteAligned() throws IOException {
        for (int nameLength = 1; nameLength <= 9; nameLength++) {
            Path file = dir.resolve("pad" + nameLength + ".safetensors");
            SafetensorsWriter.write(file, List.of(new SafetensorsWriter.Entry("t".repeat(nameLength), DType.F32,
                    new long[] {1}, SafetensorsWriter.Values.of(1f))));
            byte[] bytes = Files.readAllBytes(file);
            long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertThat((8 + headerLength) % 8).isZero();
            String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
            String json = header.stripTrailing();
            assertThat(json).contains("\"__metadata__\":{\"format\":\"pt\"}").endsWith("}");
            assertThat(header.substring(json.length())).matches(" {0,7}");
            assertThat(bytes.length - 8 - headerLength).isEqualTo(4);
        }
    }

    @Test
    void valuesAreIndependentOfTheWritersParallelism() throws IOException {
        // Values.fill may run on any pool thread; a pure function must give the same bytes as a sequential write.
        float[] v = randomValues(9, SafetensorsWriter.CHUNK * 5 + 3);
        SafetensorsWriter.Values byIndex = (first, out, count) -> {
            for (int i = 0; i < count; i++) {
                out[i] = v[(int) (first + i)];
            }
        };
        Path one = dir.resolve("one.safetensors");
        Path two = dir.resolve("two.safetensors");
        SafetensorsWriter.write(one, List.of(new SafetensorsWriter.Entry("v", DType.BF16, new long[] {v.length},
                byIndex)));
        SafetensorsWriter.write(two, List.of(new SafetensorsWriter.Entry("v", DType.BF16, new long[] {v.length},
                SafetensorsWriter.Values.of(v))));
        assertThat(Files.readAllBytes(one)).isEqualTo(Files.readAllBytes(two));
    }

    @Test
    void shardsAreNonEmptyContiguousAndBalanced() {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        long[] sizes = {100, 1, 1, 50, 50, 50, 50, 1, 200, 3};
        for (int i = 0; i < sizes.length; i++) {
            entries.add(new SafetensorsWriter.Entry("t" + i, DType.F32, new long[] {sizes[i]},
                    SafetensorsWriter.Values.of(new float[(int) sizes[i]])));
        }
        for (int shards = 1; shards <= sizes.length; shards++) {
            List<List<SafetensorsWriter.Entry>> groups = SafetensorsWriter.split(entries, shards);
            assertThat(groups).hasSize(shards).allSatisfy(g -> assertThat(g).isNotEmpty());
            assertThat(groups.stream().flatMap(List::stream).toList()).isEqualTo(entries);
        }
        List<List<SafetensorsWriter.Entry>> two = SafetensorsWriter.split(entries, 2);
        long first = two.getFirst().stream().mapToLong(SafetensorsWriter.Entry::byteSize).sum();
        long total = entries.stream().mapToLong(SafetensorsWriter.Entry::byteSize).sum();
        assertThat((double) first / total).isBetween(0.3, 0.7);
    }
}
