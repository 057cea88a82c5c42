#!/usr/bin/env python3
"""Float64 reference implementation of the Step-3.5 text model (greedy generation, and one MTP layer).

Like step3_reference.py (whose checkpoint reader and greedy loop it reuses), an independent, deliberately plain
implementation of the forward pass in float64: the ground truth the Java engine is compared against. Written from
the architecture as vLLM's step3p5.py computes it: grouped-query attention with per-head q/k norms, partial neox
RoPE with per-layer theta (llama3 scaling on the layer types listed in yarn_only_types), a head-wise sigmoid
gate, sliding-window layers that see the last `sliding_window` positions, zero-centred RMSNorms, SwiGLU clamps,
and sigmoid routing with a selection bias and a scaling factor.

    python3 step3p5_reference.py --model DIR --prompt-ids 1,2,3 --max-tokens N [options as step3_reference.py]
    python3 step3p5_reference.py --model DIR --prompt-ids 1,2,3 --mtp-layer K

With --mtp-layer, prints {"hidden": [[H floats] per position t < T-1], "next_tokens": prompt[1:],
"logits": [[V floats] per position]}: the main model's hidden state before the final norm at t, and MTP layer
K's logits there given the token at t+1.
"""

import argparse
import json
import os
import sys
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import step3_reference as base  # noqa: E402

FULL, SLIDING = "full_attention", "sliding_attention"


@dataclass(frozen=True)
class Step3p5Config:
    hidden_size: int
    num_hidden_layers: int
    num_mtp_layers: int
    heads: tuple           # per layer (MTP layers after the main ones): query heads
    groups: tuple          # per layer: KV groups
    head_dim: int
    sliding: tuple         # per layer: True for a sliding-window layer
    sliding_window: int
    rope_theta: tuple      # per layer
    rotary_dim: tuple      # per layer: int(head_dim * partial_rotary_factor)
    rope_scaling: dict     # llama3 parameters, or None
    scaled_types: frozenset
    intermediate_size: int
    moe_layers: frozenset
    moe_num_experts: int
    moe_top_k: int
    moe_intermediate_size: int
    share_expert_dim: int
    norm_expert_weight: bool
    router_scaling_factor: float
    router_bias: bool
    swiglu_limits: tuple         # per layer, routed experts; 0 = none
    swiglu_limits_shared: tuple  # per layer, shared expert and dense MLP; 0 = none
    head_wise_gate: bool
    zero_centred: bool
    vocab_size: int
    rms_norm_eps: float
    max_positions: int

    def is_moe_layer(self, i):
        return i in self.moe_layers


def per_layer(value, n, default):
    if value is None:
        return tuple([float(default)] * n)
    if isinstance(value, list):
        return tuple(float(value[i % len(value)]) for i in range(n))
    return tuple([float(value)] * n)


