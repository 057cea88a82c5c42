package dev.afd.model.generator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.model.config.JsonFiles;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.tensor.DType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes {@code config.json} (in the family's own keys, {@link ModelConfig#toJson()}) and
 * {@code generation_config.json} the way a Hugging Face release has them.
 */
final class HfConfigFiles {
    /** Sampling defaults a release ships in generation_config.json; servers use them when a request sets none. */
    static final double TEMPERATURE = 0.7;
    static final double TOP_P = 0.95;

    private HfConfigFiles() {}

    /** Writes both files; bos and eos ids are those of the generated tokenizer, whatever {@code c} says. */
    static List<Path> write(Path dir, ModelConfig c, DType dtype) throws IOException {
        SpecialTokens special = SpecialTokens.forVocab(c.vocabSize());
        Path config = dir.resolve(Checkpoint.CONFIG);
        Path generation = dir.resolve(Checkpoint.GENERATION_CONFIG);
        JsonFiles.write(config, config(c, dtype, special));
        JsonFiles.write(generation, generationConfig(special));
        return List.of(config, generation);
    }

    private static ObjectNode config(ModelConfig c, DType dtype, SpecialTokens special) {
        ObjectNode n = c.toJson();
        n.put("torch_dtype", torchDtype(dtype));
        n.put("bos_token_id", special.beginOfText());
        n.put("eos_token_id", special.endOfText());
        return n;
    }

    private static ObjectNode generationConfig(SpecialTokens special) {
        ObjectNode n = JsonFiles.object();
        n.put("bos_token_id", special.beginOfText());
        var eos = n.putArray("eos_token_id");
        special.eosTokenIds().forEach(eos::add);
        n.put("do_sample", true);
        n.put("temperature", TEMPERATURE);
        n.put("top_p", TOP_P);
        return n;
    }

    private static String torchDtype(DType dtype) {
        return switch (dtype) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F32 -> "float32";
        };
    }
}
