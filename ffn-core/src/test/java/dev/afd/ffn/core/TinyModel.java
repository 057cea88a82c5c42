package dev.afd.ffn.core;

import dev.afd.model.family.ModelConfig;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.tensor.DType;
import dev.afd.proto.ActivationFrame;
import dev.afd.proto.WireDtype;
import dev.afd.wire.RowCodec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

/**
 * The TINY preset written to a test folder and mapped: 4 layers (0 and 3 dense, 1 and 2 MoE), hidden 64, 8 experts,
 * top-2. Close it after the tests.
 */
public final class TinyModel implements AutoCloseable {
    public static final int DENSE_LAYER = 0;
    public static final int MOE_LAYER = 1;
    /** The experts whose ids {@link #frame} puts in its slots. */
    public static final ExpertRange FRAME_EXPERTS = new ExpertRange(0, 3);

    public final Checkpoint checkpoint;
    public final ModelConfig config;

    public TinyModel(Path dir) throws IOException {
        Path model = dir.resolve("tiny");
        ModelGenerator.generate(ModelPreset.TINY.config(false), new ModelGenerator.Options(3, DType.BF16, 1, false),
                model);
        checkpoint = Checkpoint.open(model);
        config = checkpoint.config();
    }

    public CpuFfnBackend backend(ExpertRange experts) {
        return new CpuFfnBackend(config, checkpoint.weights(), experts);
    }

    public int hidden() {
        return config.hiddenSize();
    }

    /** Activations of the size post-attention-normed rows have. */
    public float[] activations(Random random, int rows) {
        float[] x = new float[rows * hidden()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }

    /**
     * A valid frame of {@code rows} random rows: every other row has its shared (or dense) unit, and on a MoE layer
     * each of a row's top-k slots is a unit two times in three, with an expert of {@link #FRAME_EXPERTS}.
     */
    public ActivationFrame frame(long id, int layer, int rows, WireDtype dtype, Random random) {
        int k = config.isMoeLayer(layer) ? config.topK() : 0;
        float[] x = activations(random, rows);
        RowCodec.Encoded encoded = RowCodec.encode(dtype, x, 0, rows, hidden());
        ActivationFrame.Builder f = ActivationFrame.newBuilder()
                .setId(id).setLayer(layer).setMicroBatch((int) (id % 2)).setStep(id / 2)
                .setRows(rows).setHidden(hidden()).setDtype(dtype)
                .setData(encoded.data()).setRowScales(encoded.rowScales());
        for (int r = 0; r < rows; r++) {
            if (r % 2 == 0) {
                f.addUnitRows(r).addUnitExperts(-1).addUnitWeights(0f);
            }
            for (int j = 0; j < k; j++) {
                if (random.nextInt(3) != 0) {
                    f.addUnitRows(r).addUnitExperts(random.nextInt(FRAME_EXPERTS.size()))
                            .addUnitWeights(random.nextFloat());
                }
            }
        }
        return f.build();
    }

    @Override
    public void close() {
        checkpoint.close();
    }
}