def parse_config(raw):
    if raw.get("model_type") != "step3p5":
        raise base.CheckpointError(f"config.json: model_type {raw.get('model_type')!r}, expected 'step3p5'")
    n = int(raw["num_hidden_layers"])
    mtp = int(raw.get("num_nextn_predict_layers", 0))
    total = n + mtp
    types = raw.get("layer_types") or []
    sliding = tuple((types[i] if i < len(types) else SLIDING) == SLIDING for i in range(total))
    other = raw.get("attention_other_setting") or {}
    heads = tuple(int(other["num_attention_heads"]) if s else int(raw["num_attention_heads"]) for s in sliding)
    groups = tuple(int(other["num_attention_groups"]) if s else int(raw["num_attention_groups"]) for s in sliding)
    head_dim = int(raw["head_dim"])
    if int(other.get("head_dim", head_dim)) != head_dim:
        raise base.CheckpointError("config.json: sliding layers with another head_dim are not supported")
    factors = per_layer(raw.get("partial_rotary_factors"), total, 1.0)
    scaling = raw.get("rope_scaling")
    if scaling is not None and scaling.get("rope_type", scaling.get("type")) != "llama3":
        raise base.CheckpointError(f"config.json: rope_scaling {scaling} is not supported (llama3 only)")
    limits = raw.get("swiglu_limits") or []
    shared = raw.get("swiglu_limits_shared") or []
    moe = raw.get("moe_layers_enum") or ""
    moe_layers = frozenset(int(x) for x in moe.split(",") if x.strip()) if isinstance(moe, str) \
        else frozenset(int(x) for x in moe)
    return Step3p5Config(
        hidden_size=int(raw["hidden_size"]),
        num_hidden_layers=n,
        num_mtp_layers=mtp,
        heads=heads,
        groups=groups,
        head_dim=head_dim,
        sliding=sliding,
        sliding_window=int(raw.get("sliding_window", 0)),
        rope_theta=per_layer(raw.get("rope_theta"), total, 10000.0),
        rotary_dim=tuple(int(head_dim * f) for f in factors),
        rope_scaling=scaling,
        scaled_types=frozenset(raw.get("yarn_only_types") or [FULL]),
        intermediate_size=int(raw["intermediate_size"]),
        moe_layers=moe_layers,
        moe_num_experts=int(raw.get("moe_num_experts", 0)),
        moe_top_k=int(raw.get("moe_top_k", 1)),
        moe_intermediate_size=int(raw.get("moe_intermediate_size", 0)),
        share_expert_dim=int(raw.get("share_expert_dim", 0)),
        norm_expert_weight=bool(raw.get("norm_expert_weight", True)),
        router_scaling_factor=float(raw.get("moe_router_scaling_factor", 1.0)),
        router_bias=bool(raw.get("use_moe_router_bias", True)),
        swiglu_limits=tuple(float(limits[i]) if i < len(limits) else 0.0 for i in range(total)),
        swiglu_limits_shared=tuple(float(shared[i]) if i < len(shared) else 0.0 for i in range(total)),
        head_wise_gate=bool(raw.get("use_head_wise_attn_gate", False)),
        zero_centred=bool(raw.get("zero_centered", True)),
        vocab_size=int(raw["vocab_size"]),
        rms_norm_eps=float(raw.get("rms_norm_eps", 1e-5)),
        max_positions=int(raw.get("max_position_embeddings", raw.get("max_seq_len", 262144))),
    )


# ----------------------------------------------------------------------------------------------------------
# The math. Rows are token positions; weights use the PyTorch Linear layout [out, in], so W x is x @ W.T.
# ----------------------------------------------------------------------------------------------------------

def rms_norm(x, w, eps, zero_centred):
    """x / sqrt(mean(x^2) + eps) * (1 + w) when zero-centred (Step-3.5's norms), else * w; over the last axis."""
    scale = 1.0 + w if zero_centred else w
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * scale


def sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def clamped_mlp(x, gate, up, down, limit):
    """down( min(silu(gate x), L) * clamp(up x, -L, L) ) for L > 0; the plain SwiGLU MLP for L = 0."""
    g = base.silu(x @ gate.T)
    u = x @ up.T
    if limit > 0:
        g = np.minimum(g, limit)
        u = np.clip(u, -limit, limit)
    return (g * u) @ down.T


def inv_freq(rotary_dim, theta, scaling):
    """theta^(-2j / rotary_dim) for j < rotary_dim/2, rescaled the llama3 way when `scaling` is given."""
    freq = theta ** (-2.0 * np.arange(rotary_dim // 2, dtype=np.float64) / rotary_dim)
    if scaling is None:
        return freq
    factor = float(scaling["factor"])
    low, high = float(scaling["low_freq_factor"]), float(scaling["high_freq_factor"])
    old = float(scaling["original_max_position_embeddings"])
    wavelength = 2 * np.pi / freq
    smooth = (old / wavelength - low) / (high - low)
    blended = (1 - smooth) * freq / factor + smooth * freq
    return np.where(wavelength < old / high, freq, np.where(wavelength > old / low, freq / factor, blended))


def rope_partial(x, positions, freq):
    """Neox rotate-half over the leading 2*len(freq) dims of each head; the rest pass through. x: [T, n, hd]."""
    half = freq.shape[0]
    angle = np.asarray(positions, dtype=np.float64)[:, None] * freq[None, :]
    cos, sin = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]
    x1, x2, rest = x[..., :half], x[..., half:2 * half], x[..., 2 * half:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin, rest], axis=-1)


