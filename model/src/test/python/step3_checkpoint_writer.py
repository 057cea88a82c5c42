#!/usr/bin/env python3
"""Writes small random Step-3 checkpoints (config.json + safetensors) for tests. python3 + numpy only.

    python3 step3_checkpoint_writer.py OUT_DIR [--seed 0] [--dtype BF16|F16|F32] [--shards N]
        [--vl] [--set key=value ...]

Weights are rounded to values that bf16, f16 and f32 all store exactly, so one seed gives the same model
whatever the storage dtype, shard count or layout (text or vision-language).
"""

import argparse
import json
import os
import struct

import numpy as np

# A tiny Step-3: layer 0 dense, the rest MoE, every width distinct so a transposed weight cannot pass.
TINY_CONFIG = {
    "model_type": "step3_text",
    "architectures": ["Step3TextForCausalLM"],
    "hidden_size": 64,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_attention_groups": 1,
    "head_dim": 16,
    "share_q_dim": 40,
    "intermediate_size": 96,
    "moe_layers_enum": "1,2,3",
    "moe_num_experts": 6,
    "moe_top_k": 2,
    "moe_intermediate_size": 24,
    "share_expert_dim": 28,
    "norm_expert_weight": False,
    "vocab_size": 97,
    "rope_theta": 10000.0,
    "rope_scaling": None,
    "rms_norm_eps": 1e-5,
    "max_position_embedding": 256,
    "hidden_act": "silu",
    "torch_dtype": "bfloat16",
}


def float32_to_bf16_bits(x):
    """Round-to-nearest-even of float32 to its upper 16 bits."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def exactly_storable(x):
    """x rounded to bf16, with magnitudes below f16's smallest normal (2^-14) flushed to zero: the result
    is exact in bf16, f16 and f32 alike."""
    bits = float32_to_bf16_bits(x).astype(np.uint32) << 16
    rounded = bits.view(np.float32).astype(np.float64)
    return np.where(np.abs(rounded) < 2.0 ** -14, 0.0, rounded)


def encode(array, dtype):
    if dtype == "BF16":
        return float32_to_bf16_bits(array).astype("<u2").tobytes()
    if dtype == "F16":
        return np.asarray(array).astype("<f2").tobytes()
    if dtype == "F32":
        return np.asarray(array).astype("<f4").tobytes()
    raise ValueError(f"unsupported dtype {dtype}")


def write_safetensors(path, tensors, dtype):
    """tensors: name -> float array, all stored as `dtype`. Header padded with spaces to 8 bytes."""
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        blob = encode(array, dtype)
        header[name] = {"dtype": dtype, "shape": list(np.shape(array)), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def moe_layer_indices(cfg):
    value = cfg.get("moe_layers_enum")
    if value is None:
        return set(range(1, cfg["num_hidden_layers"]))
    if isinstance(value, str):
        return {int(v) for v in value.split(",") if v.strip()}
    return set(value)


def random_weights(cfg, seed):
    """name -> float64 array, shapes as in the Hugging Face Step-3 checkpoint."""
    rng = np.random.default_rng(seed)
    H, hd, heads, sq, V = (cfg["hidden_size"], cfg["head_dim"], cfg["num_attention_heads"],
                           cfg["share_q_dim"], cfg["vocab_size"])

    def linear(*shape):
        return exactly_storable(rng.standard_normal(shape) / np.sqrt(shape[-1]))

    def norm(n):
        return exactly_storable(1.0 + 0.2 * rng.standard_normal(n))

    w = {"model.embed_tokens.weight": exactly_storable(rng.standard_normal((V, H)))}
    moe = moe_layer_indices(cfg)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}"
        w[f"{p}.input_layernorm.weight"] = norm(H)
        w[f"{p}.self_attn.q_proj.weight"] = linear(sq, H)
        w[f"{p}.self_attn.k_proj.weight"] = linear(hd, H)
        w[f"{p}.self_attn.v_proj.weight"] = linear(hd, H)
        w[f"{p}.self_attn.inter_norm.weight"] = norm(sq)
        w[f"{p}.self_attn.wq.weight"] = linear(heads * hd, sq)
        w[f"{p}.self_attn.o_proj.weight"] = linear(H, heads * hd)
        w[f"{p}.post_attention_layernorm.weight"] = norm(H)
        if i in moe:
            E, Ie, Is = cfg["moe_num_experts"], cfg["moe_intermediate_size"], cfg["share_expert_dim"]
            w[f"{p}.moe.gate.weight"] = linear(E, H)
            w[f"{p}.moe.gate_proj.weight"] = linear(E, Ie, H)
            w[f"{p}.moe.up_proj.weight"] = linear(E, Ie, H)
            w[f"{p}.moe.down_proj.weight"] = linear(E, H, Ie)
            w[f"{p}.share_expert.gate_proj.weight"] = linear(Is, H)
            w[f"{p}.share_expert.up_proj.weight"] = linear(Is, H)
            w[f"{p}.share_expert.down_proj.weight"] = linear(H, Is)
        else:
            I = cfg["intermediate_size"]
            w[f"{p}.mlp.gate_proj.weight"] = linear(I, H)
            w[f"{p}.mlp.up_proj.weight"] = linear(I, H)
            w[f"{p}.mlp.down_proj.weight"] = linear(H, I)
    w["model.norm.weight"] = norm(H)
    w["lm_head.weight"] = exactly_storable(4.0 * rng.standard_normal((V, H)) / np.sqrt(H))
    return w


def write_checkpoint(out_dir, cfg, weights, dtype="BF16", shards=1, index=True, vl=False):
    """Writes config.json and the weights.

    shards == 1: model.safetensors. shards > 1: model-0000k-of-0000n.safetensors, plus
    model.safetensors.index.json when `index`. vl: a step3_vl config with the text part under text_config
    and every tensor name prefixed with "language_model.".
    """
    os.makedirs(out_dir, exist_ok=True)
    config = {"model_type": "step3_vl", "architectures": ["Step3VLForConditionalGeneration"],
              "text_config": cfg} if vl else cfg
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    named = {("language_model." if vl else "") + name: value for name, value in weights.items()}
    if shards == 1:
        write_safetensors(os.path.join(out_dir, "model.safetensors"), named, dtype)
        return
    names = list(named)
    weight_map = {}
    for k in range(shards):
        file_name = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        part = {name: named[name] for name in names[k::shards]}
        write_safetensors(os.path.join(out_dir, file_name), part, dtype)
        weight_map.update({name: file_name for name in part})
    if index:
        with open(os.path.join(out_dir, "model.safetensors.index.json"), "w", encoding="utf-8") as f:
            json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=2)


def main():
    parser = argparse.ArgumentParser(description="Write a small random Step-3 checkpoint.")
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="BF16", choices=["BF16", "F16", "F32"])
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--vl", action="store_true", help="step3_vl layout (text_config, language_model.)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="override a config key, value parsed as JSON (e.g. norm_expert_weight=true)")
    args = parser.parse_args()
    cfg = dict(TINY_CONFIG)
    for item in args.set:
        key, _, value = item.partition("=")
        cfg[key] = json.loads(value)
    write_checkpoint(args.out_dir, cfg, random_weights(cfg, args.seed), args.dtype, args.shards, vl=args.vl)


if __name__ == "__main__":
    main()
