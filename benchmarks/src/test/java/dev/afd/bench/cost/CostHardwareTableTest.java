package dev.afd.bench.cost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CostHardwareTableTest {
    @TempDir
    Path dir;

    /** The file users copy and extend must say what the built-in table says. */
    @Test
    void shippedFileIsThePapersTable() throws IOException {
        assertThat(HardwareTable.read(Path.of("hardware.json")).chips()).isEqualTo(HardwareTable.paper().chips());
    }

    @Test
    void aUserFileAddsChipsAndReplacesThoseOfTheSameName() throws IOException {
        Path file = dir.resolve("chips.json");
        Files.writeString(file, """
                {"chips": [
                  {"name": "h20", "price_per_hour": 1.0, "bf16_flops": 1.48e14, "fp8_flops": 2.96e14,
                   "memory_bytes_per_second": 4.0e12},
                  {"name": "L20", "price_per_hour": 0.5, "bf16_flops": 1.195e14, "memory_bytes_per_second": 8.64e11}
                ]}
                """);
        HardwareTable table = HardwareTable.paper().with(HardwareTable.read(file));
        assertThat(table.chips()).extracting(Chip::name).containsExactly("H800", "h20", "A800", "910B", "L20");
        assertThat(table.chip("H20").pricePerHour()).isEqualTo(1.0);
        assertThat(table.chip("H20").memoryBytes()).isNull();
        Chip l20 = table.chip(" l20 ");
        assertThat(l20.rateName(Precision.FP8)).isEqualTo("bf16");
        assertThat(l20.costPerFlop(Precision.FP8)).isEqualTo(0.5 / 3600 / 1.195e14);
        assertThat(table.select(List.of("L20", "H800", "l20"))).extracting(Chip::name).containsExactly("L20", "H800");
    }

    @Test
    void badEntriesNameTheChipAndTheKey() throws IOException {
        assertThatThrownBy(() -> HardwareTable.paper().chip("B200"))
                .isInstanceOf(CostInputException.class)
                .hasMessageContaining("unknown chip 'B200'; known: H800, H20, A800, 910B");
        Path missing = dir.resolve("missing.json");
        Files.writeString(missing, "{\"chips\": [{\"name\": \"X\", \"price_per_hour\": 1, \"bf16_flops\": 1e14}]}");
        assertThatThrownBy(() -> HardwareTable.read(missing))
                .hasMessageContaining("chip 'X': memory_bytes_per_second is missing");
        Path negative = dir.resolve("negative.json");
        Files.writeString(negative, "{\"chips\": [{\"name\": \"X\", \"price_per_hour\": -1, \"bf16_flops\": 1e14,"
                + " \"memory_bytes_per_second\": 1e12}]}");
        assertThatThrownBy(() -> HardwareTable.read(negative))
                .hasMessageContaining("chip X: price_per_hour must be a positive number");
        Path empty = dir.resolve("empty.json");
        Files.writeString(empty, "{\"chips\": []}");
        assertThatThrownBy(() -> HardwareTable.read(empty)).hasMessageContaining("at least one chip");
    }
}
