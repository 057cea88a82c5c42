package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.spec.SpeculativeConfig;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.reference.Float64Reference;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.tensor.DType;
import dev.afd.proto.WireDtype;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A Step-3.5 checkpoint ({@code step3p5-tiny}: sliding window 16, SwiGLU clamps, sigmoid routing) served by an
 * attention node and two ffn-nodes on loopback gives exactly the tokens and log-probabilities of the single process,
 * with prompts and generations past the window; and with f32 wire and KV, the greedy tokens of the float64
 * reference. Speculative decoding with MTP drafts over the same deployment gives the single process's plain tokens.
 */
class Step3p5DistributedParityTest {
    private static Path dir;
    private static Checkpoint checkpoint;

    @BeforeAll
    static void model(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        dir = tmp;
        ModelGenerator.generate(ModelPreset.STEP3P5_TINY.config(false), ModelGenerator.Options.defaults(), dir);
        checkpoint = Checkpoint.open(dir);
    }

    @AfterAll
    static void close() {
        checkpoint.close();
    }

    @ParameterizedTest
    @EnumSource(value = WireDtype.class, names = {"WIRE_F32", "WIRE_BF16"})
    void distributedEqualsSingleProcess(WireDtype dtype) throws Exception {
        AttentionNode.Wire wire = new AttentionNode.Wire(dtype, dtype, Duration.ofSeconds(20));
        EngineOptions options = EngineOptions.defaults().withKvDtype(DType.F32).withMicroBatches(2);
        List<GenerationRequest> requests = DistributedParityTest.requests(checkpoint, 10);
        List<GenerationResult> single = DistributedParityTest.singleProcess(checkpoint, requests, wire, options);
        try (Cluster cluster = new Cluster(checkpoint, 2, wire, options)) {
            int port = cluster.attention.serve("127.0.0.1", 0).port();
            DistributedParityTest.assertSame(DistributedParityTest.generate(requests, List.of(port)), single);
            Cluster.awaitKvFree(cluster.attention);
        }
    }

    /**
     * MTP drafts (K = 3, the one MTP layer reused) over gRPC with two ffn-nodes give exactly the single process's plain
     * tokens and log-probabilities, greedy and seeded. The checkpoint is the MTP-agreeing fixture, so drafts are
     * accepted: every accepted draft row went through attention and the exchange like any other.
     */
    @Test
    void mtpSpeculativeDecodingOverGrpcEqualsPlainSingleProcess(@org.junit.jupiter.api.io.TempDir Path agreeing)
            throws Exception {
        ModelGenerator.generate(ModelPreset.STEP3P5_TINY.config(false),
                ModelGenerator.Options.defaults().withMtpAgreeing(), agreeing);
        AttentionNode.Wire wire = new AttentionNode.Wire(WireDtype.WIRE_BF16, WireDtype.WIRE_BF16,
                Duration.ofSeconds(20));
        EngineOptions options = EngineOptions.defaults().withKvDtype(DType.F32).withMicroBatches(2);
        try (Checkpoint c = Checkpoint.open(agreeing)) {
            List<GenerationRequest> requests = DistributedParityTest.requests(c, 10);
            List<GenerationResult> single = DistributedParityTest.singleProcess(c, requests, wire, options);
            try (Cluster cluster = new Cluster(c, 2, wire, options.withSpeculative(SpeculativeConfig.mtp(3)))) {
                int port = cluster.attention.serve("127.0.0.1", 0).port();
                DistributedParityTest.assertSame(DistributedParityTest.generate(requests, List.of(port)), single);
                Matcher accepted = Pattern.compile(
                        "(?m)^vllm:spec_decode_num_accepted_tokens_total\\{[^}]*\\} ([0-9.E]+)$")
                        .matcher(cluster.attention.metrics().scrape());
                assertThat(accepted.find()).isTrue();
                assertThat(Double.parseDouble(accepted.group(1))).as("MTP drafts accepted").isPositive();
                Cluster.awaitKvFree(cluster.attention);
            }
        }
    }

    @Test
    void distributedGreedyTokensMatchTheFloat64Reference() throws Exception {
        assumeTrue(Float64Reference.available(), "python3 with numpy is needed for the float64 reference");
        AttentionNode.Wire wire = new AttentionNode.Wire(WireDtype.WIRE_F32, WireDtype.WIRE_F32,
                Duration.ofSeconds(20));
        EngineOptions options = EngineOptions.defaults().withKvDtype(DType.F32).withMicroBatches(2);
        SplittableRandom random = new SplittableRandom(23);
        List<GenerationRequest> requests = List.of(
                new GenerationRequest(random.ints(21, 0, 512).toArray(), 20, SamplingParams.greedy(), true),
                new GenerationRequest(random.ints(6, 0, 512).toArray(), 30, SamplingParams.greedy(), true));
        try (Cluster cluster = new Cluster(checkpoint, 2, wire, options)) {
            int port = cluster.attention.serve("127.0.0.1", 0).port();
            List<GenerationResult> served = DistributedParityTest.generate(requests, List.of(port));
            for (int i = 0; i < requests.size(); i++) {
                GenerationRequest r = requests.get(i);
                Float64Reference.Result expected = Float64Reference.generate(
                        Float64Reference.Request.greedy(dir, r.promptIds(), r.maxTokens()).withIgnoreEos(true));
                assertThat(served.get(i).tokenIds()).as("request %d", i).isEqualTo(expected.tokenIds());
                for (int t = 0; t < expected.logprobs().length; t++) {
                    assertThat(Math.abs(served.get(i).logprobs()[t] - expected.logprobs()[t]))
                            .as("request %d |Δ logprob| at step %d", i, t).isLessThanOrEqualTo(1e-4);
                }
            }
            Cluster.awaitKvFree(cluster.attention);
        }
    }
}
