package dev.afd.ffn;

import dev.afd.model.config.Step3Config;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.tensor.DType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

/**
 * The TINY preset written to a test folder and mapped: 4 layers (0 and 3 dense, 1 and 2 MoE), hidden 64, 8 experts,
 * top-2. Close it after the tests.
 */
final class TinyModel implements AutoCloseable {
    static final int DENSE_LAYER = 0;
    static final int MOE_LAYER = 1;

    final Checkpoint checkpoint;
    final Step3Config config;

    TinyModel(Path dir) throws IOException {
        Path model = dir.resolve("tiny");
        ModelGenerator.generate(ModelPreset.TINY.config(false), new ModelGenerator.Options(3, DType.BF16, 1, false),
                model);
        checkpoint = Checkpoint.open(model);
        config = checkpoint.config();
    }

    CpuFfnBackend backend(ExpertRange experts) {
        return new CpuFfnBackend(config, checkpoint.weights(), experts);
    }

    int hidden() {
        return config.hiddenSize();
    }

    /** Activations of the size post-attention-normed rows have. */
    float[] activations(Random random, int rows) {
        float[] x = new float[rows * hidden()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }

    @Override
    public void close() {
        checkpoint.close();
    }
}