def gqa_attention(q, keys, values, positions, window):
    """Grouped-query causal attention; query head h reads KV group h // (heads / groups).

    scores[h, t, s] = q[t, h] . k[s, g(h)] / sqrt(head_dim) for positions p(t) - window < s <= p(t)
    (window 0: every s <= p(t)). q: [T, heads, hd]; keys, values: [S, groups, hd]. Returns [T, heads * hd].
    """
    T, heads, hd = q.shape
    groups = keys.shape[1]
    per_group = heads // groups
    k = np.repeat(keys, per_group, axis=1)    # [S, heads, hd]
    v = np.repeat(values, per_group, axis=1)
    scores = np.einsum("thd,shd->hts", q, k) * hd ** -0.5
    s = np.arange(keys.shape[0])[None, :]
    p = np.asarray(positions)[:, None]
    hidden = s > p
    if window > 0:
        hidden = hidden | (s <= p - window)
    scores = np.where(hidden[None, :, :], -np.inf, scores)
    out = np.einsum("hts,shd->thd", base.softmax(scores, axis=-1), v)
    return out.reshape(T, heads * hd)


def sigmoid_route(f, router, bias, k, normalize, scale):
    """Experts chosen by top-k of sigmoid(router f) + bias (ties to the lower index), weighted by the unbiased
    scores, renormalised when `normalize`, times `scale`. f: [H] -> (indices [k], weights [k])."""
    scores = sigmoid(router @ f)
    chosen = np.argsort(-(scores + bias), kind="stable")[:k]
    weights = scores[chosen]
    if normalize:
        weights = weights / np.sum(weights)
    return chosen, weights * scale


class KVCache(base.KVCache):
    """Rotated keys and values of every position seen so far, per layer: [positions, groups, head_dim]."""

    def __init__(self, groups, head_dim):
        self.keys = [np.zeros((0, g, head_dim)) for g in groups]
        self.values = [np.zeros((0, g, head_dim)) for g in groups]


