package dev.afd.model.safetensors;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One mapping covers a file past 2 GB; a sparse file keeps the test free on disk. */
class LargeMappingTest {
    @TempDir
    Path dir;

    @Test
    void tensorsPastTwoGigabytesAreReadable() throws IOException {
        long bigElements = (1L << 29) + 8; // 2 GiB + 32 bytes of f32
        long bigBytes = bigElements * 4;
        long tailBegin = bigBytes;
        long tailEnd = tailBegin + 16;
        String header = "{\"big\": {\"dtype\": \"F32\", \"shape\": [" + bigElements + "], \"data_offsets\": [0, "
                + bigBytes + "]}, \"tail\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": ["
                + tailBegin + ", " + tailEnd + "]}}";
        Path file = RawFiles.write(dir.resolve("large.safetensors"), header, tailEnd);
        RawFiles.putFloat(file, bigBytes - 4, 7.25f);
        for (int i = 0; i < 4; i++) {
            RawFiles.putFloat(file, tailBegin + 4L * i, i + 0.5f);
        }
        assertThat(Files.size(file)).isGreaterThan(1L << 31);

        try (Arena arena = Arena.ofConfined()) {
            SafetensorsFile f = SafetensorsFile.map(file, arena);
            Tensor big = f.tensors().get("big");
            Tensor tail = f.tensors().get("tail");
            assertThat(big.data().byteSize()).isEqualTo(bigBytes);
            assertThat(big.getFloat(0)).isZero();
            assertThat(big.getFloat(bigElements - 1)).isEqualTo(7.25f);
            assertThat(tail.shape()).containsExactly(2, 2);
            for (int i = 0; i < 4; i++) {
                assertThat(tail.getFloat(i)).isEqualTo(i + 0.5f);
            }
        }
    }
}
