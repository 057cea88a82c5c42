#!/usr/bin/env python3
"""Checks that the float64 Step-3.5 reference is itself right, without the Java engine.

    python3 test_step3p5_reference.py        (unittest; writes only under the system temp folder, $TMPDIR)
"""

import json
import math
import os
import shutil
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import step3_checkpoint_writer as writer  # noqa: E402
import step3p5_reference as ref  # noqa: E402

# Widths all distinct so that a transposed weight cannot pass; 2 main layers (full, sliding) and 1 MTP layer.
CONFIG = {
    "model_type": "step3p5", "hidden_size": 20, "num_hidden_layers": 3, "num_attention_heads": 4,
    "num_attention_groups": 2, "head_dim": 8,
    "attention_other_setting": {"num_attention_heads": 6, "num_attention_groups": 3, "head_dim": 8},
    "layer_types": ["full_attention", "sliding_attention", "sliding_attention", "sliding_attention"],
    "sliding_window": 3, "rope_theta": [5e6, 1e4, 1e4, 1e4], "partial_rotary_factors": [0.5, 1.0, 1.0, 1.0],
    "rope_scaling": {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 16},
    "yarn_only_types": ["full_attention"],
    "intermediate_size": 14, "moe_layers_enum": "1,2", "moe_num_experts": 5, "moe_top_k": 2,
    "moe_intermediate_size": 6, "share_expert_dim": 10, "moe_router_scaling_factor": 2.5,
    "use_moe_router_bias": True, "norm_expert_weight": True,
    "swiglu_limits": [0.0, 0.8, 0.0, 0.0], "swiglu_limits_shared": [0.7, 0.0, 0.9, 0.6],
    "use_head_wise_attn_gate": True, "zero_centered": True, "num_nextn_predict_layers": 1,
    "vocab_size": 29, "rms_norm_eps": 1e-5, "max_position_embeddings": 64,
}


def random_weights(cfg, seed):
    """name -> float64 array for every tensor of a Step-3.5 checkpoint with config `cfg`."""
    rng = np.random.default_rng(seed)
    H, V, hd = cfg["hidden_size"], cfg["vocab_size"], cfg["head_dim"]
    n, mtp = cfg["num_hidden_layers"], cfg["num_nextn_predict_layers"]
    moe = {int(x) for x in cfg["moe_layers_enum"].split(",")}
    other = cfg["attention_other_setting"]
    w = {"model.embed_tokens.weight": rng.normal(0, 1, (V, H)), "model.norm.weight": rng.uniform(-.2, .2, H),
         "lm_head.weight": rng.normal(0, 3 / math.sqrt(H), (V, H))}

    def lin(o, i):
        return rng.normal(0, 1 / math.sqrt(i), (o, i))

    for i in range(n + mtp):
        p = f"model.layers.{i}"
        sliding = cfg["layer_types"][i] == "sliding_attention"
        heads = other["num_attention_heads"] if sliding else cfg["num_attention_heads"]
        groups = other["num_attention_groups"] if sliding else cfg["num_attention_groups"]
        w.update({f"{p}.input_layernorm.weight": rng.uniform(-.2, .2, H),
                  f"{p}.post_attention_layernorm.weight": rng.uniform(-.2, .2, H),
                  f"{p}.self_attn.q_proj.weight": lin(heads * hd, H), f"{p}.self_attn.k_proj.weight": lin(groups * hd, H),
                  f"{p}.self_attn.v_proj.weight": lin(groups * hd, H), f"{p}.self_attn.o_proj.weight": lin(H, heads * hd),
                  f"{p}.self_attn.g_proj.weight": lin(heads, H),
                  f"{p}.self_attn.q_norm.weight": rng.uniform(-.2, .2, hd),
                  f"{p}.self_attn.k_norm.weight": rng.uniform(-.2, .2, hd)})
        if i in moe:
            E, Ie, Is = cfg["moe_num_experts"], cfg["moe_intermediate_size"], cfg["share_expert_dim"]
            w.update({f"{p}.moe.gate.weight": rng.normal(0, 2 / math.sqrt(H), (E, H)),
                      f"{p}.moe.router_bias": rng.normal(0, .5, E),
                      f"{p}.moe.gate_proj.weight": rng.normal(0, 1 / math.sqrt(H), (E, Ie, H)),
                      f"{p}.moe.up_proj.weight": rng.normal(0, 1 / math.sqrt(H), (E, Ie, H)),
                      f"{p}.moe.down_proj.weight": rng.normal(0, 1 / math.sqrt(Ie), (E, H, Ie)),
                      f"{p}.share_expert.gate_proj.weight": lin(Is, H), f"{p}.share_expert.up_proj.weight": lin(Is, H),
                      f"{p}.share_expert.down_proj.weight": lin(H, Is)})
        else:
            I_ = cfg["intermediate_size"]
            w.update({f"{p}.mlp.gate_proj.weight": lin(I_, H), f"{p}.mlp.up_proj.weight": lin(I_, H),
                      f"{p}.mlp.down_proj.weight": lin(H, I_)})
        if i >= n:
            w.update({f"{p}.enorm.weight": rng.uniform(-.2, .2, H), f"{p}.hnorm.weight": rng.uniform(-.2, .2, H),
                      f"{p}.eh_proj.weight": lin(H, 2 * H),
                      f"{p}.transformer.shared_head.norm.weight": rng.uniform(-.2, .2, H),
                      f"{p}.transformer.shared_head.output.weight": lin(V, H)})
    # Round through f32 so the F32 file holds exactly these values.
    return {k: v.astype(np.float32).astype(np.float64) for k, v in w.items()}


