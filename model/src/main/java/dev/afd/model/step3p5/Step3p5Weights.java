package dev.afd.model.step3p5;

import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.ModelWeights;
import dev.afd.model.ffn.FfnLayerWeights;
import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.kernels.MoeWeights;
import dev.afd.model.step3p5.Step3p5Config.AttentionShape;
import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import dev.afd.model.tensor.TensorSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Every weight of a Step-3.5 model, MTP layers included, bound by name from any {@link TensorSource} and checked
 * against the config. The SwiGLU limits of config.json are bound into the MLPs they clamp, so whoever computes the
 * FFN half (in process or on an ffn-node reading the same checkpoint) clamps alike.
 *
 * @param embed [V, H], shared by the MTP layers
 * @param layers the main decoder layers
 * @param finalNorm [H]
 * @param lmHead [V, H]
 * @param mtp the MTP layers, in order
 */
public record Step3p5Weights(Tensor embed, List<Step3p5Layer> layers, Tensor finalNorm, Tensor lmHead,
        List<MtpWeights> mtp) implements ModelWeights {

    public Step3p5Weights {
        layers = List.copyOf(layers);
        mtp = List.copyOf(mtp);
    }

    @Override
    public List<FfnLayerWeights> ffnLayers() {
        return layers.stream().map(Step3p5Layer::ffn).toList();
    }

    /**
     * Binds every tensor the config calls for.
     *
     * @throws IllegalArgumentException naming the first tensor that is missing or has the wrong shape
     */
    public static Step3p5Weights bind(Step3p5Config c, TensorSource source) {
        Binder b = new Binder(source);
        long h = c.hiddenSize();
        List<Step3p5Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            layers.add(layer(c, b, i));
        }
        List<MtpWeights> mtp = new ArrayList<>();
        for (int i = c.numLayers(); i < c.numLayers() + c.numMtpLayers(); i++) {
            String p = "model.layers." + i + ".";
            mtp.add(new MtpWeights(
                    b.get(p + "enorm.weight", h),
                    b.get(p + "hnorm.weight", h),
                    b.get(p + "eh_proj.weight", h, 2 * h),
                    layer(c, b, i),
                    b.get(p + "transformer.shared_head.norm.weight", h),
                    b.get(p + "transformer.shared_head.output.weight", c.vocabSize(), h)));
        }
        return new Step3p5Weights(
                b.get("model.embed_tokens.weight", c.vocabSize(), h),
                layers,
                b.get("model.norm.weight", h),
                b.get("lm_head.weight", c.vocabSize(), h),
                mtp);
    }

    private static Step3p5Layer layer(Step3p5Config c, Binder b, int i) {
        String p = "model.layers." + i + ".";
        long h = c.hiddenSize();
        AttentionShape a = c.attention(i);
        float sharedLimit = c.swigluLimitsShared().get(i).floatValue();
        FfnLayerWeights ffn;
        Tensor routerBias = null;
        if (c.isMoeLayer(i)) {
            long e = c.numExperts();
            long ie = c.moeIntermediateSize();
            if (c.routerBias()) {
                routerBias = b.get(p + "moe.router_bias", e);
            }
            ffn = new FfnLayerWeights(null, new MoeWeights(
                    b.get(p + "moe.gate.weight", e, h),
                    b.get(p + "moe.gate_proj.weight", e, ie, h),
                    b.get(p + "moe.up_proj.weight", e, ie, h),
                    b.get(p + "moe.down_proj.weight", e, h, ie),
                    b.mlp(p + "share_expert.", c.shareExpertDim(), h, sharedLimit),
                    c.swigluLimits().get(i).floatValue()));
        } else {
            ffn = new FfnLayerWeights(b.mlp(p + "mlp.", c.intermediateSize(), h, sharedLimit), null);
        }
        return new Step3p5Layer(
                b.get(p + "input_layernorm.weight", h),
                b.get(p + "self_attn.q_proj.weight", a.qDim(), h),
                b.get(p + "self_attn.k_proj.weight", a.kvDim(), h),
                b.get(p + "self_attn.v_proj.weight", a.kvDim(), h),
                b.get(p + "self_attn.o_proj.weight", h, a.qDim()),
                c.headWiseGate() ? b.get(p + "self_attn.g_proj.weight", a.heads(), h) : null,
                b.get(p + "self_attn.q_norm.weight", a.headDim()),
                b.get(p + "self_attn.k_norm.weight", a.headDim()),
                b.get(p + "post_attention_layernorm.weight", h),
                ffn,
                routerBias);
    }

    /** Looks names up and checks their shapes. */
    private record Binder(TensorSource source) {
        Tensor get(String name, long... shape) {
            Tensor t = source.find(name);
            if (t == null) {
                throw new IllegalArgumentException("tensor '" + name + "' is missing from the checkpoint (expected"
                        + " shape " + Arrays.toString(shape) + "); is this a Step-3.5 checkpoint matching its"
                        + " config.json?");
            }
            if (!Arrays.equals(t.shape(), shape)) {
                throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                        + " but config.json implies " + Arrays.toString(shape));
            }
            return t;
        }

        MlpWeights mlp(String prefix, long intermediate, long hidden, float limit) {
            return new MlpWeights(
                    get(prefix + "gate_proj.weight", intermediate, hidden),
                    get(prefix + "up_proj.weight", intermediate, hidden),
                    get(prefix + "down_proj.weight", hidden, intermediate),
                    limit);
        }
    }

    @Override
    public long bytesReadPerToken(ModelConfig c) {
        long bytes = lmHead.data().byteSize() + finalNorm.data().byteSize() + embed.data().byteSize() / embed.dim(0);
        for (Step3p5Layer l : layers) {
            for (Tensor t : new Tensor[] {l.inputNorm(), l.qProj(), l.kProj(), l.vProj(), l.oProj(), l.gProj(),
                    l.qNorm(), l.kNorm(), l.postAttentionNorm(), l.routerBias()}) {
                bytes += t == null ? 0 : t.data().byteSize();
            }
            if (l.ffn().isMoe()) {
                MoeWeights m = l.ffn().moe();
                bytes += m.router().data().byteSize() + mlpBytes(m.shared()) + (long) c.topK() * mlpBytes(m.expert(0));
            } else {
                bytes += mlpBytes(l.ffn().dense());
            }
        }
        return bytes;
    }

    private static long mlpBytes(MlpWeights m) {
        return m.gate().data().byteSize() + m.up().data().byteSize() + m.down().data().byteSize();
    }

    @Override
    public DType dtype() {
        return lmHead.dtype();
    }
}
