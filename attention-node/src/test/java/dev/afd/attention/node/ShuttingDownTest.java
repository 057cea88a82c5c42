package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.client.AttentionClient;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A node whose engine is shutting down tells callers to go elsewhere: UNAVAILABLE, not a precondition failure. */
class ShuttingDownTest {
    @TempDir
    Path dir;

    @Test
    void requestsToAClosedEngineAreUnavailable() throws Exception {
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), dir);
        try (Checkpoint c = Checkpoint.open(dir);
                AttentionNode node = AttentionNode.inProcess(c, 1, AttentionNode.Wire.exact(),
                        EngineOptions.defaults())) {
            node.serve("127.0.0.1", 0);
            node.engine().close();
            try (AttentionClient client = new AttentionClient("127.0.0.1:" + node.server().port())) {
                assertThatThrownBy(() -> client.generate("late", new GenerationRequest(new int[] {1, 2}, 2,
                        SamplingParams.greedy(), false)))
                        .hasMessageContaining("UNAVAILABLE").hasMessageContaining("shutting down");
            }
        }
    }
}