class Step3p5Model:
    """The Step-3.5 text model in float64, weights read by name from a checkpoint."""

    def __init__(self, cfg, ckpt):
        self.cfg = cfg
        self.t = lambda name, *shape: ckpt.tensor(name, shape)
        H, V = cfg.hidden_size, cfg.vocab_size
        self.embed = self.t("model.embed_tokens.weight", V, H)
        self.final_norm = self.t("model.norm.weight", H)
        self.lm_head = self.t("lm_head.weight", V, H)
        self.layers = [self.bind_layer(i) for i in range(cfg.num_hidden_layers + cfg.num_mtp_layers)]
        self.mtp = []
        for k in range(cfg.num_mtp_layers):
            p = f"model.layers.{cfg.num_hidden_layers + k}"
            self.mtp.append(dict(enorm=self.t(f"{p}.enorm.weight", H), hnorm=self.t(f"{p}.hnorm.weight", H),
                                 eh_proj=self.t(f"{p}.eh_proj.weight", H, 2 * H),
                                 head_norm=self.t(f"{p}.transformer.shared_head.norm.weight", H),
                                 head=self.t(f"{p}.transformer.shared_head.output.weight", V, H)))
        self.freqs = []
        for i in range(len(self.layers)):
            layer_type = SLIDING if cfg.sliding[i] else FULL
            scaling = cfg.rope_scaling if layer_type in cfg.scaled_types else None
            self.freqs.append(inv_freq(cfg.rotary_dim[i], cfg.rope_theta[i], scaling))

    @staticmethod
    def load(model_dir):
        path = os.path.join(model_dir, "config.json")
        with open(path, encoding="utf-8") as f:
            cfg = parse_config(json.load(f))
        return Step3p5Model(cfg, base.Checkpoint(model_dir))

    def bind_layer(self, i):
        cfg, t = self.cfg, self.t
        H, hd, heads, groups = cfg.hidden_size, cfg.head_dim, cfg.heads[i], cfg.groups[i]
        p = f"model.layers.{i}"
        w = dict(input_norm=t(f"{p}.input_layernorm.weight", H),
                 q=t(f"{p}.self_attn.q_proj.weight", heads * hd, H),
                 k=t(f"{p}.self_attn.k_proj.weight", groups * hd, H),
                 v=t(f"{p}.self_attn.v_proj.weight", groups * hd, H),
                 o=t(f"{p}.self_attn.o_proj.weight", H, heads * hd),
                 q_norm=t(f"{p}.self_attn.q_norm.weight", hd),
                 k_norm=t(f"{p}.self_attn.k_norm.weight", hd),
                 post_norm=t(f"{p}.post_attention_layernorm.weight", H))
        if cfg.head_wise_gate:
            w["g"] = t(f"{p}.self_attn.g_proj.weight", heads, H)
        if cfg.is_moe_layer(i):
            E, Ie, Is = cfg.moe_num_experts, cfg.moe_intermediate_size, cfg.share_expert_dim
            w.update(router=t(f"{p}.moe.gate.weight", E, H),
                     bias=t(f"{p}.moe.router_bias", E) if cfg.router_bias else np.zeros(E),
                     gate=t(f"{p}.moe.gate_proj.weight", E, Ie, H), up=t(f"{p}.moe.up_proj.weight", E, Ie, H),
                     down=t(f"{p}.moe.down_proj.weight", E, H, Ie),
                     shared=[t(f"{p}.share_expert.{n}_proj.weight", *s)
                             for n, s in (("gate", (Is, H)), ("up", (Is, H)), ("down", (H, Is)))])
        else:
            I_ = cfg.intermediate_size
            w["mlp"] = [t(f"{p}.mlp.{n}_proj.weight", *s) for n, s in (("gate", (I_, H)), ("up", (I_, H)),
                                                                       ("down", (H, I_)))]
        return w

    def norm(self, x, w):
        return rms_norm(x, w, self.cfg.rms_norm_eps, self.cfg.zero_centred)

    def attention(self, i, a, positions, cache, slot):
        """o_proj(gate * GQA(rope(q_norm(q)), rope(k_norm(k)), v)) of layer i; keys go to `cache` layer `slot`."""
        cfg, w = self.cfg, self.layers[i]
        T, hd, heads, groups = a.shape[0], cfg.head_dim, cfg.heads[i], cfg.groups[i]
        q = self.norm((a @ w["q"].T).reshape(T, heads, hd), w["q_norm"])
        k = self.norm((a @ w["k"].T).reshape(T, groups, hd), w["k_norm"])
        v = (a @ w["v"].T).reshape(T, groups, hd)
        q = rope_partial(q, positions, self.freqs[i])
        k = rope_partial(k, positions, self.freqs[i])
        keys, values = cache.append(slot, k, v)
        out = gqa_attention(q, keys, values, positions, cfg.sliding_window if cfg.sliding[i] else 0)
        if cfg.head_wise_gate:
            out = (out.reshape(T, heads, hd) * sigmoid(a @ w["g"].T)[:, :, None]).reshape(T, heads * hd)
        return out @ w["o"].T

    def ffn(self, i, f):
        cfg, w = self.cfg, self.layers[i]
        shared_limit = cfg.swiglu_limits_shared[i]
        if not cfg.is_moe_layer(i):
            return clamped_mlp(f, *w["mlp"], shared_limit)
        out = clamped_mlp(f, *w["shared"], shared_limit)
        for t in range(f.shape[0]):
            experts, weights = sigmoid_route(f[t], w["router"], w["bias"], cfg.moe_top_k, cfg.norm_expert_weight,
                                             cfg.router_scaling_factor)
            for e, g in zip(experts, weights):
                out[t] += g * clamped_mlp(f[t], w["gate"][e], w["up"][e], w["down"][e], cfg.swiglu_limits[i])
        return out

    def block(self, i, h, positions, cache, slot):
        h = h + self.attention(i, self.norm(h, self.layers[i]["input_norm"]), positions, cache, slot)
        return h + self.ffn(i, self.norm(h, self.layers[i]["post_norm"]))

    def new_cache(self):
        return KVCache(self.cfg.groups[:self.cfg.num_hidden_layers], self.cfg.head_dim)

    def hidden(self, token_ids, cache):
        """Hidden states [T, H] before the final norm of the tokens after those in `cache` (appended to it)."""
        start = cache.length()
        positions = np.arange(start, start + len(token_ids))
        h = self.embed[np.asarray(token_ids)]
        for i in range(self.cfg.num_hidden_layers):
            h = self.block(i, h, positions, cache, i)
        return h

    def forward(self, token_ids, cache):
        """Logits [T, V]: lm_head(norm(hidden))."""
        return self.norm(self.hidden(token_ids, cache), self.final_norm) @ self.lm_head.T

    def mtp_forward(self, k, hidden, next_tokens, start, cache):
        """MTP layer k at positions start..: x = eh_proj(concat(enorm(embed(next)), hnorm(hidden))), one decoder
        block (layer N + k, its KV in `cache` layer k), logits = head(norm(x)). Returns (x, logits)."""
        m = self.mtp[k]
        e = self.norm(self.embed[np.asarray(next_tokens)], m["enorm"])
        x = np.concatenate([e, self.norm(hidden, m["hnorm"])], axis=-1) @ m["eh_proj"].T
        positions = np.arange(start, start + len(next_tokens))
        x = self.block(self.cfg.num_hidden_layers + k, x, positions, cache, k)
        return x, self.norm(x, m["head_norm"]) @ m["head"].T


