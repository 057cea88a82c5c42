package dev.afd.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.proto.WireDtype;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The speculative rows of {@code afd bench afd} run on the tiny model: plain has no drafts, K > 0 verifies some. */
class SpeculativeBenchTest {
    @Test
    void measuresPlainAndSpeculativeDecoding(@TempDir Path dir) throws Exception {
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), dir);
        List<String> progress = new ArrayList<>();
        List<SpeculativeBench.Result> results;
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            results = SpeculativeBench.run(checkpoint, new int[] {0, 2}, WireDtype.WIRE_BF16,
                    new DecodeBench.Timing(Duration.ZERO, Duration.ofMillis(50)), progress::add);
        }
        assertThat(results).extracting(SpeculativeBench.Result::draftTokens).containsExactly(0, 2);
        SpeculativeBench.Result plain = results.get(0);
        SpeculativeBench.Result speculative = results.get(1);
        assertThat(plain.tokensPerSecond()).isPositive();
        assertThat(plain.decodedTokens()).isGreaterThanOrEqualTo(SpeculativeBench.MAX_TOKENS - 1);
        assertThat(plain.drafted()).isZero();
        assertThat(plain.acceptanceRate()).isNaN();
        assertThat(speculative.tokensPerSecond()).isPositive();
        assertThat(speculative.drafted()).as("the repeated prompt always offers a match").isPositive();
        assertThat(speculative.accepted()).isBetween(0L, speculative.drafted());
        assertThat(progress).containsExactly("speculative decoding, K=0", "speculative decoding, K=2");
    }
}
