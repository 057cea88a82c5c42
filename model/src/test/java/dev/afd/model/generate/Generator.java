package dev.afd.model.generate;

import dev.afd.model.family.CausalLm;
import dev.afd.model.family.Chunk;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.kv.SequenceKvCache;
import dev.afd.model.tensor.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Offline generation for tests: runs a set of requests together to completion, one engine step at a time, with no
 * scheduler, paging or wire; the plain reference the engine's tokens are compared with. A step carries the
 * next prefill chunk of every sequence still reading its prompt and one decode token of every other, so sequences at
 * different positions share each weight pass.
 *
 * <p>Not thread-safe: one caller at a time.
 */
public final class Generator {
    private final CausalLm model;
    private final Set<Integer> eosIds;
    private final DType kvDtype;
    private final int prefillChunk;

    /**
     * @param eosIds end-of-sequence ids (from config.json and generation_config.json)
     * @param kvDtype KV cache element type, F32 or BF16
     * @param prefillChunk most prompt tokens of one sequence per step
     */
    public Generator(CausalLm model, Set<Integer> eosIds, DType kvDtype, int prefillChunk) {
        this.model = model;
        this.eosIds = Set.copyOf(eosIds);
        this.kvDtype = kvDtype;
        this.prefillChunk = prefillChunk;
    }

    public GenerationResult generate(GenerationRequest request) {
        return generate(List.of(request)).getFirst();
    }

    public List<GenerationResult> generate(List<GenerationRequest> requests) {
        requests.forEach(r -> r.requireFits(model.config()));
        ModelConfig c = model.config();
        List<Sequence> sequences = new ArrayList<>();
        try {
            for (GenerationRequest r : requests) {
                sequences.add(new Sequence(new SequenceKvCache(c.kvLayout().slots(), c.kvLayout().headDim(), kvDtype),
                        new SequenceDecoder(r, eosIds, c.vocabSize(), c.maxPositions())));
            }
            List<Sequence> running = new ArrayList<>(sequences);
            while (!running.isEmpty()) {
                List<Chunk> chunks = new ArrayList<>(running.size());
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

    /** One request's progress: prompt tokens consumed, and its decoder. */
    private final class Sequence {
        final SequenceKvCache kv;
        final SequenceDecoder decoder;
        int cached;

        Sequence(SequenceKvCache kv, SequenceDecoder decoder) {
            this.kv = kv;
            this.decoder = decoder;
        }

        Chunk nextChunk(int maxPrefill) {
            int[] prompt = decoder.request().promptIds();
            if (cached < prompt.length) {
                int end = Math.min(prompt.length, cached + maxPrefill);
                return new Chunk(kv, Arrays.copyOfRange(prompt, cached, end), cached,
                        end == prompt.length);
            }
            return new Chunk(kv, new int[] {decoder.lastToken()}, cached, true);
        }

        void advance(Chunk chunk, float[] logits) {
            cached += chunk.tokens().length;
            if (logits != null) {
                decoder.accept(logits);
            }
        }

        boolean finished() {
            return decoder.finished();
        }

        GenerationResult result() {
            return decoder.result();
        }
    }
}
