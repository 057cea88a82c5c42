package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CostCommandTest {
    private static final String STEP3 = Path.of("..", "benchmarks", "configs", "step3.json").toString();

    @TempDir
    Path dir;

    private final CliRun cli = new CliRun();
    private final StringWriter out = cli.out;
    private final StringWriter err = cli.err;

    private int run(String... args) {
        return cli.execute(args);
    }

    @Test
    void printsThePapersStep3FiguresWithTheirParts() {
        assertThat(run("cost", "--config", STEP3)).isZero();
        assertThat(out.toString()).contains(
                "KV bytes read     2.56e8", "= 8,192 tokens x 31,232 B", "attention FLOPs   3.27e10",
                "linear FLOPs      2.07e10", "FFN FLOPs         5.33e10", "128 FLOPs per KV byte",
                "0.048 (memory)", "0.040 (compute)",
                "Best pairing: attention on H20 (0.040) + FFN on H800 (0.015) = 0.055 USD per 1M tokens");
        assertThat(out.toString()).doesNotContain("Capacity");
    }

    /**
     * Step-3.5-Flash: 12 full layers read the whole context, 33 sliding layers at most 512 tokens. At 8K:
     * KV (8192 x 12 + 512 x 33) x 2 x 8 x 128 B, attention 8192 x 12 x 2 x 64 x 256 + 512 x 33 x 2 x 96 x 256; at
     * 64K the full layers alone grow (65536 x 12 + 512 x 33) x 2048 B. 197 B parameters, 11.9 B active (the model
     * card: 196 B, 11 B).
     */
    @Test
    void step3p5SlidingLayersReadOnlyTheirWindow() {
        String config = Path.of("..", "benchmarks", "configs", "step3p5-flash.json").toString();
        assertThat(run("cost", "--config", config, "--context", "8192,65536", "--hardware", "H800")).isZero();
        assertThat(out.toString()).contains("33 sliding-window layers (window 512): GQA, 96 query heads x 128",
                "KV bytes read     2.36e8", "(8,192 tokens x 2048 values x 12 full layers + 512 tokens x 2048 values x"
                        + " 33 sliding layers) x 1 B",
                "attention FLOPs   4.05e9", "linear FLOPs      9.01e9", "FFN FLOPs         1.27e10",
                "KV bytes read     1.65e9", "196.94 B stored, 11.92 B activated");
    }

    @Test
    void aMeasuredExchangeOverheadIsProjectedOntoTheStageBudget() {
        assertThat(run("cost", "--config", STEP3, "--hardware", "H800", "--exchange-us", "330")).isZero();
        assertThat(out.toString()).contains("Exchanges alone (measured overhead 330 us per layer exchange):",
                "per stage: 330 us against T = 50 ms / (3 micro-batches x 61 layers) = 273.2 us: 1.21x the budget"
                        + " (over)",
                "if nothing overlaps: 61 layers x 3 micro-batches x 330 us = 60.4 ms, 121% of the 50 ms TPOT");
        assertThat(run("cost", "--config", STEP3, "--hardware", "H800", "--exchange-us", "-1")).isNotZero();
    }

    @Test
    void batchAsksForACapacityPlan() {
        assertThat(run("cost", "--config", STEP3, "--context", "4096", "--batch", "6144", "--tpot-ms", "50",
                "--attention-chip", "h800", "--ffn-chip", "H800")).isZero();
        assertThat(out.toString()).contains("Capacity for TPOT 50 ms, batch 6,144 at 4,096 tokens of context",
                "T = 50 ms / (3 micro-batches x 61 layers) = 273.2 us", "m = 3: the smallest m >= 2 (1 + Tc/Tf)",
                "2,048 sequence(s)", "7,168 B out (FP8), 14,336 B back (BF16)", "122,880 tokens/s");
    }

    @Test
    void jsonCarriesEveryContextAndAHardwareFileAddsChips() throws Exception {
        Path chips = dir.resolve("chips.json");
        Files.writeString(chips, "{\"chips\": [{\"name\": \"L20\", \"price_per_hour\": 0.5, \"bf16_flops\": 1.195e14,"
                + " \"memory_bytes_per_second\": 8.64e11, \"memory_bytes\": 4.8e10,"
                + " \"nic_bytes_per_second\": 2.5e10}]}");
        assertThat(run("cost", "--config", STEP3, "--context", "8192,32768", "--hardware", "H800,L20",
                "--hardware-file", chips.toString(), "--batch", "1024", "--json")).isZero();
        JsonNode json = new ObjectMapper().readTree(out.toString());
        assertThat(json.path("model").path("attention").path("kind").asText()).isEqualTo("MFA");
        assertThat(json.path("contexts")).hasSize(2);
        JsonNode at32k = json.path("contexts").get(1);
        assertThat(at32k.path("costs").path("work").path("context").asLong()).isEqualTo(32768);
        assertThat(at32k.path("costs").path("chips")).extracting(c -> c.path("chip").asText())
                .containsExactly("H800", "L20");
        assertThat(at32k.path("costs").path("costs_in").asText()).isEqualTo("USD per 1M decoded tokens");
        assertThat(at32k.path("capacity").path("micro_batches").asInt()).isGreaterThanOrEqualTo(3);
    }

    @Test
    void badInputsAreOneLineErrors() {
        assertThat(run("cost", "--config", STEP3, "--hardware", "B200")).isEqualTo(1);
        assertThat(err.toString()).contains("afd cost: unknown chip 'B200'; known: H800, H20, A800, 910B");
        assertThat(run("cost", "--config", STEP3, "--ffn-chip", "H20")).isEqualTo(1);
        assertThat(err.toString()).contains("add --batch N");
        assertThat(run("cost", "--config", dir.resolve("none.json").toString())).isEqualTo(1);
        assertThat(err.toString()).contains("no such file");
        assertThat(run("cost", "--config", STEP3, "--precision", "fp4")).isEqualTo(1);
        assertThat(err.toString()).contains("unknown precision 'fp4'");
    }
}
