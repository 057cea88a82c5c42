package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.client.AttentionClient;
import dev.afd.attention.engine.CollectingSink;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.spec.SpeculativeConfig;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.tensor.DType;
import dev.afd.proto.WireDtype;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One attention node (or two) and two ffn-nodes on loopback give exactly the tokens and log-probabilities of the
 * single process (in-process ffn shards, same wire dtype), for many concurrent sequences of different lengths arriving
 * at different times.
 */
class DistributedParityTest {
    private static Checkpoint checkpoint;

    @BeforeAll
    static void model(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), dir);
        checkpoint = Checkpoint.open(dir);
    }

    @AfterAll
    static void close() {
        checkpoint.close();
    }

    @ParameterizedTest
    @EnumSource(value = WireDtype.class, names = {"WIRE_F32", "WIRE_BF16", "WIRE_FP8_E4M3"})
    void distributedEqualsSingleProcess(WireDtype dtype) throws Exception {
        AttentionNode.Wire wire = new AttentionNode.Wire(dtype,
                dtype == WireDtype.WIRE_F32 ? WireDtype.WIRE_F32 : WireDtype.WIRE_BF16, Duration.ofSeconds(20));
        EngineOptions options = EngineOptions.defaults().withKvDtype(DType.F32).withMicroBatches(2);
        List<GenerationRequest> requests = requests(checkpoint, 12);
        List<GenerationResult> single = singleProcess(checkpoint, requests, wire, options);
        try (Cluster cluster = new Cluster(checkpoint, 2, wire, options)) {
            int port = cluster.attention.serve("127.0.0.1", 0).port();
            assertSame(generate(requests, List.of(port)), single);
            Cluster.awaitKvFree(cluster.attention);
        }
    }

    /**
     * Two attention nodes sharing the same two ffn-nodes (attention replicas in front of one FFN tier), requests
     * spread over both: every request still gets exactly its single-process tokens and log-probabilities.
     */
    @org.junit.jupiter.api.Test
    void twoAttentionNodesSharingFfnNodesEqualSingleProcess() throws Exception {
        AttentionNode.Wire wire = new AttentionNode.Wire(WireDtype.WIRE_BF16, WireDtype.WIRE_BF16,
                Duration.ofSeconds(20));
        EngineOptions options = EngineOptions.defaults().withKvDtype(DType.F32).withMicroBatches(2);
        List<GenerationRequest> requests = requests(checkpoint, 16);
        List<GenerationResult> single = singleProcess(checkpoint, requests, wire, options);
        try (Cluster cluster = new Cluster(checkpoint, 2, wire, options);
                AttentionNode second = AttentionNode.remote(checkpoint, cluster.ffnTargets(), wire, options,
                        "second attention test")) {
            cluster.awaitLive(second);
            int first = cluster.attention.serve("127.0.0.1", 0).port();
            int other = second.serve("127.0.0.1", 0).port();
            assertSame(generate(requests, List.of(first, other)), single);
            Cluster.awaitKvFree(cluster.attention);
            Cluster.awaitKvFree(second);
        }
    }

    /**
     * Speculative decoding over gRPC with two ffn-nodes (n-gram drafts, K = 3; every draft row goes through
     * attention and the exchange in the step's micro-batches) gives exactly the single process's plain tokens and
     * log-probabilities, greedy and seeded; prompts repeat a motif, so drafts are accepted.
     */
    @org.junit.jupiter.api.Test
    void speculativeDecodingOverGrpcEqualsPlainSingleProcess() throws Exception {
        AttentionNode.Wire wire = new AttentionNode.Wire(WireDtype.WIRE_BF16, WireDtype.WIRE_BF16,
                Duration.ofSeconds(20));
        EngineOptions options = EngineOptions.defaults().withKvDtype(DType.F32).withMicroBatches(2);
        SplittableRandom random = new SplittableRandom(23);
        int vocab = checkpoint.config().vocabSize();
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            int[] motif = random.ints(random.nextInt(2, 6), 0, vocab).toArray();
            int[] prompt = IntStream.range(0, random.nextInt(3, 8)).flatMap(r -> IntStream.of(motif)).toArray();
            SamplingParams sampling = i % 3 == 0 ? SamplingParams.defaults().withTemperature(0.8).withSeed((long) i)
                    : SamplingParams.greedy();
            requests.add(new GenerationRequest(prompt, random.nextInt(8, 32), sampling, true));
        }
        List<GenerationResult> single = singleProcess(checkpoint, requests, wire, options);
        try (Cluster cluster = new Cluster(checkpoint, 2, wire, options.withSpeculative(SpeculativeConfig.ngram(3)))) {
            int port = cluster.attention.serve("127.0.0.1", 0).port();
            assertSame(generate(requests, List.of(port)), single);
            Matcher accepted = Pattern.compile("(?m)^vllm:spec_decode_num_accepted_tokens_total\\{[^}]*\\} ([0-9.E]+)$")
                    .matcher(cluster.attention.metrics().scrape());
            assertThat(accepted.find()).isTrue();
            assertThat(Double.parseDouble(accepted.group(1))).as("drafts accepted").isPositive();
            Cluster.awaitKvFree(cluster.attention);
        }
    }

    static List<GenerationResult> singleProcess(Checkpoint checkpoint, List<GenerationRequest> requests,
            AttentionNode.Wire wire, EngineOptions options) throws Exception {
        List<GenerationResult> single = new ArrayList<>();
        try (AttentionNode local = AttentionNode.inProcess(checkpoint, 2, wire, options)) {
            for (GenerationRequest r : requests) {
                CollectingSink sink = new CollectingSink();
                local.engine().submit("r", r, sink);
                single.add(sink.result().get());
            }
        }
        return single;
    }

    /** Every request from its own client, spread over the attention nodes at {@code ports}, arriving staggered. */
    static List<GenerationResult> generate(List<GenerationRequest> requests, List<Integer> ports)
            throws Exception {
        try (ExecutorService clients = Executors.newFixedThreadPool(requests.size())) {
            List<Future<GenerationResult>> futures = new ArrayList<>();
            for (int i = 0; i < requests.size(); i++) {
                int index = i;
                futures.add(clients.submit(() -> {
                    Thread.sleep(7L * index); // staggered arrivals: requests join running batches
                    try (AttentionClient client = new AttentionClient("127.0.0.1:" + ports.get(index % ports.size()))) {
                        return client.generate("req-" + index, requests.get(index));
                    }
                }));
            }
            List<GenerationResult> results = new ArrayList<>();
            for (Future<GenerationResult> f : futures) {
                results.add(f.get());
            }
            return results;
        }
    }

    static void assertSame(List<GenerationResult> distributed, List<GenerationResult> single) {
        for (int i = 0; i < single.size(); i++) {
            GenerationResult d = distributed.get(i);
            assertThat(d.tokenIds()).as("tokens of request %d", i).isEqualTo(single.get(i).tokenIds());
            assertThat(d.logprobs()).as("logprobs of request %d", i).isEqualTo(single.get(i).logprobs());
            assertThat(d.finishReason()).isEqualTo(single.get(i).finishReason());
        }
    }

    /** Prompts of 1 to 40 tokens; greedy and seeded sampling; lengths 1 to 24. */
    static List<GenerationRequest> requests(Checkpoint checkpoint, int n) {
        SplittableRandom random = new SplittableRandom(17);
        int vocab = checkpoint.config().vocabSize();
        List<GenerationRequest> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] prompt = random.ints(1 + random.nextInt(40), 0, vocab).toArray();
            SamplingParams sampling = i % 3 == 0
                    ? SamplingParams.defaults().withTemperature(0.8).withTopP(0.9).withSeed((long) i)
                    : SamplingParams.greedy();
            out.add(new GenerationRequest(prompt, 1 + random.nextInt(24), sampling, true));
        }
        return out;
    }
}
