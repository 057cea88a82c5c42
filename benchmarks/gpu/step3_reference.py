#!/usr/bin/env python3
"""One Step-3 MoE layer with random bf16 weights and PyTorch's output for random rows, for the GPU device check
(device-check.sh); GpuDeviceBench runs the CUDA backend on the same rows and compares.

  step3_reference.py generate DIR   the full-size layer, made on the GPU in seconds (PyTorch, a GPU)
  step3_reference.py tiny DIR       a small layer made with numpy alone, for ReferenceLayerTest on any machine
  step3_reference.py measure FILE   cuBLAS's bf16 matmul at the experts' GEMM shape and the device-to-device copy
                                    bandwidth, as Java properties (PyTorch, a GPU)

DIR/layer.safetensors holds, all little-endian:
  gate, up                      BF16 [E, I, H]  routed experts
  down                          BF16 [E, H, I]
  shared.gate, shared.up        BF16 [S, H]     the shared expert
  shared.down                   BF16 [H, S]
  x                             F32  [R, H]     input rows (standard normal)
  expert_ids                    F32  [R, K]     each row's top-K experts (small integers, exact in f32)
  expert_weights                F32  [R, K]     their routing weights
  reference                     F32  [R, H]     the layer's output for every row

The layer, as Step-3 computes it: routing weights are the top-K softmax probabilities of random router logits,
not renormalised (Step-3's norm_expert_weight is false); every row goes through the shared expert and its K
experts; out = shared(x) + sum_j w_j expert_j(x), with mlp(x) = down (silu(gate x) * (up x)). Precision: the
weights are bf16, x and the intermediate are rounded to bf16 (what a bf16 model holds between its matmuls), and
every product and sum is f32 (no TF32), so the reference carries no error of its own beyond f32 rounding.
"""
import json
import math
import os
import struct
import sys
import time

import numpy as np

SEED = 20261206
FULL = dict(hidden=7168, inter=5120, shared_inter=5120, experts=48, top_k=3, rows=512)
TINY = dict(hidden=72, inter=40, shared_inter=24, experts=6, top_k=3, rows=20)


def write_safetensors(path, entries, metadata):
    """entries: (name, dtype code, shape, make) in file order; make() returns the data as a numpy array of that
    many bytes, called one entry at a time so that only one host copy of a large tensor exists at once."""
    sizes = {"BF16": 2, "F32": 4}
    header = {"__metadata__": metadata}
    offset = 0
    for name, code, shape, _ in entries:
        size = sizes[code] * math.prod(shape)
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # the data region starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, code, shape, make in entries:
            data = np.ascontiguousarray(make())
            if data.nbytes != sizes[code] * math.prod(shape):
                raise ValueError(f"{name}: {data.nbytes} bytes for {code} {shape}")
            data.tofile(f)


def routing(rng, rows, experts, top_k):
    """Top-K of softmax(random logits), highest first, and their probabilities (not renormalised)."""
    logits = rng.standard_normal((rows, experts)).astype(np.float32)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    ids = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]
    return ids, np.take_along_axis(probs, ids, axis=1).astype(np.float32)


class NumpyOps:
    """bf16 as uint16 bit patterns on the host."""
    exp = staticmethod(np.exp)

    @staticmethod
    def f32(bits):
        return (bits.astype(np.uint32) << 16).view(np.float32)

    @staticmethod
    def bf16_bits(v):
        u = v.astype(np.float32).view(np.uint32)
        return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even

    @classmethod
    def round_bf16(cls, v):
        return cls.f32(cls.bf16_bits(v))

    @staticmethod
    def indices(mask):
        return np.nonzero(mask)[0]


class TorchOps:
    """bf16 tensors on the GPU."""

    def __init__(self, torch):
        self.torch = torch
        self.exp = torch.exp

    @staticmethod
    def f32(t):
        return t.float()

    def round_bf16(self, v):
        return v.to(self.torch.bfloat16).float()

    def indices(self, mask):
        return self.torch.nonzero(mask).squeeze(1)


def mlp(ops, xb, gate, up, down):
    g = xb @ ops.f32(gate).T
    u = xb @ ops.f32(up).T
    h = ops.round_bf16(g / (1 + ops.exp(-g)) * u)
    return h @ ops.f32(down).T


def reference(ops, x, ids, weights, experts, shared):
    """Per row: the shared expert, then slot 0, 1, ... in order, as the Java backends add them."""
    xb = ops.round_bf16(x)
    out = mlp(ops, xb, *shared)
    gate, up, down = experts
    for j in range(ids.shape[1]):
        for e in range(gate.shape[0]):
            rows = ops.indices(ids[:, j] == e)
            if len(rows) > 0:
                out[rows] += weights[rows, j][:, None] * mlp(ops, xb[rows], gate[e], up[e], down[e])
    return out


def layer_entries(s, experts, shared, x, ids, weights, out, host):
    """The file's entries; host(t) turns a tensor of the ops in use into a numpy array."""
    h, i, si, e, k, r = s["hidden"], s["inter"], s["shared_inter"], s["experts"], s["top_k"], s["rows"]
    return [
        ("gate", "BF16", (e, i, h), lambda: host(experts[0])),
        ("up", "BF16", (e, i, h), lambda: host(experts[1])),
        ("down", "BF16", (e, h, i), lambda: host(experts[2])),
        ("shared.gate", "BF16", (si, h), lambda: host(shared[0])),
        ("shared.up", "BF16", (si, h), lambda: host(shared[1])),
        ("shared.down", "BF16", (h, si), lambda: host(shared[2])),
        ("x", "F32", (r, h), lambda: host(x)),
        ("expert_ids", "F32", (r, k), lambda: ids.astype(np.float32)),
        ("expert_weights", "F32", (r, k), lambda: weights),
        ("reference", "F32", (r, h), lambda: host(out)),
    ]


