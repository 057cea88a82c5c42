package dev.afd.model.step3p5;

import com.fasterxml.jackson.databind.JsonNode;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.ModelFamily;
import java.util.List;

/**
 * Step-3.5 (Step-3.5-Flash): grouped-query attention with per-head q/k norms, a head-wise sigmoid gate, interleaved
 * full and sliding-window layers, partial rotary, zero-centred norms, clamped SwiGLU, sigmoid routing with a
 * selection bias, and multi-token-prediction layers.
 */
public final class Step3p5Family implements ModelFamily {
    @Override
    public List<String> modelTypes() {
        return List.of("step3p5");
    }

    @Override
    public ModelConfig read(JsonNode root, String source) {
        return Step3p5Config.fromJson(root, source);
    }
}
