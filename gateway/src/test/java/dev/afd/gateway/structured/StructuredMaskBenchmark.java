package dev.afd.gateway.structured;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.model.family.CausalLm;
import dev.afd.model.family.Chunk;
import dev.afd.model.ffn.LocalFfn;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.grammar.Grammar;
import dev.afd.model.grammar.GrammarConstraint;
import dev.afd.model.grammar.Vocabulary;
import dev.afd.model.kv.SequenceKvCache;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.sampling.SequenceSampler;
import dev.afd.model.tensor.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the token mask costs next to a decode step: a model decodes batches whose every sequence is constrained by a
 * JSON schema (a new grammar, cold caches, whenever one finishes); per step, the time spent finding each sequence's
 * allowed tokens and moving its grammar past the chosen one is the mask's cost, compared with the step's forward
 * pass.
 *
 * <p>A short smoke run on the tiny model by default; for the figures, on the small model, run e.g.
 * {@code ./afd make-model --preset small --out models/small} then {@code ./mvnw -pl gateway -am test
 * -Dtest=StructuredMaskBenchmark -Dsurefire.failIfNoSpecifiedTests=false -Dafd.mask.model=$PWD/models/small
 * -Dafd.mask.steps=64}.
 */
class StructuredMaskBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int STEPS = Integer.getInteger("afd.mask.steps", 12);
    private static final int MAX_TOKENS = 256;
    private static final String[] SCHEMAS = {
        """
        {"type": "object", "properties": {"name": {"type": "string", "maxLength": 24}, "age": {"type": "integer"},
         "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}, "maxItems": 5},
         "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string",
         "pattern": "[0-9]{5}"}}, "required": ["city", "zip"]}}, "required": ["name", "age", "tags", "address"]}""",
        """
        {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"},
         "score": {"type": "number"}, "ok": {"type": "boolean"}}, "required": ["id", "score", "ok"]}}""",
        """
        {"type": "object", "additionalProperties": true}"""
    };

    @TempDir
    Path dir;

    @Test
    void maskCostAgainstADecodeStep() throws Exception {
        String given = System.getProperty("afd.mask.model");
        Path model = given != null ? Path.of(given) : dir.resolve("tiny");
        if (given == null) {
            ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), model);
        }
        List<Grammar> grammars = new ArrayList<>();
        for (String s : SCHEMAS) {
            grammars.add(JsonSchemaGrammar.compile(JSON.readTree(s)));
        }
        try (Checkpoint checkpoint = Checkpoint.open(model)) {
            Vocabulary vocabulary = Vocabulary.load(model, checkpoint.config().vocabSize());
            CausalLm lm = checkpoint.model(new LocalFfn(checkpoint.weights()));
            for (int batch : new int[] {1, 16}) {
                double[] r = run(lm, vocabulary, new HashSet<>(checkpoint.eosTokenIds()), grammars, batch);
                System.out.printf("structured mask, %s, batch %d: forward %.2f ms/step, mask %.3f ms/step"
                        + " (%.1f%% of the step), masked sampling %.3f ms/step%n", model.getFileName(), batch, r[0],
                        r[1], 100 * r[1] / r[0], r[2]);
                if (given != null) {
                    assertThat(r[1] / r[0]).as("mask cost over step time at batch %d", batch).isLessThan(0.10);
                }
            }
        }
    }

    /** Milliseconds per step: forward pass, mask (finding the allowed tokens, moving the grammar on), sampling. */
    private static double[] run(CausalLm model, Vocabulary vocabulary, Set<Integer> eos, List<Grammar> grammars,
            int batch) {
        var c = model.config();
        List<SequenceKvCache> caches = new ArrayList<>();
        GrammarConstraint[] constraints = new GrammarConstraint[batch];
        int[] generated = new int[batch];
        int[] position = new int[batch];
        int started = 0;
        SequenceSampler[] samplers = new SequenceSampler[batch];
        long forward = 0;
        long mask = 0;
        long sampling = 0;
        try {
            List<Chunk> chunks = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                SequenceKvCache kv = new SequenceKvCache(c.kvLayout().slots(), c.kvLayout().headDim(), DType.BF16);
                caches.add(kv);
                chunks.add(new Chunk(kv, new int[] {1, 2, 3, 4}, 0, true));
                position[b] = 4;
                constraints[b] = new GrammarConstraint(grammars.get(started++ % grammars.size()), vocabulary, eos);
                samplers[b] = new SequenceSampler(SamplingParams.defaults().withSeed((long) b), new int[] {1},
                        c.vocabSize());
            }
            float[][] logits = model.forward(chunks, 1);
            // Two warm-up passes over the steps, then the timed one.
            for (int pass = 0; pass < 3; pass++) {
                boolean timed = pass == 2;
                for (int step = 0; step < STEPS; step++) {
                    int[] next = new int[batch];
                    long masking = 0;
                    long t0 = System.nanoTime();
                    for (int b = 0; b < batch; b++) {
                        long m0 = System.nanoTime();
                        int[] allowed = constraints[b].allowed(MAX_TOKENS - generated[b] - 2);
                        long m1 = System.nanoTime();
                        next[b] = samplers[b].next(logits[b], allowed).token();
                        long m2 = System.nanoTime();
                        constraints[b].accept(next[b]);
                        masking += (m1 - m0) + (System.nanoTime() - m2);
                        generated[b]++;
                    }
                    long t1 = System.nanoTime();
                    chunks.clear();
                    for (int b = 0; b < batch; b++) {
                        if (eos.contains(next[b]) || generated[b] == MAX_TOKENS) {
                            constraints[b] = new GrammarConstraint(grammars.get(started++ % grammars.size()),
                                    vocabulary, eos);
                            generated[b] = 0;
                        }
                        if (position[b] + 1 >= c.maxPositions()) {
                            caches.get(b).close();
                            caches.set(b, new SequenceKvCache(c.kvLayout().slots(), c.kvLayout().headDim(), DType.BF16));
                            position[b] = 0;
                        }
                        chunks.add(new Chunk(caches.get(b), new int[] {next[b]}, position[b]++, true));
                    }
                    long t2 = System.nanoTime();
                    logits = model.forward(chunks, 1);
                    long t3 = System.nanoTime();
                    if (timed) {
                        mask += masking;
                        sampling += (t1 - t0) - masking;
                        forward += t3 - t2;
                    }
                }
            }
        } finally {
            caches.forEach(SequenceKvCache::close);
        }
        return new double[] {forward / 1e6 / STEPS, mask / 1e6 / STEPS, sampling / 1e6 / STEPS};
    }
}
