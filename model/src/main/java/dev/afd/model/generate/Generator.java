package dev.afd.model.generate;

import dev.afd.model.config.Step3Config;
import dev.afd.model.kv.SequenceKvCache;
import dev.afd.model.sampling.Sample;
import dev.afd.model.sampling.SequenceSampler;
import dev.afd.model.sampling.TokenLogprob;
import dev.afd.model.step3.Step3Model;
import dev.afd.model.tensor.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Offline generation: runs a set of requests together to completion, one engine step at a time. A step carries the
 * next prefill chunk of every sequence still reading its prompt and one decode token of every other, so sequences at
 * different positions share each weight pass.
 *
 * <p>Not thread-safe: one caller at a time.
 */
public final class Generator {
    private final Step3Model model;
    private final Set<Integer> eosIds;
    private final DType kvDtype;
    private final int prefillChunk;

    /**
     * @param eosIds end-of-sequence ids (from config.json and generation_config.json)
     * @param kvDtype KV cache element type, F32 or BF16
     * @param prefillChunk most prompt tokens of one sequence per step
     */
    public Generator(Step3Model model, Set<Integer> eosIds, DType kvDtype, int prefillChunk) {
        this.model = model;
        this.eosIds = Set.copyOf(eosIds);
        this.kvDtype = kvDtype;
        this.prefillChunk = prefillChunk;
    }

    public GenerationResult generate(GenerationRequest request) {
        return generate(List.of(request)).getFirst();
    }

    public List<GenerationResult> generate(List<GenerationRequest> requests) {
        requests.forEach(this::validate);
        Step3Config c = model.config();
        List<Sequence> sequences = new ArrayList<>();
        try {
            for (GenerationRequest r : requests) {
                sequences.add(new Sequence(r, new SequenceKvCache(c.numLayers(), c.headDim(), kvDtype),
                        new SequenceSampler(r.sampling(), r.promptIds(), c.vocabSize())));
            }
            List<Sequence> running = new ArrayList<>(sequences);
            while (!running.isEmpty()) {
                List<Step3Model.Chunk> chunks = new ArrayList<>(running.size());
                for (Sequence s : running) {
                    chunks.add(s.nextChunk(prefillChunk));
                }
                float[][] logits = model.forward(chunks);
                for (int i = 0; i < running.size(); i++) {
                    running.get(i).advance(chunks.get(i), logits[i]);
                }
                running.removeIf(Sequence::finished);
            }
            return sequences.stream().map(Sequence::result).toList();
        } finally {
            sequences.forEach(s -> s.kv.close());
        }
    }

    private void validate(GenerationRequest r) {
        Step3Config c = model.config();
        for (int id : r.promptIds()) {
            if (id < 0 || id >= c.vocabSize()) {
                throw new IllegalArgumentException("prompt token id " + id + " is outside the vocabulary [0, "
                        + c.vocabSize() + ")");
            }
        }
        if ((long) r.promptIds().length + r.maxTokens() > c.maxPositions()) {
            throw new IllegalArgumentException("the prompt (" + r.promptIds().length + " tokens) plus max_tokens ("
                    + r.maxTokens() + ") exceeds the model's context of " + c.maxPositions() + " tokens");
        }
    }

    /** One request's progress: prompt tokens consumed, tokens generated, and why it stopped. */
    private final class Sequence {
        final GenerationRequest request;
        final SequenceKvCache kv;
        final SequenceSampler sampler;
        final int[] generated;
        final float[] logprobs;
        final List<List<TokenLogprob>> top = new ArrayList<>();
        int cached;
        int count;
        String finishReason;

        Sequence(GenerationRequest request, SequenceKvCache kv, SequenceSampler sampler) {
            this.request = request;
            this.kv = kv;
            this.sampler = sampler;
            this.generated = new int[request.maxTokens()];
            this.logprobs = new float[request.maxTokens()];
        }

        Step3Model.Chunk nextChunk(int maxPrefill) {
            int[] prompt = request.promptIds();
            if (cached < prompt.length) {
                int end = Math.min(prompt.length, cached + maxPrefill);
                return new Step3Model.Chunk(kv, Arrays.copyOfRange(prompt, cached, end), cached,
                        end == prompt.length);
            }
            return new Step3Model.Chunk(kv, new int[] {generated[count - 1]}, cached, true);
        }

        void advance(Step3Model.Chunk chunk, float[] logits) {
            cached += chunk.tokens().length;
            if (logits == null) {
                return;
            }
            Sample s = sampler.next(logits);
            generated[count] = s.token();
            logprobs[count] = s.logprob();
            top.add(s.top());
            count++;
            if (!request.ignoreEos() && eosIds.contains(s.token())) {
                finishReason = "stop";
            } else if (count == request.maxTokens()) {
                finishReason = "length";
            }
        }

        boolean finished() {
            return finishReason != null;
        }

        GenerationResult result() {
            return new GenerationResult(Arrays.copyOf(generated, count), Arrays.copyOf(logprobs, count),
                    List.copyOf(top), finishReason, request.promptIds().length);
        }
    }
}
