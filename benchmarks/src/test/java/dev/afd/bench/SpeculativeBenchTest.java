package dev.afd.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.spec.SpeculativeConfig;
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

/**
 * The speculative rows of {@code afd bench afd} run on the tiny models: plain has no drafts, K > 0 verifies some, with
 * n-gram drafts and with MTP drafts (on the MTP-agreeing fixture, which accepts most of them); per-position counts add
 * up to the totals.
 */
class SpeculativeBenchTest {
    @Test
    void measuresPlainAndSpeculativeDecoding(@TempDir Path dir) throws Exception {
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), dir);
        List<String> progress = new ArrayList<>();
        List<SpeculativeBench.Result> results;
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            results = SpeculativeBench.run(checkpoint, new int[] {0, 2}, SpeculativeConfig.Method.NGRAM,
                    WireDtype.WIRE_BF16,
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
        assertThat(speculative.draftedAt()[0] + speculative.draftedAt()[1]).isEqualTo(speculative.drafted());
        assertThat(speculative.acceptedAt()[0] + speculative.acceptedAt()[1]).isEqualTo(speculative.accepted());
    }

    @Test
    void measuresMtpDraftsPerPosition(@TempDir Path dir) throws Exception {
        ModelGenerator.generate(ModelPreset.STEP3P5_TINY.config(false),
                ModelGenerator.Options.defaults().withMtpAgreeing(), dir);
        List<SpeculativeBench.Result> results;
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            results = SpeculativeBench.run(checkpoint, new int[] {3}, SpeculativeConfig.Method.MTP,
                    WireDtype.WIRE_BF16, new DecodeBench.Timing(Duration.ZERO, Duration.ofMillis(50)), p -> {});
        }
        SpeculativeBench.Result mtp = results.getFirst();
        assertThat(mtp.draftedAt()).hasSize(3);
        assertThat(mtp.draftedAt()[0]).as("every step after the first drafts").isPositive();
        assertThat(mtp.acceptanceRate(0)).as("the fixture's MTP layer agrees with the model").isGreaterThan(0.5);
        assertThat(mtp.acceptedAt()[0] + mtp.acceptedAt()[1] + mtp.acceptedAt()[2]).isEqualTo(mtp.accepted());
        assertThat(mtp.acceptedAt()[2]).as("a later draft is accepted only with the ones before it")
                .isLessThanOrEqualTo(mtp.acceptedAt()[1]).isLessThanOrEqualTo(mtp.acceptedAt()[0]);
    }
}
