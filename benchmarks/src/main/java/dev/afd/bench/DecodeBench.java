package dev.afd.bench;

import dev.afd.model.family.CausalLm;
import dev.afd.model.family.Chunk;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.ModelWeights;
import dev.afd.model.kv.SequenceKvCache;
import dev.afd.model.tensor.DType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * End-to-end decode throughput of a model in one process, next to its bandwidth roofline: the weight bytes one
 * engine step must read divided by the measured memory bandwidth.
 */
public final class DecodeBench {
    /**
     * @param batch sequences decoding together
     * @param tokensPerSecond measured decode tokens per second over all sequences
     * @param tokens tokens decoded while timed
     * @param bytesPerStep weight bytes one step reads (dense parts, shared experts, expected distinct routed experts)
     */
    public record Result(int batch, double tokensPerSecond, long tokens, long bytesPerStep) {
        /** The bandwidth roofline: {@code batch × bytesPerSecond / bytesPerStep}. */
        public double rooflineTokensPerSecond(double bytesPerSecond) {
            return batch * bytesPerSecond / bytesPerStep;
        }
    }

    /**
     * How long a run warms up and how long its timed part lasts at least.
     *
     * @param warmUp a cold JVM decodes at a third of its steady speed: warm up until the JIT has compiled every path
     * @param minTimed at batch 1 a few steps are a fraction of a second, and noisy
     */
    public record Timing(Duration warmUp, Duration minTimed) {
        /** 3 s of warm-up, at least 2 s timed. */
        public static final Timing DEFAULT = new Timing(Duration.ofSeconds(3), Duration.ofSeconds(2));
    }

    private DecodeBench() {}

    /**
     * Prefills {@code batch} random prompts of {@code promptLength} tokens, then times at least {@code steps} decode
     * steps and at least 2 s (greedy, the argmax fed back) after a warm-up of at least 3 s and {@code steps} steps.
     */
    public static Result run(CausalLm model, int batch, int promptLength, int steps) {
        return run(model, batch, promptLength, steps, 1, Timing.DEFAULT, () -> { });
    }

    /**
     * As {@link #run(CausalLm, int, int, int)}, with each step split into {@code microBatches}, warm-up and
     * timed part as {@code timing} says, calling {@code beforeTimedSteps} once prefill and warm-up are done (e.g. to
     * reset exchange statistics).
     */
    public static Result run(CausalLm model, int batch, int promptLength, int steps, int microBatches,
            Timing timing, Runnable beforeTimedSteps) {
        ModelConfig c = model.config();
        SplittableRandom random = new SplittableRandom(batch);
        List<SequenceKvCache> caches = new ArrayList<>();
        try {
            List<Chunk> chunks = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                SequenceKvCache kv = new SequenceKvCache(c.kvLayout().slots(), c.kvLayout().headDim(), DType.BF16);
                caches.add(kv);
                chunks.add(new Chunk(kv, random.ints(promptLength, 0, c.vocabSize()).toArray(), 0, true));
            }
            float[][] logits = model.forward(chunks, microBatches);
            int position = promptLength;
            // Warm-up: at least timing.warmUp(), and as many steps as are timed.
            long warmUntil = System.nanoTime() + timing.warmUp().toNanos();
            for (int step = 0; step < steps || System.nanoTime() < warmUntil; step++, position++) {
                logits = model.forward(next(caches, logits, position), microBatches);
            }
            beforeTimedSteps.run();
            long start = System.nanoTime();
            long timedUntil = start + timing.minTimed().toNanos();
            int timed = 0;
            for (; timed < steps || System.nanoTime() < timedUntil; timed++, position++) {
                logits = model.forward(next(caches, logits, position), microBatches);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            long bytes = bytesPerStep(model.weights(), c, batch);
            long tokens = (long) batch * timed;
            return new Result(batch, tokens / seconds, tokens, bytes);
        } finally {
            caches.forEach(SequenceKvCache::close);
        }
    }

    /** One decode step: every sequence's argmax token at {@code position}. */
    private static List<Chunk> next(List<SequenceKvCache> caches, float[][] logits, int position) {
        List<Chunk> decode = new ArrayList<>(caches.size());
        for (int b = 0; b < caches.size(); b++) {
            decode.add(new Chunk(caches.get(b), new int[] {argmax(logits[b])}, position, true));
        }
        return decode;
    }

    /**
     * Weight bytes one decode step of {@code batch} tokens reads: everything but the routed experts once, plus the
     * routed experts the batch touches, assuming uniform routing (expected distinct experts of {@code batch × k}
     * draws from E: {@code E (1 - (1 - k/E)^batch)}).
     */
    public static long bytesPerStep(ModelWeights weights, ModelConfig c, int batch) {
        long perToken = weights.bytesReadPerToken(c);
        if (c.moeLayers().isEmpty()) {
            return perToken;
        }
        long expertBytes = weights.ffnLayers().get(c.moeLayers().getFirst()).moe().expert(0).gate().data().byteSize() * 3;
        double e = c.numExperts();
        double distinct = e * (1 - Math.pow(1 - c.topK() / e, batch));
        long routedAtBatch1 = (long) c.topK() * expertBytes * c.moeLayers().size();
        return perToken - routedAtBatch1 + Math.round(distinct * expertBytes * c.moeLayers().size());
    }

    private static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) {
            if (l[i] > l[best]) {
                best = i;
            }
        }
        return best;
    }
}