# ----------------------------------------------------------------------------------------------------------
# An oracle written position by position and head by head, straight from the formulas, sharing no code with
# the reference.
# ----------------------------------------------------------------------------------------------------------

def naive_hidden(cfg, w, tokens):
    """Hidden states before the final norm at every position, and the per-layer (keys, values) of MTP use."""
    H, hd, eps = cfg["hidden_size"], cfg["head_dim"], cfg["rms_norm_eps"]
    n = cfg["num_hidden_layers"]
    hs = [w["model.embed_tokens.weight"][t].copy() for t in tokens]
    for i in range(n):
        hs = naive_block(cfg, w, i, hs)
    return hs


def rms(x, g, eps):
    ms = sum(v * v for v in x) / len(x)
    return np.array([x[j] / math.sqrt(ms + eps) * (1 + g[j]) for j in range(len(x))])


def rope(x, p, i, cfg):
    hd = len(x)
    rot = int(hd * cfg["partial_rotary_factors"][i])
    theta = cfg["rope_theta"][i]
    out = x.copy()
    for j in range(rot // 2):
        f = theta ** (-2.0 * j / rot)
        if cfg["layer_types"][i] in cfg["yarn_only_types"]:
            s = cfg["rope_scaling"]
            wl = 2 * math.pi / f
            if wl > s["original_max_position_embeddings"] / s["low_freq_factor"]:
                f = f / s["factor"]
            elif wl >= s["original_max_position_embeddings"] / s["high_freq_factor"]:
                sm = (s["original_max_position_embeddings"] / wl - s["low_freq_factor"]) / (
                    s["high_freq_factor"] - s["low_freq_factor"])
                f = (1 - sm) * f / s["factor"] + sm * f
        a, b = x[j], x[j + rot // 2]
        out[j] = a * math.cos(p * f) - b * math.sin(p * f)
        out[j + rot // 2] = b * math.cos(p * f) + a * math.sin(p * f)
    return out


def mlp(x, g, u, d, limit):
    gx, ux = g @ x, u @ x
    mid = []
    for a, b in zip(gx, ux):
        s = a / (1 + math.exp(-a))
        if limit > 0:
            s, b = min(s, limit), max(-limit, min(limit, b))
        mid.append(s * b)
    return d @ np.array(mid)


def naive_block(cfg, w, i, hs):
    eps, hd = cfg["rms_norm_eps"], cfg["head_dim"]
    p_ = f"model.layers.{i}"
    sliding = cfg["layer_types"][i] == "sliding_attention"
    other = cfg["attention_other_setting"]
    heads = other["num_attention_heads"] if sliding else cfg["num_attention_heads"]
    groups = other["num_attention_groups"] if sliding else cfg["num_attention_groups"]
    a = [rms(h, w[f"{p_}.input_layernorm.weight"], eps) for h in hs]
    keys, values = [], []
    for p in range(len(hs)):
        k = w[f"{p_}.self_attn.k_proj.weight"] @ a[p]
        v = w[f"{p_}.self_attn.v_proj.weight"] @ a[p]
        keys.append([rope(rms(k[g * hd:(g + 1) * hd], w[f"{p_}.self_attn.k_norm.weight"], eps), p, i, cfg)
                     for g in range(groups)])
        values.append([v[g * hd:(g + 1) * hd] for g in range(groups)])
    out = []
    for p in range(len(hs)):
        q = w[f"{p_}.self_attn.q_proj.weight"] @ a[p]
        gate = w[f"{p_}.self_attn.g_proj.weight"] @ a[p]
        visible = [s for s in range(p + 1) if not sliding or s > p - cfg["sliding_window"]]
        heads_out = []
        for head in range(heads):
            g = head // (heads // groups)
            qh = rope(rms(q[head * hd:(head + 1) * hd], w[f"{p_}.self_attn.q_norm.weight"], eps), p, i, cfg)
            scores = [float(qh @ keys[s][g]) / math.sqrt(hd) for s in visible]
            e = [math.exp(x - max(scores)) for x in scores]
            o = sum(e[j] / sum(e) * values[s][g] for j, s in enumerate(visible))
            heads_out.append(o / (1 + math.exp(-gate[head])))
        h = hs[p] + w[f"{p_}.self_attn.o_proj.weight"] @ np.concatenate(heads_out)
        f = rms(h, w[f"{p_}.post_attention_layernorm.weight"], eps)
        shared_limit = cfg["swiglu_limits_shared"][i]
        if str(i) in cfg["moe_layers_enum"].split(","):
            scores = [1 / (1 + math.exp(-x)) for x in w[f"{p_}.moe.gate.weight"] @ f]
            bias = w[f"{p_}.moe.router_bias"]
            chosen = sorted(range(len(scores)), key=lambda e_: (-(scores[e_] + bias[e_]), e_))[:cfg["moe_top_k"]]
            total = sum(scores[e_] for e_ in chosen) if cfg["norm_expert_weight"] else 1.0
            ffn = mlp(f, w[f"{p_}.share_expert.gate_proj.weight"], w[f"{p_}.share_expert.up_proj.weight"],
                      w[f"{p_}.share_expert.down_proj.weight"], shared_limit)
            for e_ in chosen:
                ffn = ffn + scores[e_] / total * cfg["moe_router_scaling_factor"] * mlp(
                    f, w[f"{p_}.moe.gate_proj.weight"][e_], w[f"{p_}.moe.up_proj.weight"][e_],
                    w[f"{p_}.moe.down_proj.weight"][e_], cfg["swiglu_limits"][i])
        else:
            ffn = mlp(f, w[f"{p_}.mlp.gate_proj.weight"], w[f"{p_}.mlp.up_proj.weight"],
                      w[f"{p_}.mlp.down_proj.weight"], shared_limit)
        out.append(h + ffn)
    return out


class Step3p5ReferenceTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="step3p5-ref-")
        self.addCleanup(shutil.rmtree, self.tmp)

    def checkpoint(self, cfg, seed=0):
        folder = os.path.join(self.tmp, f"model-{seed}")
        os.makedirs(folder)
        weights = random_weights(cfg, seed)
        writer.write_safetensors(os.path.join(folder, "model.safetensors"), weights, "F32")
        with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
            json.dump(cfg, f)
        return folder, weights

    def test_logits_match_the_loop_by_loop_oracle_past_the_window(self):
        folder, w = self.checkpoint(CONFIG)
        model = ref.Step3p5Model.load(folder)
        tokens = [3, 17, 5, 5, 28, 0, 9, 11]  # 8 positions, window 3
        logits = model.forward(tokens, model.new_cache())
        hs = naive_hidden(CONFIG, w, tokens)
        for p, h in enumerate(hs):
            expected = w["lm_head.weight"] @ rms(h, w["model.norm.weight"], CONFIG["rms_norm_eps"])
            np.testing.assert_allclose(logits[p], expected, rtol=1e-10, atol=1e-10)

    def test_mtp_layer_matches_the_oracle(self):
        folder, w = self.checkpoint(CONFIG, seed=1)
        model = ref.Step3p5Model.load(folder)
        tokens = [1, 4, 9, 16, 25, 7]
        hidden = model.hidden(tokens, model.new_cache())[:-1]
        cache = ref.KVCache(model.cfg.groups[3:], 8)
        _, logits = model.mtp_forward(0, hidden, tokens[1:], 0, cache)
        p_ = "model.layers.3"
        eps = CONFIG["rms_norm_eps"]
        xs = [w[f"{p_}.eh_proj.weight"] @ np.concatenate([
            rms(w["model.embed_tokens.weight"][tokens[t + 1]], w[f"{p_}.enorm.weight"], eps),
            rms(hidden[t], w[f"{p_}.hnorm.weight"], eps)]) for t in range(len(tokens) - 1)]
        xs = naive_block(CONFIG, w, 3, xs)
        for t, x in enumerate(xs):
            expected = w[f"{p_}.transformer.shared_head.output.weight"] @ rms(
                x, w[f"{p_}.transformer.shared_head.norm.weight"], eps)
            np.testing.assert_allclose(logits[t], expected, rtol=1e-10, atol=1e-10)

    def test_incremental_decoding_equals_full_recompute(self):
        folder, _ = self.checkpoint(CONFIG, seed=2)
        model = ref.Step3p5Model.load(folder)
        tokens = [2, 7, 1, 8, 2, 8, 1, 8, 2]
        full = model.forward(tokens, model.new_cache())
        cache = model.new_cache()
        rows = [model.forward(tokens[:4], cache)]
        for t in tokens[4:]:
            rows.append(model.forward([t], cache))
        np.testing.assert_allclose(np.concatenate(rows), full, rtol=1e-12, atol=1e-12)

    def test_the_window_and_the_clamps_change_the_output(self):
        tokens = [3, 1, 4, 1, 5, 9, 2, 6]
        folder, _ = self.checkpoint(CONFIG, seed=3)
        base_logits = ref.Step3p5Model.load(folder).forward(tokens, ref.Step3p5Model.load(folder).new_cache())
        for change in ({"sliding_window": 64}, {"swiglu_limits": [0] * 4, "swiglu_limits_shared": [0] * 4}):
            with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
                json.dump(dict(CONFIG, **change), f)
            model = ref.Step3p5Model.load(folder)
            changed = model.forward(tokens, model.new_cache())
            self.assertGreater(np.max(np.abs(changed - base_logits)), 1e-3, change)

    def test_llama3_scaling_keeps_short_wavelengths_and_divides_long_ones(self):
        scaling = dict(CONFIG["rope_scaling"], original_max_position_embeddings=1024)
        freq = ref.inv_freq(8, 5e6, scaling)
        plain = ref.inv_freq(8, 5e6, None)
        self.assertEqual(freq[0], plain[0])              # wavelength 2 pi < 1024 / 4
        self.assertAlmostEqual(freq[-1], plain[-1] / 4)  # the longest wavelength > 1024 / 1
        self.assertTrue(plain[1] / 4 < freq[1] < plain[1])  # wavelength 2 pi 5e6^(1/4), about 300: blended


if __name__ == "__main__":
    unittest.main()
