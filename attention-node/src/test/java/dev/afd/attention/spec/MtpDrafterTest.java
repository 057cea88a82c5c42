package dev.afd.attention.spec;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.model.family.Chunk;
import dev.afd.model.family.KvLayout;
import dev.afd.model.family.ModelFamilies;
import dev.afd.model.family.MultiTokenPredictor;
import dev.afd.model.family.MultiTokenPredictor.MtpOutput;
import dev.afd.model.ffn.LocalFfn;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.kv.SequenceKvCache;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A drafting session fed step by step (a prefill in two chunks, then decodes that keep 1-4 positions each, past the
 * window-bounded ring of its MTP caches several times over) proposes exactly the drafts computed from scratch at
 * every step: each MTP layer run once over the whole sequence on an unbounded cache, then the round of drafts. So the
 * pieces, the ring and the chaining between steps lose nothing. On {@code step3p5-tiny} (random weights) with its one
 * MTP layer (reused for every draft) and with two (chained, then reused).
 */
class MtpDrafterTest {
    private static final int LENGTH = 200;
    private static final int K = 4;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} MTP layer(s)")
    @ValueSource(ints = {1, 2})
    void stepByStepDraftsEqualDraftsFromScratch(int mtpLayers) throws Exception {
        Path checkpoint = dir.resolve("model");
        ModelGenerator.generate(ModelFamilies.fromJson(tinyWithMtpLayers(mtpLayers), "test"),
                ModelGenerator.Options.defaults(), checkpoint);
        try (Checkpoint c = Checkpoint.open(checkpoint)) {
            MultiTokenPredictor model = (MultiTokenPredictor) c.model(new LocalFfn(c.weights()));
            assertThat(model.mtpLayers()).isEqualTo(mtpLayers);
            int h = model.config().hiddenSize();
            int[] tokens = new SplittableRandom(9).ints(LENGTH, 0, model.config().vocabSize()).toArray();
            float[] hidden = mainHidden(model, tokens);

            Drafter.Session session = new MtpDrafter(model).open();
            SplittableRandom random = new SplittableRandom(mtpLayers);
            int prompt = 37;
            session.observe(Arrays.copyOf(tokens, prompt), 0, Arrays.copyOf(hidden, 20 * h), 20);
            int start = 20;
            int rows = prompt - start;
            Set<Integer> distinct = new HashSet<>();
            int rounds = 0;
            while (start + rows < LENGTH - K) {
                int newest = start + rows;
                int[] known = Arrays.copyOf(tokens, newest + 1);
                session.observe(known, start, Arrays.copyOfRange(hidden, start * h, newest * h), rows);
                int[] drafts = session.propose(known, K).tokens();
                assertThat(drafts).as("drafts after position %d", newest).containsExactly(fromScratch(model, known,
                        hidden));
                Arrays.stream(drafts).forEach(distinct::add);
                rounds++;
                start = newest;
                rows = random.nextInt(1, 5);
            }
            assertThat(rounds).isGreaterThan(20);
            assertThat(distinct).as("drafts that vary, so that equality means something").hasSizeGreaterThan(20);
            session.release();
            assertThat(session.propose(tokens, K).tokens()).as("nothing to draft from once released").isEmpty();
        }
    }

    /** The main model's hidden rows of the whole sequence, before the final norm. */
    private static float[] mainHidden(MultiTokenPredictor model, int[] tokens) {
        KvLayout kv = model.config().kvLayout();
        try (SequenceKvCache cache = new SequenceKvCache(kv.slots(), kv.headDim(), DType.F32)) {
            return model.forwardKeepingHidden(List.of(new Chunk(cache, tokens, 0, 0)), 1).hidden()[0];
        }
    }

    /**
     * The K drafts after {@code known} (newest at T), from scratch: layer 0 over positions 0..T-1, layer k over
     * k..T-1 on layer k-1's outputs one position back, each in one call; then draft i+1 from layer i % L at the
     * positions up to T-1+i it lacks, on the drafting layer's outputs one position back.
     */
    private static int[] fromScratch(MultiTokenPredictor model, int[] known, float[] mainHidden) {
        int t = known.length - 1;
        int h = model.config().hiddenSize();
        int layers = model.mtpLayers();
        KvLayout kv = model.mtpKvLayout();
        Map<List<Integer>, float[]> out = new HashMap<>(); // (layer, position) -> output row
        int[] drafts = new int[K];
        try (SequenceKvCache cache = new SequenceKvCache(kv.slots(), kv.headDim(), DType.F32)) {
            for (int k = 0; k < layers; k++) {
                float[] in = new float[(t - k) * h];
                for (int q = k; q < t; q++) {
                    float[] row = k == 0 ? Arrays.copyOfRange(mainHidden, q * h, (q + 1) * h)
                            : out.get(List.of(k - 1, q - 1));
                    System.arraycopy(row, 0, in, (q - k) * h, h);
                }
                MtpOutput o = model.mtp(k, cache, k, in, Arrays.copyOfRange(known, k + 1, t + 1), 1);
                keep(out, k, k, o.hidden(), h);
                if (k == 0) {
                    drafts[0] = argmax(o.logits());
                }
            }
            int[] written = new int[layers];
            Arrays.fill(written, t);
            for (int i = 1; i < K; i++) {
                int layer = i % layers;
                int below = (i - 1) % layers;
                int first = written[layer];
                int n = t + i - first;
                float[] in = new float[n * h];
                int[] next = new int[n];
                for (int q = first; q < t + i; q++) {
                    System.arraycopy(out.get(List.of(below, q - 1)), 0, in, (q - first) * h, h);
                    next[q - first] = drafts[q - t];
                }
                MtpOutput o = model.mtp(layer, cache, first, in, next, 1);
                keep(out, layer, first, o.hidden(), h);
                written[layer] = t + i;
                drafts[i] = argmax(o.logits());
            }
        }
        return drafts;
    }

    private static void keep(Map<List<Integer>, float[]> out, int layer, int first, float[] rows, int h) {
        for (int r = 0; r < rows.length / h; r++) {
            out.put(List.of(layer, first + r), Arrays.copyOfRange(rows, r * h, (r + 1) * h));
        }
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** {@code step3p5-tiny}'s config with {@code n} MTP layers (sliding, like its one). */
    private ObjectNode tinyWithMtpLayers(int n) throws Exception {
        Path base = Files.createTempDirectory(dir, "base");
        ModelGenerator.generate(ModelPreset.STEP3P5_TINY.config(false), ModelGenerator.Options.defaults(), base);
        ObjectNode c = (ObjectNode) new ObjectMapper().readTree(base.resolve("config.json").toFile());
        int have = c.get("num_nextn_predict_layers").asInt();
        c.put("num_nextn_predict_layers", n);
        for (int extra = have; extra < n; extra++) {
            ((ArrayNode) c.get("layer_types")).add("sliding_attention");
            ((ArrayNode) c.get("rope_theta")).add(10000.0);
            ((ArrayNode) c.get("partial_rotary_factors")).add(1.0);
            ((ArrayNode) c.get("swiglu_limits")).add(0.0);
            ((ArrayNode) c.get("swiglu_limits_shared")).add(0.0);
        }
        return c;
    }
}
