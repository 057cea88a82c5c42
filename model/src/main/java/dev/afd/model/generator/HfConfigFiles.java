package dev.afd.model.generator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.model.config.JsonFiles;
import dev.afd.model.config.Step3Config;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.tensor.DType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/** Writes {@code config.json} and {@code generation_config.json} the way a Hugging Face Step-3 release has them. */
final class HfConfigFiles {
    /** Sampling defaults a release ships in generation_config.json; servers use them when a request sets none. */
    static final double TEMPERATURE = 0.7;
    static final double TOP_P = 0.95;

    private HfConfigFiles() {}

    /** Writes both files; bos and eos ids are those of the generated tokenizer, whatever {@code c} says. */
    static List<Path> write(Path dir, Step3Config c, DType dtype) throws IOException {
        SpecialTokens special = SpecialTokens.forVocab(c.vocabSize());
        Path config = dir.resolve(Checkpoint.CONFIG);
        Path generation = dir.resolve(Checkpoint.GENERATION_CONFIG);
        JsonFiles.write(config, config(c, dtype, special));
        JsonFiles.write(generation, generationConfig(special));
        return List.of(config, generation);
    }

    private static ObjectNode config(Step3Config c, DType dtype, SpecialTokens special) {
        ObjectNode n = JsonFiles.object();
        n.putArray("architectures").add("Step3TextForCausalLM");
        n.put("model_type", "step3_text");
        n.put("hidden_size", c.hiddenSize());
        n.put("num_hidden_layers", c.numLayers());
        n.put("num_attention_heads", c.numHeads());
        n.put("num_attention_groups", c.numKvHeads());
        n.put("head_dim", c.headDim());
        n.put("share_q_dim", c.shareQDim());
        n.put("intermediate_size", c.intermediateSize());
        n.put("moe_layers_enum", c.moeLayers().stream().map(String::valueOf).collect(Collectors.joining(",")));
        n.put("moe_num_experts", c.numExperts());
        n.put("moe_top_k", c.topK());
        n.put("moe_intermediate_size", c.moeIntermediateSize());
        n.put("share_expert_dim", c.shareExpertDim());
        n.put("norm_expert_weight", c.normExpertWeight());
        n.put("vocab_size", c.vocabSize());
        n.put("rope_theta", c.ropeTheta());
        n.putNull("rope_scaling");
        n.put("rms_norm_eps", c.rmsNormEps());
        n.put("max_position_embedding", c.maxPositions());
        n.put("max_seq_len", c.maxPositions());
        n.put("hidden_act", "silu");
        n.put("torch_dtype", torchDtype(dtype));
        n.put("bos_token_id", special.beginOfText());
        n.put("eos_token_id", special.endOfText());
        n.put("tie_word_embeddings", false);
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
