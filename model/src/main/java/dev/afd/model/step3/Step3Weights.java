package dev.afd.model.step3;

import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.ModelWeights;
import dev.afd.model.ffn.FfnLayerWeights;
import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.kernels.MoeWeights;
import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import dev.afd.model.tensor.TensorSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Every weight of a Step-3 text model, bound by name from any {@link TensorSource} and checked against the config.
 * Knows nothing of files: the checkpoint reader hands itself in as the source.
 *
 * @param embed [V, H]
 * @param layers one entry per layer
 * @param finalNorm [H]
 * @param lmHead [V, H]
 */
public record Step3Weights(Tensor embed, List<LayerWeights> layers, Tensor finalNorm, Tensor lmHead)
        implements ModelWeights {

    public Step3Weights {
        layers = List.copyOf(layers);
    }

    @Override
    public List<FfnLayerWeights> ffnLayers() {
        return layers.stream().map(LayerWeights::ffn).toList();
    }

    /**
     * Binds every tensor the config calls for.
     *
     * @throws IllegalArgumentException naming the first tensor that is missing or has the wrong shape
     */
    public static Step3Weights bind(Step3Config c, TensorSource source) {
        Binder b = new Binder(source);
        long h = c.hiddenSize();
        List<LayerWeights> layers = new ArrayList<>(c.numLayers());
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            MlpWeights dense = null;
            MoeWeights moe = null;
            if (c.isMoeLayer(i)) {
                long e = c.numExperts();
                long ie = c.moeIntermediateSize();
                moe = new MoeWeights(
                        b.get(p + "moe.gate.weight", e, h),
                        b.get(p + "moe.gate_proj.weight", e, ie, h),
                        b.get(p + "moe.up_proj.weight", e, ie, h),
                        b.get(p + "moe.down_proj.weight", e, h, ie),
                        b.mlp(p + "share_expert.", c.shareExpertDim(), h));
            } else {
                dense = b.mlp(p + "mlp.", c.intermediateSize(), h);
            }
            layers.add(new LayerWeights(
                    b.get(p + "input_layernorm.weight", h),
                    b.get(p + "self_attn.q_proj.weight", c.shareQDim(), h),
                    b.get(p + "self_attn.k_proj.weight", c.headDim(), h),
                    b.get(p + "self_attn.v_proj.weight", c.headDim(), h),
                    b.get(p + "self_attn.inter_norm.weight", c.shareQDim()),
                    b.get(p + "self_attn.wq.weight", c.qDim(), c.shareQDim()),
                    b.get(p + "self_attn.o_proj.weight", h, c.qDim()),
                    b.get(p + "post_attention_layernorm.weight", h),
                    dense,
                    moe));
        }
        return new Step3Weights(
                b.get("model.embed_tokens.weight", c.vocabSize(), h),
                layers,
                b.get("model.norm.weight", h),
                b.get("lm_head.weight", c.vocabSize(), h));
    }

    /** Looks names up, also under the {@code language_model.} prefix of vision-language checkpoints. */
    private record Binder(TensorSource source) {
        Tensor get(String name, long... shape) {
            Tensor t = source.find(name);
            if (t == null) {
                t = source.find("language_model." + name);
            }
            if (t == null) {
                throw new IllegalArgumentException("tensor '" + name + "' is missing from the checkpoint (expected shape "
                        + Arrays.toString(shape) + "); is this a Step-3 checkpoint matching its config.json?");
            }
            if (!Arrays.equals(t.shape(), shape)) {
                throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                        + " but config.json implies " + Arrays.toString(shape));
            }
            return t;
        }

        MlpWeights mlp(String prefix, long intermediate, long hidden) {
            return new MlpWeights(
                    get(prefix + "gate_proj.weight", intermediate, hidden),
                    get(prefix + "up_proj.weight", intermediate, hidden),
                    get(prefix + "down_proj.weight", hidden, intermediate));
        }
    }

    @Override
    public long bytesReadPerToken(ModelConfig c) {
        long bytes = lmHead.data().byteSize() + finalNorm.data().byteSize() + rowBytes(embed);
        for (LayerWeights l : layers) {
            bytes += l.inputNorm().data().byteSize() + l.qProj().data().byteSize() + l.kProj().data().byteSize()
                    + l.vProj().data().byteSize() + l.interNorm().data().byteSize() + l.wq().data().byteSize()
                    + l.oProj().data().byteSize() + l.postAttentionNorm().data().byteSize();
            if (l.isMoe()) {
                MoeWeights m = l.moe();
                bytes += m.router().data().byteSize() + mlpBytes(m.shared())
                        + (long) c.topK() * mlpBytes(m.expert(0));
            } else {
                bytes += mlpBytes(l.dense());
            }
        }
        return bytes;
    }

    private static long mlpBytes(MlpWeights m) {
        return m.gate().data().byteSize() + m.up().data().byteSize() + m.down().data().byteSize();
    }

    private static long rowBytes(Tensor t) {
        return t.data().byteSize() / t.dim(0);
    }

    @Override
    public DType dtype() {
        return lmHead.dtype();
    }
}
