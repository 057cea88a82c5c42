#!/usr/bin/env python3
"""Float64 reference implementation of the Step-3 text model (greedy generation).

An independent, deliberately plain implementation of the forward pass, used as the ground truth that the
Java engine is compared against. Every weight is converted to float64 on load and every operation runs in
float64, so the only rounding left is the checkpoint's own storage dtype.

Needs python3 and numpy only.

    python3 step3_reference.py --model DIR --prompt-ids 1,2,3 --max-tokens N \
        [--eos-ids 2,3] [--ignore-eos] [--top-n 5] [--prompt-argmax] [--logits-out FILE.npy]

Writes one JSON object on stdout:

    {"token_ids": [generated ids],
     "logprobs": [log-softmax of each chosen token],
     "top_logprobs": [[[id, logprob], ...top N, best first], ...one list per step],
     "finish_reason": "length" | "stop",
     "prompt_logits_argmax": [argmax of the logits at every prompt position]   (only with --prompt-argmax)}

A generated end-of-sequence token is kept as the last entry of token_ids (with its logprob). Positions
are 0 .. len-1; the sequence (prompt plus generated tokens) must fit max_position_embedding.
"""

import argparse
import json
import os
import struct
import sys
from dataclasses import dataclass

import numpy as np

LANGUAGE_MODEL_PREFIX = "language_model."


# ----------------------------------------------------------------------------------------------------------
# Checkpoint reading: safetensors parsed by hand, memory-mapped, every tensor converted to float64.
# ----------------------------------------------------------------------------------------------------------

class CheckpointError(Exception):
    """A checkpoint folder that cannot be read or does not match its config."""


def bf16_bits_to_float64(bits):
    """bf16 is the upper half of an IEEE float32: widen the 16 bits to the top of a 32-bit word."""
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


# dtype name in the safetensors header -> (little-endian storage dtype, conversion to float64)
SAFETENSORS_DTYPES = {
    "BF16": (np.dtype("<u2"), bf16_bits_to_float64),
    "F16": (np.dtype("<f2"), lambda a: a.astype(np.float64)),
    "F32": (np.dtype("<f4"), lambda a: a.astype(np.float64)),
}


