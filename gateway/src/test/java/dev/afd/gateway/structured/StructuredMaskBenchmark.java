package dev.afd.gateway.structured;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.SequenceDecoder;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.grammar.Grammar;
import dev.afd.model.grammar.Vocabulary;
import dev.afd.model.kv.SequenceKvCache;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.sampling.SequenceSampler;
import dev.afd.model.step3.LocalFfn;
import dev.afd.model.step3.Step3Model;
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
 * JSON schema (a new request, cold caches, whenever one finishes); per step, the time sampling under the grammars
 * takes, less the time plain sampling of the same logits takes, is the mask's cost, compared with the step's
 * forward pass.
 *
 * <p>A short smoke run on the tiny model by default; for the figures, on the small model, run e.g.
 * {@code ./afd make-model --preset small --out /tmp/small-model} then {@code ./mvnw -pl gateway -am test
 * -Dtest=StructuredMaskBenchmark -Dsurefire.failIfNoSpecifiedTests=false -Dafd.mask.model=/tmp/small-model
 * -Dafd.mask.steps=64}.
 */
class StructuredMaskBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int STEPS = Integer.getInteger("afd.mask.steps", 12);
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
            Step3Model step3 = new Step3Model(checkpoint.config(), checkpoint.weights(),
                    new LocalFfn(checkpoint.weights()));
            for (int batch : new int[] {1, 16}) {
                double[] r = run(step3, vocabulary, new HashSet<>(checkpoint.eosTokenIds()), grammars, batch);
                System.out.printf("structured mask, %s, batch %d: forward %.2f ms/step, mask %.3f ms/step"
                        + " (%.1f%% of the step), plain sampling %.3f ms/step%n", model.getFileName(), batch, r[0],
                        r[1], 100 * r[1] / r[0], r[2]);
                if (given != null) {
                    assertThat(r[1] / r[0]).as("mask cost over step time at batch %d", batch).isLessThan(0.10);
                }
            }
        }
    }

    /** Milliseconds per step: forward pass, mask (constrained minus plain sampling), plain sampling. */
    private static double[] run(Step3Model model, Vocabulary vocabulary, Set<Integer> eos, List<Grammar> grammars,
            int batch) {
        var c = model.config();
        List<SequenceKvCache> caches = new ArrayList<>();
        SequenceDecoder[] decoders = new SequenceDecoder[batch];
        int[] position = new int[batch];
        int[] started = new int[1];
        SequenceSampler[] samplers = new SequenceSampler[batch];
        for (int b = 0; b < batch; b++) {
            samplers[b] = new SequenceSampler(SamplingParams.defaults().withSeed((long) b), new int[] {1},
                    c.vocabSize());
        }
        long forward = 0;
        long constrained = 0;
        long plain = 0;
        try {
            List<Step3Model.Chunk> chunks = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                SequenceKvCache kv = new SequenceKvCache(c.numLayers(), c.headDim(), DType.BF16);
                caches.add(kv);
                chunks.add(new Step3Model.Chunk(kv, new int[] {1, 2, 3, 4}, 0, true));
                position[b] = 4;
                decoders[b] = decoder(grammars, started, vocabulary, eos, c.vocabSize());
            }
            float[][] logits = model.forward(chunks, 1);
            // Two warm-up passes over the steps, then the timed one.
            for (int pass = 0; pass < 3; pass++) {
                boolean timed = pass == 2;
                for (int step = 0; step < STEPS; step++) {
                    long t0 = System.nanoTime();
                    int[] next = new int[batch];
                    for (int b = 0; b < batch; b++) {
                        next[b] = decoders[b].accept(logits[b]).token();
                    }
                    long t1 = System.nanoTime();
                    for (int b = 0; b < batch; b++) {
                        samplers[b].next(logits[b]);
                    }
                    long t2 = System.nanoTime();
                    chunks.clear();
                    for (int b = 0; b < batch; b++) {
                        if (decoders[b].finished()) {
                            decoders[b] = decoder(grammars, started, vocabulary, eos, c.vocabSize());
                        }
                        if (position[b] + 1 >= c.maxPositions()) {
                            caches.get(b).close();
                            caches.set(b, new SequenceKvCache(c.numLayers(), c.headDim(), DType.BF16));
                            position[b] = 0;
                        }
                        chunks.add(new Step3Model.Chunk(caches.get(b), new int[] {next[b]}, position[b]++, true));
                    }
                    logits = model.forward(chunks, 1);
                    long t3 = System.nanoTime();
                    if (timed) {
                        constrained += t1 - t0;
                        plain += t2 - t1;
                        forward += t3 - t2;
                    }
                }
            }
        } finally {
            caches.forEach(SequenceKvCache::close);
        }
        return new double[] {forward / 1e6 / STEPS, Math.max(0, constrained - plain) / 1e6 / STEPS,
            plain / 1e6 / STEPS};
    }

    private static SequenceDecoder decoder(List<Grammar> grammars, int[] started, Vocabulary vocabulary,
            Set<Integer> eos, int vocabSize) {
        Grammar g = grammars.get(started[0] % grammars.size());
        GenerationRequest r = new GenerationRequest(new int[] {1}, 256, SamplingParams.defaults()
                .withSeed((long) started[0]), false, Set.of(), 0, g);
        started[0]++;
        return new SequenceDecoder(r, eos, vocabSize, Integer.MAX_VALUE, vocabulary);
    }
}
