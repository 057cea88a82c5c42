package dev.afd.model.step3;

import com.fasterxml.jackson.databind.JsonNode;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.ModelFamily;
import java.util.List;

/** Step-3: multi-matrix factorisation attention, softmax routing; text and vision-language checkpoints. */
public final class Step3Family implements ModelFamily {
    @Override
    public List<String> modelTypes() {
        return List.of("step3_text", "step3_vl");
    }

    @Override
    public ModelConfig read(JsonNode root, String source) {
        return Step3Config.fromJson(root, source);
    }
}