class SafetensorsFile:
    """One .safetensors file: u64 little-endian header length, JSON header, then the raw tensor bytes.

    Header entries are {"dtype", "shape", "data_offsets": [begin, end)} with offsets relative to the first
    byte after the header; the optional "__metadata__" entry is ignored.
    """

    def __init__(self, path):
        self.path = path
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            prefix = f.read(8)
            if len(prefix) != 8:
                raise CheckpointError(f"{path}: too short for a safetensors file ({size} bytes)")
            (header_len,) = struct.unpack("<Q", prefix)
            if 8 + header_len > size:
                raise CheckpointError(f"{path}: header length {header_len} runs past the end of the file")
            try:
                header = json.loads(f.read(header_len).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise CheckpointError(f"{path}: header is not valid JSON: {e}") from e
        header.pop("__metadata__", None)
        self.data_start = 8 + header_len
        self.entries = header
        for name, entry in header.items():
            begin, end = entry["data_offsets"]
            if self.data_start + end > size or begin > end:
                raise CheckpointError(f"{path}: tensor {name} data_offsets {entry['data_offsets']} "
                                      f"do not fit in the file ({size - self.data_start} data bytes)")
        self.bytes = np.memmap(path, dtype=np.uint8, mode="r")

    def names(self):
        return self.entries.keys()

    def read_float64(self, name):
        entry = self.entries[name]
        dtype_name, shape = entry["dtype"], tuple(entry["shape"])
        if dtype_name not in SAFETENSORS_DTYPES:
            raise CheckpointError(f"{self.path}: tensor {name} has dtype {dtype_name}; "
                                  f"supported: {', '.join(SAFETENSORS_DTYPES)}")
        storage, to_float64 = SAFETENSORS_DTYPES[dtype_name]
        begin, end = entry["data_offsets"]
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * storage.itemsize:
            raise CheckpointError(f"{self.path}: tensor {name} {dtype_name}{list(shape)} needs "
                                  f"{count * storage.itemsize} bytes but data_offsets span {end - begin}")
        raw = np.frombuffer(self.bytes, dtype=storage, count=count, offset=self.data_start + begin)
        return to_float64(raw).reshape(shape)


class Checkpoint:
    """Every tensor of a checkpoint folder, by name.

    Files are found as: model.safetensors.index.json (its weight_map names the shards), else
    model.safetensors, else every *.safetensors in the folder. Names may carry a "language_model." prefix
    (vision-language checkpoints); lookups accept either form.
    """

    def __init__(self, model_dir):
        index_path = os.path.join(model_dir, "model.safetensors.index.json")
        single_path = os.path.join(model_dir, "model.safetensors")
        if os.path.exists(index_path):
            with open(index_path, encoding="utf-8") as f:
                weight_map = json.load(f)["weight_map"]
            files = sorted(set(weight_map.values()))
        elif os.path.exists(single_path):
            files = ["model.safetensors"]
        else:
            files = sorted(n for n in os.listdir(model_dir) if n.endswith(".safetensors"))
        if not files:
            raise CheckpointError(f"{model_dir}: no model.safetensors.index.json, model.safetensors "
                                  f"or *.safetensors files")
        self.file_of = {}
        for file_name in files:
            path = os.path.join(model_dir, file_name)
            if not os.path.exists(path):
                raise CheckpointError(f"{index_path} names shard {file_name}, which does not exist")
            shard = SafetensorsFile(path)
            for name in shard.names():
                if name in self.file_of:
                    raise CheckpointError(f"tensor {name} is in both {self.file_of[name].path} and {path}")
                self.file_of[name] = shard

    def tensor(self, name, shape):
        """The tensor `name` (or `language_model.name`) as float64, checked to have `shape`."""
        stored = name if name in self.file_of else LANGUAGE_MODEL_PREFIX + name
        if stored not in self.file_of:
            raise CheckpointError(f"tensor {name} is missing from the checkpoint "
                                  f"(also looked for {LANGUAGE_MODEL_PREFIX}{name})")
        value = self.file_of[stored].read_float64(stored)
        if value.shape != tuple(shape):
            raise CheckpointError(f"tensor {stored} has shape {list(value.shape)}, "
                                  f"the config implies {list(shape)}")
        return value


# ----------------------------------------------------------------------------------------------------------
# Configuration (Hugging Face names; a step3_vl config nests the text model under text_config).
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step3TextConfig:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    head_dim: int
    share_q_dim: int
    intermediate_size: int
    vocab_size: int
    moe_layers: frozenset
    moe_num_experts: int
    moe_top_k: int
    moe_intermediate_size: int
    share_expert_dim: int
    norm_expert_weight: bool
    rope_theta: float
    rms_norm_eps: float
    max_positions: int  # None when the config states no limit

    def is_moe_layer(self, i):
        return i in self.moe_layers


def parse_moe_layers(value, num_layers):
    """moe_layers_enum: "4,5,6" or [4, 5, 6]; absent means every layer but 0. Indices past the last layer
    are ignored, as Hugging Face does, so a config truncated to fewer layers still loads."""
    if value is None:
        indices = range(1, num_layers)
    elif isinstance(value, str):
        indices = [int(part) for part in value.split(",") if part.strip()]
    else:
        indices = [int(part) for part in value]
    return frozenset(i for i in indices if 0 <= i < num_layers)


def parse_config(raw):
    """The text part of a parsed config.json."""
    text = raw["text_config"] if raw.get("model_type") == "step3_vl" or "text_config" in raw else raw

    def required(key):
        if key not in text:
            raise CheckpointError(f"config.json: missing {key}")
        return text[key]

    if text.get("num_attention_groups", 1) != 1:
        raise CheckpointError(f"config.json: num_attention_groups={text['num_attention_groups']}; "
                              f"Step-3 attention (MFA) has exactly one K/V head")
    if text.get("rope_scaling") is not None:
        raise CheckpointError(f"config.json: rope_scaling {text['rope_scaling']} is not supported")
    if text.get("hidden_act", "silu") != "silu":
        raise CheckpointError(f"config.json: hidden_act {text['hidden_act']} is not supported (silu only)")
    num_layers = int(required("num_hidden_layers"))
    moe_layers = parse_moe_layers(text.get("moe_layers_enum"), num_layers)
    has_moe = bool(moe_layers)
    has_dense = len(moe_layers) < num_layers
    max_positions = text.get("max_position_embedding", text.get("max_seq_len"))
    return Step3TextConfig(
        hidden_size=int(required("hidden_size")),
        num_hidden_layers=num_layers,
        num_attention_heads=int(required("num_attention_heads")),
        head_dim=int(required("head_dim")),
        share_q_dim=int(required("share_q_dim")),
        intermediate_size=int(required("intermediate_size")) if has_dense else 0,
        vocab_size=int(required("vocab_size")),
        moe_layers=moe_layers,
        moe_num_experts=int(required("moe_num_experts")) if has_moe else 0,
        moe_top_k=int(required("moe_top_k")) if has_moe else 0,
        moe_intermediate_size=int(required("moe_intermediate_size")) if has_moe else 0,
        share_expert_dim=int(required("share_expert_dim")) if has_moe else 0,
        norm_expert_weight=bool(text.get("norm_expert_weight", False)),
        rope_theta=float(text.get("rope_theta", 500000.0)),
        rms_norm_eps=float(text.get("rms_norm_eps", 1e-5)),
        max_positions=None if max_positions is None else int(max_positions),
    )


def load_config(model_dir):
    path = os.path.join(model_dir, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            return parse_config(json.load(f))
    except FileNotFoundError as e:
        raise CheckpointError(f"{path} does not exist") from e


# ----------------------------------------------------------------------------------------------------------
# Weights, bound by name and shape-checked against the config up front.
# ----------------------------------------------------------------------------------------------------------

@dataclass
class Mlp:
    gate: np.ndarray  # [I, H]
    up: np.ndarray    # [I, H]
    down: np.ndarray  # [H, I]


@dataclass
class Moe:
    router: np.ndarray  # [E, H]
    gate: np.ndarray    # [E, Ie, H]
    up: np.ndarray      # [E, Ie, H]
    down: np.ndarray    # [E, H, Ie]
    shared: Mlp


@dataclass
class Layer:
    input_norm: np.ndarray      # [H]
    q_proj: np.ndarray          # [share_q_dim, H]
    inter_norm: np.ndarray      # [share_q_dim]
    wq: np.ndarray              # [heads*head_dim, share_q_dim]
    k_proj: np.ndarray          # [head_dim, H]
    v_proj: np.ndarray          # [head_dim, H]
    o_proj: np.ndarray          # [H, heads*head_dim]
    post_attention_norm: np.ndarray  # [H]
    ffn: object                 # Mlp (dense layer) or Moe


@dataclass
class Weights:
    embed: np.ndarray    # [V, H]
    layers: list
    final_norm: np.ndarray  # [H]
    lm_head: np.ndarray  # [V, H]


def bind_weights(cfg, ckpt):
    H, hd, heads, sq = cfg.hidden_size, cfg.head_dim, cfg.num_attention_heads, cfg.share_q_dim

    def bind_mlp(prefix, width):
        return Mlp(gate=ckpt.tensor(f"{prefix}.gate_proj.weight", (width, H)),
                   up=ckpt.tensor(f"{prefix}.up_proj.weight", (width, H)),
                   down=ckpt.tensor(f"{prefix}.down_proj.weight", (H, width)))

    layers = []
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}"
        if cfg.is_moe_layer(i):
            E, Ie = cfg.moe_num_experts, cfg.moe_intermediate_size
            ffn = Moe(router=ckpt.tensor(f"{p}.moe.gate.weight", (E, H)),
                      gate=ckpt.tensor(f"{p}.moe.gate_proj.weight", (E, Ie, H)),
                      up=ckpt.tensor(f"{p}.moe.up_proj.weight", (E, Ie, H)),
                      down=ckpt.tensor(f"{p}.moe.down_proj.weight", (E, H, Ie)),
                      shared=bind_mlp(f"{p}.share_expert", cfg.share_expert_dim))
        else:
            ffn = bind_mlp(f"{p}.mlp", cfg.intermediate_size)
        layers.append(Layer(
            input_norm=ckpt.tensor(f"{p}.input_layernorm.weight", (H,)),
            q_proj=ckpt.tensor(f"{p}.self_attn.q_proj.weight", (sq, H)),
            inter_norm=ckpt.tensor(f"{p}.self_attn.inter_norm.weight", (sq,)),
            wq=ckpt.tensor(f"{p}.self_attn.wq.weight", (heads * hd, sq)),
            k_proj=ckpt.tensor(f"{p}.self_attn.k_proj.weight", (hd, H)),
            v_proj=ckpt.tensor(f"{p}.self_attn.v_proj.weight", (hd, H)),
            o_proj=ckpt.tensor(f"{p}.self_attn.o_proj.weight", (H, heads * hd)),
            post_attention_norm=ckpt.tensor(f"{p}.post_attention_layernorm.weight", (H,)),
            ffn=ffn))
    return Weights(embed=ckpt.tensor("model.embed_tokens.weight", (cfg.vocab_size, H)),
                   layers=layers,
                   final_norm=ckpt.tensor("model.norm.weight", (H,)),
                   lm_head=ckpt.tensor("lm_head.weight", (cfg.vocab_size, H)))


# ----------------------------------------------------------------------------------------------------------
# The math. Rows are token positions; weights use the PyTorch Linear layout [out, in], so W x is x @ W.T.
# ----------------------------------------------------------------------------------------------------------

def rms_norm(x, w, eps):
    """RMSNorm(x; w) = x / sqrt(mean(x^2) + eps) * w   (plain w, not 1 + w), over the last axis."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def silu(x):
    """silu(x) = x * sigmoid(x) = x / (1 + e^-x)."""
    with np.errstate(over="ignore"):  # e^-x = inf for very negative x gives the right limit, -0
        return x / (1.0 + np.exp(-x))


def mlp(x, gate, up, down):
    """MLP(x; g, u, d) = d( silu(g x) * (u x) )."""
    return (silu(x @ gate.T) * (x @ up.T)) @ down.T


def softmax(x, axis=-1):
    """softmax(x)_i = e^(x_i - max x) / sum_j e^(x_j - max x)."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x):
    """log softmax(x)_i = x_i - max x - log sum_j e^(x_j - max x)."""
    shifted = x - np.max(x)
    return shifted - np.log(np.sum(np.exp(shifted)))


def rope_inv_freq(head_dim, theta):
    """inv_freq[j] = theta^(-2j / head_dim), j = 0 .. head_dim/2 - 1."""
    j = np.arange(head_dim // 2, dtype=np.float64)
    return theta ** (-2.0 * j / head_dim)


def rope_rotate_half(x, positions, inv_freq):
    """Neox "rotate-half" RoPE over all head_dim dims, pairing d with d + head_dim/2.

    angle[p, j] = p * inv_freq[j]
    out[j]        = x[j] cos - x[j + half] sin
    out[j + half] = x[j + half] cos + x[j] sin

    x: [T, ..., head_dim] with positions [T]; the rotation is applied to every vector of row t.
    """
    half = inv_freq.shape[0]
    angle = np.asarray(positions, dtype=np.float64)[:, None] * inv_freq[None, :]  # [T, half]
    shape = (angle.shape[0],) + (1,) * (x.ndim - 2) + (half,)
    cos, sin = np.cos(angle).reshape(shape), np.sin(angle).reshape(shape)
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def mfa_causal_attention(q, k, v, query_positions):
    """Multi-query attention of every query head against the single K/V head (MFA), causal.

    scores[h, t, s] = q[t, h] . k[s] * head_dim^-0.5   for key positions s <= query position of t
    out[t, h] = sum_s softmax_s(scores[h, t, :]) v[s]

    q: [T, heads, head_dim]; k, v: [S, head_dim] holding positions 0 .. S-1.
    Returns [T, heads * head_dim] (heads concatenated in order).
    """
    T, heads, hd = q.shape
    scores = np.einsum("thd,sd->hts", q, k) * hd ** -0.5
    future = np.arange(k.shape[0])[None, :] > np.asarray(query_positions)[:, None]  # [T, S]
    scores = np.where(future[None, :, :], -np.inf, scores)
    out = np.einsum("hts,sd->thd", softmax(scores, axis=-1), v)
    return out.reshape(T, heads * hd)


def route_top_k(probs, k, norm_expert_weight):
    """The k most probable experts (ties go to the lower index) and their weights.

    weights = the chosen probabilities, divided by their sum only when norm_expert_weight is true.
    probs: [E] -> (indices [k], weights [k]), best first.
    """
    chosen = np.argsort(-probs, kind="stable")[:k]  # stable sort keeps equal probabilities in index order
    weights = probs[chosen]
    if norm_expert_weight:
        weights = weights / np.sum(weights)
    return chosen, weights


def moe_ffn(f, moe, cfg):
    """MoE block: shared expert plus the top-k routed experts weighted by their router probability.

    probs = softmax(router f) over all E experts
    out = MLP(f; shared) + sum_k weight_k * MLP(f; expert_k)
    """
    out = mlp(f, moe.shared.gate, moe.shared.up, moe.shared.down)
    probs = softmax(f @ moe.router.T, axis=-1)  # [T, E]
    for t in range(f.shape[0]):
        experts, weights = route_top_k(probs[t], cfg.moe_top_k, cfg.norm_expert_weight)
        for e, w in zip(experts, weights):
            out[t] += w * mlp(f[t], moe.gate[e], moe.up[e], moe.down[e])
    return out


class KVCache:
    """Keys (after RoPE) and values of every position seen so far, per layer: [positions, head_dim]."""

    def __init__(self, cfg):
        empty = np.zeros((0, cfg.head_dim), dtype=np.float64)
        self.keys = [empty] * cfg.num_hidden_layers
        self.values = [empty] * cfg.num_hidden_layers

    def length(self):
        return self.keys[0].shape[0]

    def append(self, layer, k, v):
        self.keys[layer] = np.concatenate([self.keys[layer], k])
        self.values[layer] = np.concatenate([self.values[layer], v])
        return self.keys[layer], self.values[layer]


class Step3Model:
    """The Step-3 text model in float64."""

    def __init__(self, cfg, weights):
        self.cfg = cfg
        self.w = weights
        self.inv_freq = rope_inv_freq(cfg.head_dim, cfg.rope_theta)

    @staticmethod
    def load(model_dir):
        cfg = load_config(model_dir)
        return Step3Model(cfg, bind_weights(cfg, Checkpoint(model_dir)))

    def attention(self, a, layer, index, positions, cache):
        """Low-rank query attention of one layer.

        ql = RMSNorm(q_proj a; inter_norm); q = wq ql -> heads x head_dim
        k = k_proj a; v = v_proj a (one head); q (every head) and k rotated by RoPE at their positions
        returns o_proj(concat heads of the causal attention)
        """
        cfg = self.cfg
        ql = rms_norm(a @ layer.q_proj.T, layer.inter_norm, cfg.rms_norm_eps)
        q = (ql @ layer.wq.T).reshape(a.shape[0], cfg.num_attention_heads, cfg.head_dim)
        q = rope_rotate_half(q, positions, self.inv_freq)
        k = rope_rotate_half(a @ layer.k_proj.T, positions, self.inv_freq)
        v = a @ layer.v_proj.T
        keys, values = cache.append(index, k, v)
        return mfa_causal_attention(q, keys, values, positions) @ layer.o_proj.T

    def forward(self, token_ids, cache):
        """Logits [T, V] of the tokens that follow the ones already in `cache`, which they are appended to.

        h = embed[token]
        per layer: h += attention(RMSNorm(h; input_layernorm))
                   f = RMSNorm(h; post_attention_layernorm); h += MoE(f) or MLP(f)
        logits = lm_head RMSNorm(h; model.norm)
        """
        cfg = self.cfg
        start = cache.length()
        positions = np.arange(start, start + len(token_ids))
        h = self.w.embed[np.asarray(token_ids)]
        for i, layer in enumerate(self.w.layers):
            a = rms_norm(h, layer.input_norm, cfg.rms_norm_eps)
            h = h + self.attention(a, layer, i, positions, cache)
            f = rms_norm(h, layer.post_attention_norm, cfg.rms_norm_eps)
            if cfg.is_moe_layer(i):
                h = h + moe_ffn(f, layer.ffn, cfg)
            else:
                h = h + mlp(f, layer.ffn.gate, layer.ffn.up, layer.ffn.down)
        return rms_norm(h, self.w.final_norm, cfg.rms_norm_eps) @ self.w.lm_head.T

    def new_cache(self):
        return KVCache(self.cfg)

    def full_logits(self, token_ids):
        """Logits at every position of `token_ids`, recomputed from scratch (no prior cache)."""
        return self.forward(token_ids, self.new_cache())


# ----------------------------------------------------------------------------------------------------------
# Greedy generation.
# ----------------------------------------------------------------------------------------------------------

def top_logprobs(logprobs, n):
    """The n best [id, logprob] pairs, best first; equal logprobs in id order."""
    order = np.argsort(-logprobs, kind="stable")[:n]
    return [[int(i), float(logprobs[i])] for i in order]


def greedy_generate(model, prompt_ids, max_new_tokens, eos_ids=(), ignore_eos=False, top_n=5,
                    prompt_argmax=False):
    """Prefill the prompt, then decode one token at a time with the KV cache, always taking the argmax
    (ties to the lower id). Returns (result dict, logits of every step as [steps, V])."""
    cfg = model.cfg
    if not prompt_ids:
        raise ValueError("the prompt must hold at least one token")
    bad = [t for t in prompt_ids if not 0 <= t < cfg.vocab_size]
    if bad:
        raise ValueError(f"prompt token ids {bad} are outside the vocabulary [0, {cfg.vocab_size})")
    if cfg.max_positions is not None and len(prompt_ids) + max_new_tokens > cfg.max_positions:
        raise ValueError(f"prompt ({len(prompt_ids)} tokens) plus max_tokens ({max_new_tokens}) exceeds "
                         f"max_position_embedding {cfg.max_positions}")
    cache = model.new_cache()
    logits = model.forward(prompt_ids, cache)
    result = {"token_ids": [], "logprobs": [], "top_logprobs": [], "finish_reason": "length"}
    if prompt_argmax:
        result["prompt_logits_argmax"] = [int(i) for i in np.argmax(logits, axis=-1)]
    step_logits = []
    last = logits[-1]
    for step in range(max_new_tokens):
        if not np.all(np.isfinite(last)):
            raise FloatingPointError(f"non-finite logits at generation step {step}")
        step_logits.append(last)
        logprobs = log_softmax(last)
        token = int(np.argmax(last))
        result["token_ids"].append(token)
        result["logprobs"].append(float(logprobs[token]))
        result["top_logprobs"].append(top_logprobs(logprobs, top_n))
        if token in eos_ids and not ignore_eos:
            result["finish_reason"] = "stop"
            break
        if step + 1 < max_new_tokens:
            last = model.forward([token], cache)[-1]
    return result, np.array(step_logits, dtype=np.float64).reshape(-1, cfg.vocab_size)


def parse_ids(text):
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Float64 Step-3 reference: greedy generation as JSON.")
    parser.add_argument("--model", required=True, help="checkpoint folder (config.json + safetensors)")
    parser.add_argument("--prompt-ids", required=True, type=parse_ids, help="comma-separated token ids")
    parser.add_argument("--max-tokens", required=True, type=int, help="tokens to generate at most")
    parser.add_argument("--eos-ids", type=parse_ids, default=[], help="comma-separated ids that end generation")
    parser.add_argument("--ignore-eos", action="store_true", help="keep generating past an eos id")
    parser.add_argument("--top-n", type=int, default=5, help="top logprobs reported per step")
    parser.add_argument("--prompt-argmax", action="store_true", help="also report the prompt logits' argmax")
    parser.add_argument("--logits-out", help="write the logits of every step to this .npy file ([steps, V])")
    args = parser.parse_args(argv)
    if args.max_tokens < 0 or args.top_n < 0:
        parser.error("--max-tokens and --top-n must not be negative")
    try:
        model = Step3Model.load(args.model)
        result, logits = greedy_generate(model, args.prompt_ids, args.max_tokens, set(args.eos_ids),
                                         args.ignore_eos, args.top_n, args.prompt_argmax)
    except (CheckpointError, ValueError, FloatingPointError) as e:
        print(f"step3_reference: {e}", file=sys.stderr)
        return 1
    if args.logits_out:
        np.save(args.logits_out, logits)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