def main(argv=None):
    parser = argparse.ArgumentParser(description="Float64 Step-3.5 reference: greedy generation as JSON.")
    parser.add_argument("--model", required=True)
    parser.add_argument("--prompt-ids", required=True, type=base.parse_ids)
    parser.add_argument("--max-tokens", type=int, default=0)
    parser.add_argument("--eos-ids", type=base.parse_ids, default=[])
    parser.add_argument("--ignore-eos", action="store_true")
    parser.add_argument("--top-n", type=int, default=5)
    parser.add_argument("--prompt-argmax", action="store_true")
    parser.add_argument("--mtp-layer", type=int, help="print MTP layer K's logits over the prompt instead")
    args = parser.parse_args(argv)
    try:
        model = Step3p5Model.load(args.model)
        if args.mtp_layer is not None:
            cfg = model.cfg
            if not 0 <= args.mtp_layer < cfg.num_mtp_layers or len(args.prompt_ids) < 2:
                raise ValueError(f"--mtp-layer must be in [0, {cfg.num_mtp_layers}) with a prompt of 2+ tokens")
            hidden = model.hidden(args.prompt_ids, model.new_cache())[:-1]
            mtp_cache = KVCache(cfg.groups[cfg.num_hidden_layers:], cfg.head_dim)
            _, logits = model.mtp_forward(args.mtp_layer, hidden, args.prompt_ids[1:], 0, mtp_cache)
            result = {"hidden": hidden.tolist(), "next_tokens": args.prompt_ids[1:], "logits": logits.tolist()}
        else:
            result, _ = base.greedy_generate(model, args.prompt_ids, args.max_tokens, set(args.eos_ids),
                                             args.ignore_eos, args.top_n, args.prompt_argmax)
    except (base.CheckpointError, ValueError, FloatingPointError) as e:
        print(f"step3p5_reference: {e}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