def metadata(s, how):
    return {"seed": str(SEED), "shape": json.dumps(s), "reference": how}


def tiny(folder):
    s = TINY
    rng = np.random.default_rng(SEED)
    ops = NumpyOps

    def weights_of(*shape):
        bound = math.sqrt(3.0 / shape[-1])
        return ops.bf16_bits(rng.uniform(-bound, bound, shape).astype(np.float32))

    h, i, si, e = s["hidden"], s["inter"], s["shared_inter"], s["experts"]
    experts = (weights_of(e, i, h), weights_of(e, i, h), weights_of(e, h, i))
    shared = (weights_of(si, h), weights_of(si, h), weights_of(h, si))
    x = rng.standard_normal((s["rows"], h)).astype(np.float32)
    ids, w = routing(rng, s["rows"], e, s["top_k"])
    out = reference(ops, x, ids, w, experts, shared).astype(np.float32)
    write_safetensors(os.path.join(folder, "layer.safetensors"),
                      layer_entries(s, experts, shared, x, ids, w, out, lambda t: t), metadata(s, "numpy"))


def generate(folder):
    import torch
    started = time.time()
    torch.backends.cuda.matmul.allow_tf32 = False
    ops = TorchOps(torch)
    s = FULL
    device = torch.device("cuda")
    gen = torch.Generator(device=device).manual_seed(SEED)

    def weights_of(*shape):
        bound = math.sqrt(3.0 / shape[-1])
        return torch.empty(shape, dtype=torch.bfloat16, device=device).uniform_(-bound, bound, generator=gen)

    h, i, si, e = s["hidden"], s["inter"], s["shared_inter"], s["experts"]
    experts = (weights_of(e, i, h), weights_of(e, i, h), weights_of(e, h, i))
    shared = (weights_of(si, h), weights_of(si, h), weights_of(h, si))
    rng = np.random.default_rng(SEED)
    x_host = rng.standard_normal((s["rows"], h)).astype(np.float32)
    ids, w = routing(rng, s["rows"], e, s["top_k"])
    torch.cuda.synchronize()
    made = time.time()
    out = reference(ops, torch.from_numpy(x_host).to(device), torch.from_numpy(ids).to(device),
                    torch.from_numpy(w).to(device), experts, shared)
    torch.cuda.synchronize()
    computed = time.time()

    def host(t):
        if isinstance(t, np.ndarray):
            return t
        return (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).cpu().numpy()

    path = os.path.join(folder, "layer.safetensors")
    write_safetensors(path, layer_entries(s, experts, shared, x_host, ids, w, out, host),
                      metadata(s, f"torch {torch.__version__} on {torch.cuda.get_device_name()}"))
    print(f"reference layer {s} on {torch.cuda.get_device_name()}: weights made in {made - started:.1f} s,"
          f" reference in {computed - made:.1f} s, {os.path.getsize(path) / 2**30:.1f} GiB written in"
          f" {time.time() - computed:.1f} s")


def measure(path):
    """What GpuDeviceBench compares with: its grouped GEMM (8 experts x 1,024 rows, gate + up + down) as cuBLAS
    runs the same 24 matmuls through PyTorch, and a 2 GiB device-to-device copy."""
    import torch
    s = FULL
    device = torch.device("cuda")
    h, i, experts, rows = s["hidden"], s["inter"], 8, 1024
    gen = torch.Generator(device=device).manual_seed(SEED)
    x = torch.randn(rows, h, device=device, generator=gen).to(torch.bfloat16)
    hid = torch.randn(rows, i, device=device, generator=gen).to(torch.bfloat16)
    w_in = torch.randn(experts, 2, i, h, device=device, generator=gen).to(torch.bfloat16)
    w_out = torch.randn(experts, h, i, device=device, generator=gen).to(torch.bfloat16)

    def grouped():
        for e in range(experts):
            torch.matmul(x, w_in[e, 0].T)
            torch.matmul(x, w_in[e, 1].T)
            torch.matmul(hid, w_out[e].T)

    src = torch.empty(2 << 30, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    seconds = {name: timed(torch, work) for name, work in (("gemm", grouped), ("copy", lambda: dst.copy_(src)))}
    tflops = 6.0 * experts * rows * h * i / seconds["gemm"] / 1e12
    copy_gbps = 2.0 * src.numel() / seconds["copy"] / 1e9
    with open(path, "w") as f:
        f.write(f"cublas_bf16_tflops={tflops:.2f}\ntorch_copy_gbps={copy_gbps:.1f}\n"
                f"torch={torch.__version__}\ndevice={torch.cuda.get_device_name()}\n")
    print(f"cuBLAS bf16 (torch.matmul), 8 experts x 1,024 rows, gate+up+down: {tflops:.1f} TFLOP/s;"
          f" device-to-device copy: {copy_gbps:.0f} GB/s (read + write)")


def timed(torch, work, repetitions=5):
    """Seconds per run, after two warm-up runs."""
    work()
    work()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repetitions):
        work()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1e3 / repetitions


if __name__ == "__main__":
    commands = {"generate": generate, "tiny": tiny, "measure": measure}
    if len(sys.argv) != 3 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    if sys.argv[1] != "measure":
        os.makedirs(sys.argv[2], exist_ok=True)
    commands[sys.argv[1]](sys.argv[2])
