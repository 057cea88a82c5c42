package dev.afd.bench;

import dev.afd.attention.engine.Engine;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.engine.RequestObserver;
import dev.afd.attention.engine.TokenSink;
import dev.afd.attention.spec.SpeculativeConfig;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.Sample;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.proto.WireDtype;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * Speculative decoding at batch 1 through the whole engine (scheduler, paged KV, drafts verified in one step) on the
 * disaggregated path: two ffn-nodes behind real gRPC on loopback, sharing the cores, one micro-batch. One greedy
 * request at a time, its prompt a random motif repeated, so that n-gram drafts have something to find; decode
 * tokens per second (first token to last) with K = 0 (plain) and each K asked for, drafts from the method asked for
 * (n-gram, or the model's MTP layers), and the share of drafts accepted, overall and at each draft position.
 */
public final class SpeculativeBench {
    /** Prompt: a motif of this many random tokens ... */
    public static final int MOTIF = 8;
    /** ... repeated this many times. */
    public static final int REPEATS = 8;
    /** Tokens each request generates. */
    public static final int MAX_TOKENS = 128;

    /**
     * One K's figures.
     *
     * @param draftTokens K, drafts per step (0: plain decoding)
     * @param tokensPerSecond decode tokens per second, first token to last, over the timed requests
     * @param decodedTokens tokens decoded while timed (the first of each request not counted)
     * @param drafted draft tokens verified while timed
     * @param accepted of those, accepted
     * @param draftedAt per draft position (0: a step's first draft), drafts verified there
     * @param acceptedAt per draft position, drafts accepted there (a draft is accepted only with all before it)
     */
    public record Result(int draftTokens, double tokensPerSecond, long decodedTokens, long drafted, long accepted,
            long[] draftedAt, long[] acceptedAt) {
        public Result {
            draftedAt = draftedAt.clone();
            acceptedAt = acceptedAt.clone();
        }

        /** Accepted over verified drafts; NaN without drafts. */
        public double acceptanceRate() {
            return drafted == 0 ? Double.NaN : (double) accepted / drafted;
        }

        /** Accepted over verified drafts at draft position {@code position}; NaN without drafts there. */
        public double acceptanceRate(int position) {
            return draftedAt[position] == 0 ? Double.NaN : (double) acceptedAt[position] / draftedAt[position];
        }
    }

    private SpeculativeBench() {}

    /**
     * @param ks the K values to measure; each gets its own engine, warmed up and timed as {@code timing} says
     * @param method where drafts come from
     */
    public static List<Result> run(Checkpoint checkpoint, int[] ks, SpeculativeConfig.Method method, WireDtype wire,
            DecodeBench.Timing timing, Consumer<String> progress) throws IOException, InterruptedException, ExecutionException {
        int vocab = checkpoint.config().vocabSize();
        int[] motif = new SplittableRandom(MOTIF).ints(MOTIF, 0, vocab).toArray();
        int[] prompt = IntStream.range(0, REPEATS).flatMap(r -> IntStream.of(motif)).toArray();
        GenerationRequest request = new GenerationRequest(prompt, MAX_TOKENS, SamplingParams.greedy(), true);
        List<Result> results = new ArrayList<>();
        try (AfdBench.Deployment d = AfdBench.Deployment.start(checkpoint, AfdBench.halves(checkpoint), wire)) {
            for (int k : ks) {
                progress.accept("speculative decoding, K=" + k);
                DraftCounts counts = new DraftCounts(k);
                EngineOptions options = EngineOptions.defaults().withKvMemory(64L << 20).withMicroBatches(1)
                        .withSpeculative(k == 0 ? SpeculativeConfig.off() : new SpeculativeConfig(method, k, 1, 3));
                try (Engine engine = new Engine(d.model(), Set.of(), options, counts, null)) {
                    long warmUntil = System.nanoTime() + timing.warmUp().toNanos();
                    do {
                        decode(engine, request);
                    } while (System.nanoTime() < warmUntil);
                    counts.reset();
                    long nanos = 0;
                    long tokens = 0;
                    long timedUntil = System.nanoTime() + timing.minTimed().toNanos();
                    do {
                        Timed t = decode(engine, request);
                        nanos += t.nanos();
                        tokens += t.tokens();
                    } while (System.nanoTime() < timedUntil);
                    results.add(new Result(k, tokens * 1e9 / nanos, tokens, counts.drafted, counts.accepted,
                            counts.draftedAt, counts.acceptedAt));
                }
            }
        }
        return results;
    }

    private record Timed(long nanos, long tokens) {}

    /** Runs one request; the time from its first token to its last and the tokens decoded in it. */
    private static Timed decode(Engine engine, GenerationRequest request)
            throws InterruptedException, ExecutionException {
        CompletableFuture<Timed> done = new CompletableFuture<>();
        engine.submit("bench", request, new TokenSink() {
            private long first;
            private long last;

            @Override
            public void onToken(Sample sample) {
                last = System.nanoTime();
                if (first == 0) {
                    first = last;
                }
            }

            @Override
            public void onFinish(GenerationResult result) {
                done.complete(new Timed(last - first, result.tokenIds().length - 1));
            }

            @Override
            public void onError(String message) {
                done.completeExceptionally(new IllegalStateException(message));
            }
        });
        return done.get();
    }

    /**
     * Drafts verified and accepted, overall and per draft position, as the engine reports them; written on its thread,
     * read after a request completed (the request's future orders the two).
     */
    private static final class DraftCounts implements RequestObserver {
        private long drafted;
        private long accepted;
        private final long[] draftedAt;
        private final long[] acceptedAt;

        DraftCounts(int k) {
            draftedAt = new long[k];
            acceptedAt = new long[k];
        }

        @Override
        public void drafted(int drafts, int acceptedDrafts) {
            drafted += drafts;
            accepted += acceptedDrafts;
            for (int i = 0; i < drafts; i++) {
                draftedAt[i]++;
                if (i < acceptedDrafts) {
                    acceptedAt[i]++;
                }
            }
        }

        void reset() {
            drafted = 0;
            accepted = 0;
            Arrays.fill(draftedAt, 0);
            Arrays.fill(acceptedAt, 0);
        }
    }
}
