#!/usr/bin/env python3
"""Checks that the float64 Step-3 reference is itself right, without the Java engine.

    python3 test_step3_reference.py        (unittest; writes only under the system temp folder, $TMPDIR)
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import step3_checkpoint_writer as writer  # noqa: E402
import step3_reference as ref  # noqa: E402

# Small enough for the loop-by-loop oracle below; widths all distinct so a transposed weight cannot pass.
SMALL = dict(writer.TINY_CONFIG, hidden_size=24, num_hidden_layers=2, num_attention_heads=3, head_dim=8,
             share_q_dim=12, intermediate_size=20, moe_layers_enum="1", moe_num_experts=5, moe_top_k=2,
             moe_intermediate_size=6, share_expert_dim=10, vocab_size=31)


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="step3-ref-")
        self.addCleanup(shutil.rmtree, self.tmp)

    def checkpoint(self, cfg, seed=0, name="model", **layout):
        """Writes a random checkpoint and returns (folder, its float64 weights by name)."""
        folder = os.path.join(self.tmp, name)
        weights = writer.random_weights(cfg, seed)
        writer.write_checkpoint(folder, cfg, weights, **layout)
        return folder, weights


# ----------------------------------------------------------------------------------------------------------
# An oracle written loop by loop, straight from the formulas, sharing no code with the reference.
# ----------------------------------------------------------------------------------------------------------

def naive_logits(cfg, w, tokens):
    """Logits at every position, one position, head and rotation pair at a time."""
    H, hd, heads, eps = cfg["hidden_size"], cfg["head_dim"], cfg["num_attention_heads"], cfg["rms_norm_eps"]
    theta, half = cfg["rope_theta"], cfg["head_dim"] // 2
    moe_layers = writer.moe_layer_indices(cfg)

    def rms(x, g):
        mean_square = sum(v * v for v in x) / len(x)
        return np.array([x[i] / math.sqrt(mean_square + eps) * g[i] for i in range(len(x))])

    def rope(x, p):
        out = np.empty(len(x))
        for j in range(half):
            angle = p * theta ** (-2.0 * j / hd)
            out[j] = x[j] * math.cos(angle) - x[j + half] * math.sin(angle)
            out[j + half] = x[j + half] * math.cos(angle) + x[j] * math.sin(angle)
        return out

    def mlp(x, prefix, e=None):
        pick = (lambda n: w[n]) if e is None else (lambda n: w[n][e])
        g, u = pick(f"{prefix}.gate_proj.weight") @ x, pick(f"{prefix}.up_proj.weight") @ x
        return pick(f"{prefix}.down_proj.weight") @ np.array([gi / (1 + math.exp(-gi)) * ui for gi, ui in zip(g, u)])

    hs = [w["model.embed_tokens.weight"][t].copy() for t in tokens]
    for i in range(cfg["num_hidden_layers"]):
        p_ = f"model.layers.{i}"
        a = [rms(h, w[f"{p_}.input_layernorm.weight"]) for h in hs]
        keys = [rope(w[f"{p_}.self_attn.k_proj.weight"] @ a[p], p) for p in range(len(hs))]
        values = [w[f"{p_}.self_attn.v_proj.weight"] @ a[p] for p in range(len(hs))]
        for p in range(len(hs)):
            ql = rms(w[f"{p_}.self_attn.q_proj.weight"] @ a[p], w[f"{p_}.self_attn.inter_norm.weight"])
            q = w[f"{p_}.self_attn.wq.weight"] @ ql
            heads_out = []
            for head in range(heads):
                qh = rope(q[head * hd:(head + 1) * hd], p)
                scores = [float(qh @ keys[s]) / math.sqrt(hd) for s in range(p + 1)]
                top = max(scores)
                e = [math.exp(s - top) for s in scores]
                heads_out.append(sum(e[s] / sum(e) * values[s] for s in range(p + 1)))
            hs[p] = hs[p] + w[f"{p_}.self_attn.o_proj.weight"] @ np.concatenate(heads_out)
            f = rms(hs[p], w[f"{p_}.post_attention_layernorm.weight"])
            if i in moe_layers:
                r = w[f"{p_}.moe.gate.weight"] @ f
                z = sum(math.exp(v - max(r)) for v in r)
                probs = [math.exp(v - max(r)) / z for v in r]
                chosen = sorted(range(len(probs)), key=lambda e_: (-probs[e_], e_))[:cfg["moe_top_k"]]
                total = sum(probs[e_] for e_ in chosen) if cfg["norm_expert_weight"] else 1.0
                out = mlp(f, f"{p_}.share_expert")
                for e_ in chosen:
                    out = out + probs[e_] / total * mlp(f, f"{p_}.moe", e_)
            else:
                out = mlp(f, f"{p_}.mlp")
            hs[p] = hs[p] + out
    return np.array([w["lm_head.weight"] @ rms(h, w["model.norm.weight"]) for h in hs])


class ForwardPassTest(TempDirTest):
    def test_matches_loop_by_loop_oracle_dense_and_moe_layers(self):
        for norm in (False, True):
            with self.subTest(norm_expert_weight=norm):
                cfg = dict(SMALL, norm_expert_weight=norm)
                folder, weights = self.checkpoint(cfg, seed=3, name=f"norm-{norm}", dtype="F32")
                tokens = [5, 0, 30, 7, 7, 12]
                expected = naive_logits(cfg, weights, tokens)
                actual = ref.Step3Model.load(folder).full_logits(tokens)
                np.testing.assert_allclose(actual, expected, rtol=1e-11, atol=1e-11)

    def test_norm_expert_weight_changes_the_output(self):
        a, _ = self.checkpoint(dict(SMALL, norm_expert_weight=False), seed=4, name="a")
        b, _ = self.checkpoint(dict(SMALL, norm_expert_weight=True), seed=4, name="b")
        tokens = [1, 2, 3, 4]
        la = ref.Step3Model.load(a).full_logits(tokens)
        lb = ref.Step3Model.load(b).full_logits(tokens)
        # Layer 0 is dense, so the MoE layer sees the same input: only the expert weighting differs.
        self.assertGreater(np.max(np.abs(la - lb)), 1e-3)

    def test_top_1_with_norm_is_shared_plus_the_single_expert(self):
        cfg = ref.parse_config(dict(SMALL, moe_top_k=1, norm_expert_weight=True))
        rng = np.random.default_rng(9)
        H, E, Ie, Is = cfg.hidden_size, cfg.moe_num_experts, cfg.moe_intermediate_size, cfg.share_expert_dim
        moe = ref.Moe(router=rng.standard_normal((E, H)), gate=rng.standard_normal((E, Ie, H)),
                      up=rng.standard_normal((E, Ie, H)), down=rng.standard_normal((E, H, Ie)),
                      shared=ref.Mlp(rng.standard_normal((Is, H)), rng.standard_normal((Is, H)),
                                     rng.standard_normal((H, Is))))
        f = rng.standard_normal((3, H))
        out = ref.moe_ffn(f, moe, cfg)
        for t in range(3):
            e = int(np.argmax(moe.router @ f[t]))
            expected = ref.mlp(f[t], moe.shared.gate, moe.shared.up, moe.shared.down) \
                + ref.mlp(f[t], moe.gate[e], moe.up[e], moe.down[e])
            np.testing.assert_allclose(out[t], expected, rtol=1e-13, atol=1e-12)


class KVCacheTest(TempDirTest):
    def test_incremental_decoding_equals_full_recompute(self):
        folder, _ = self.checkpoint(writer.TINY_CONFIG, seed=1)
        model = ref.Step3Model.load(folder)
        prompt = [3, 14, 15, 92, 65]
        result, step_logits = ref.greedy_generate(model, prompt, 12)
        sequence = prompt + result["token_ids"][:-1]
        full = model.full_logits(sequence)
        np.testing.assert_allclose(step_logits, full[len(prompt) - 1:], rtol=1e-12, atol=1e-12)
        self.assertEqual(result["token_ids"], [int(i) for i in np.argmax(full[len(prompt) - 1:], axis=-1)])

    def test_prefill_chunking_does_not_change_logits(self):
        folder, _ = self.checkpoint(writer.TINY_CONFIG, seed=2)
        model = ref.Step3Model.load(folder)
        tokens = [7, 1, 88, 23, 23, 50, 4]
        full = model.full_logits(tokens)
        for chunks in ([1] * 7, [3, 4], [2, 2, 3]):
            with self.subTest(chunks=chunks):
                cache, rows, start = ref.KVCache(model.cfg), [], 0
                for size in chunks:
                    rows.append(model.forward(tokens[start:start + size], cache))
                    start += size
                np.testing.assert_allclose(np.concatenate(rows), full, rtol=1e-12, atol=1e-12)


class RopeAndAttentionTest(unittest.TestCase):
    def test_rope_is_rotate_half_with_theta_frequencies(self):
        head_dim, theta, p = 8, 10000.0, 3
        x = np.array([0.5, -1.0, 2.0, 0.25, 1.5, -0.75, 0.125, 3.0])
        expected = np.empty(8)
        for j in range(4):
            angle = p * theta ** (-2 * j / 8)
            expected[j] = x[j] * math.cos(angle) - x[j + 4] * math.sin(angle)
            expected[j + 4] = x[j + 4] * math.cos(angle) + x[j] * math.sin(angle)
        inv_freq = ref.rope_inv_freq(head_dim, theta)
        np.testing.assert_allclose(inv_freq, [1.0, 0.1, 0.01, 0.001], rtol=1e-15)
        actual = ref.rope_rotate_half(x[None, :], [p], inv_freq)[0]
        np.testing.assert_allclose(actual, expected, rtol=1e-15, atol=1e-15)
        # The GPT-J "interleaved" pairing (2j, 2j + 1) is a different rotation and must not agree.
        interleaved = np.empty(8)
        for j in range(4):
            angle = p * theta ** (-2 * j / 8)
            interleaved[2 * j] = x[2 * j] * math.cos(angle) - x[2 * j + 1] * math.sin(angle)
            interleaved[2 * j + 1] = x[2 * j + 1] * math.cos(angle) + x[2 * j] * math.sin(angle)
        self.assertGreater(np.max(np.abs(actual - interleaved)), 0.1)

    def test_rope_rotates_every_head_and_depends_only_on_relative_position(self):
        rng = np.random.default_rng(0)
        inv_freq = ref.rope_inv_freq(16, 500000.0)
        q, k = rng.standard_normal((2, 16)), rng.standard_normal(16)
        np.testing.assert_array_equal(ref.rope_rotate_half(q[None], [0], inv_freq)[0], q)
        rotated = ref.rope_rotate_half(q[None], [7], inv_freq)[0]
        for head in range(2):
            single = ref.rope_rotate_half(q[head][None], [7], inv_freq)[0]
            np.testing.assert_allclose(rotated[head], single, rtol=1e-15)
            self.assertAlmostEqual(np.linalg.norm(rotated[head]), np.linalg.norm(q[head]), places=12)
        dot = lambda pq, pk: float(ref.rope_rotate_half(q[0][None], [pq], inv_freq)[0]
                                   @ ref.rope_rotate_half(k[None], [pk], inv_freq)[0])
        self.assertAlmostEqual(dot(9, 4), dot(105, 100), places=10)

    def test_causal_attention_by_hand(self):
        # One head, head_dim 2, keys and values at positions 0 and 1; scale 1/sqrt(2).
        q = np.array([[[1.0, 0.0]], [[0.0, 2.0]]])
        k = np.array([[1.0, 1.0], [0.0, 1.0]])
        v = np.array([[10.0, 0.0], [0.0, 20.0]])
        out = ref.mfa_causal_attention(q, k, v, [0, 1])
        # Position 0 sees only itself.
        np.testing.assert_allclose(out[0], [10.0, 0.0], rtol=1e-15)
        # Position 1: scores 2/sqrt2 and 2/sqrt2 are equal, so the two values are averaged.
        np.testing.assert_allclose(out[1], [5.0, 10.0], rtol=1e-15)
        # A later query against both keys: scores (1/sqrt2, 0).
        out = ref.mfa_causal_attention(q[:1], k, v, [1])
        w0 = math.exp(2 ** -0.5) / (math.exp(2 ** -0.5) + 1.0)
        np.testing.assert_allclose(out[0], [10.0 * w0, 20.0 * (1 - w0)], rtol=1e-14)

    def test_router_ties_go_to_the_lower_index(self):
        probs = np.array([0.1, 0.3, 0.1, 0.3, 0.2])
        experts, weights = ref.route_top_k(probs, 3, False)
        self.assertEqual(list(experts), [1, 3, 4])
        np.testing.assert_allclose(weights, [0.3, 0.3, 0.2])
        experts, weights = ref.route_top_k(probs, 4, True)
        self.assertEqual(list(experts), [1, 3, 4, 0])
        np.testing.assert_allclose(weights, np.array([0.3, 0.3, 0.2, 0.1]) / 0.9, rtol=1e-15)


class CheckpointLoadingTest(TempDirTest):
    def test_dtype_bits_decode_exactly(self):
        bits = np.array([0x3F80, 0xC020, 0x0001, 0x8000, 0x4049], dtype=np.uint16)
        np.testing.assert_array_equal(ref.bf16_bits_to_float64(bits), [1.0, -2.5, 2.0 ** -133, -0.0, 3.140625])
        values = np.array([[1.0, -2.5, 3.140625], [2.0 ** -14, 0.0, -65280.0]])
        for dtype in ("BF16", "F16", "F32"):
            with self.subTest(dtype=dtype):
                path = os.path.join(self.tmp, f"{dtype}.safetensors")
                writer.write_safetensors(path, {"t": values, "u": values[0]}, dtype)
                loaded = ref.SafetensorsFile(path)
                np.testing.assert_array_equal(loaded.read_float64("t"), values)
                np.testing.assert_array_equal(loaded.read_float64("u"), values[0])
                self.assertEqual(loaded.read_float64("t").dtype, np.float64)

    def test_every_layout_and_dtype_gives_the_same_model(self):
        base, weights = self.checkpoint(writer.TINY_CONFIG, seed=5, name="base", dtype="F32")
        expected = ref.Step3Model.load(base).full_logits([1, 2, 3, 50])
        layouts = {
            "bf16": dict(dtype="BF16"),
            "f16": dict(dtype="F16"),
            "sharded with index": dict(dtype="BF16", shards=3),
            "sharded without index": dict(dtype="F16", shards=2, index=False),
            "step3_vl nesting": dict(dtype="BF16", vl=True, shards=2),
        }
        for name, layout in layouts.items():
            with self.subTest(layout=name):
                folder, _ = self.checkpoint(writer.TINY_CONFIG, seed=5, name=name, **layout)
                if layout.get("shards", 1) > 1:
                    files = [f for f in os.listdir(folder) if f.endswith(".safetensors")]
                    self.assertEqual(len(files), layout["shards"])
                model = ref.Step3Model.load(folder)
                np.testing.assert_array_equal(model.w.lm_head, weights["lm_head.weight"])
                np.testing.assert_array_equal(model.full_logits([1, 2, 3, 50]), expected)

    def test_vl_names_carry_the_language_model_prefix(self):
        folder, _ = self.checkpoint(writer.TINY_CONFIG, vl=True)
        names = ref.Checkpoint(folder).file_of.keys()
        self.assertTrue(all(n.startswith("language_model.") for n in names))
        with open(os.path.join(folder, "config.json")) as f:
            self.assertEqual(json.load(f)["model_type"], "step3_vl")

    def test_missing_tensor_and_wrong_shape_are_named(self):
        weights = writer.random_weights(SMALL, 0)
        del weights["model.layers.1.moe.up_proj.weight"]
        writer.write_checkpoint(os.path.join(self.tmp, "missing"), SMALL, weights)
        with self.assertRaisesRegex(ref.CheckpointError, r"model\.layers\.1\.moe\.up_proj\.weight is missing"):
            ref.Step3Model.load(os.path.join(self.tmp, "missing"))
        weights = writer.random_weights(SMALL, 0)
        weights["model.layers.0.self_attn.wq.weight"] = weights["model.layers.0.self_attn.wq.weight"].T
        writer.write_checkpoint(os.path.join(self.tmp, "transposed"), SMALL, weights)
        with self.assertRaisesRegex(ref.CheckpointError, r"wq\.weight has shape \[12, 24\].*\[24, 12\]"):
            ref.Step3Model.load(os.path.join(self.tmp, "transposed"))

    def test_unsupported_dtype_is_refused(self):
        path = os.path.join(self.tmp, "i8.safetensors")
        header = json.dumps({"t": {"dtype": "I8", "shape": [2], "data_offsets": [0, 2]}}).encode()
        with open(path, "wb") as f:
            f.write(len(header).to_bytes(8, "little") + header + b"\x01\x02")
        with self.assertRaisesRegex(ref.CheckpointError, "dtype I8"):
            ref.SafetensorsFile(path).read_float64("t")


class ConfigTest(unittest.TestCase):
    def test_moe_layers_enum_forms(self):
        self.assertEqual(ref.parse_moe_layers("4,5, 7", 8), {4, 5, 7})
        self.assertEqual(ref.parse_moe_layers([1, 2], 3), {1, 2})
        self.assertEqual(ref.parse_moe_layers(None, 4), {1, 2, 3})
        self.assertEqual(ref.parse_moe_layers("2,3,59", 4), {2, 3})

    def test_step3_vl_nests_the_text_config(self):
        cfg = ref.parse_config({"model_type": "step3_vl", "vision_config": {"hidden_size": 1},
                                "text_config": dict(SMALL, max_position_embedding=77)})
        self.assertEqual((cfg.hidden_size, cfg.moe_layers, cfg.max_positions), (24, {1}, 77))

    def test_more_than_one_kv_head_is_refused(self):
        with self.assertRaisesRegex(ref.CheckpointError, "num_attention_groups=2"):
            ref.parse_config(dict(SMALL, num_attention_groups=2))


class CommandLineTest(TempDirTest):
    def run_cli(self, *args):
        script = os.path.join(HERE, "step3_reference.py")
        return subprocess.run([sys.executable, "-B", script, *args], capture_output=True, text=True, timeout=120)

    def test_json_output_and_logits_file(self):
        folder, _ = self.checkpoint(writer.TINY_CONFIG, seed=6, dtype="BF16")
        logits_path = os.path.join(self.tmp, "logits.npy")
        started = time.monotonic()
        done = self.run_cli("--model", folder, "--prompt-ids", "1,2,3,4,5", "--max-tokens", "32",
                            "--top-n", "4", "--prompt-argmax", "--logits-out", logits_path)
        elapsed = time.monotonic() - started
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertLess(elapsed, 5.0, "a 4-layer hidden-64 model should generate 32 tokens in seconds")
        out = json.loads(done.stdout)
        self.assertEqual(out["finish_reason"], "length")
        self.assertEqual(len(out["token_ids"]), 32)
        self.assertEqual(len(out["prompt_logits_argmax"]), 5)
        logits = np.load(logits_path)
        self.assertEqual(logits.shape, (32, writer.TINY_CONFIG["vocab_size"]))
        for step, row in enumerate(logits):
            logprobs = row - np.max(row) - np.log(np.sum(np.exp(row - np.max(row))))
            self.assertEqual(out["token_ids"][step], int(np.argmax(row)))
            self.assertAlmostEqual(out["logprobs"][step], logprobs[out["token_ids"][step]], places=13)
            top = out["top_logprobs"][step]
            self.assertEqual([t[0] for t in top], list(np.argsort(-logprobs, kind="stable")[:4]))
            self.assertEqual(top[0], [out["token_ids"][step], out["logprobs"][step]])
        self.assertEqual(out["prompt_logits_argmax"][-1], out["token_ids"][0])

    def test_eos_stops_unless_ignored(self):
        folder, _ = self.checkpoint(writer.TINY_CONFIG, seed=7)
        first = json.loads(self.run_cli("--model", folder, "--prompt-ids", "9,8", "--max-tokens", "6").stdout)
        eos = first["token_ids"][2]
        stop_at = min(i for i, t in enumerate(first["token_ids"]) if t in (eos, 96))
        stopped = json.loads(self.run_cli("--model", folder, "--prompt-ids", "9,8", "--max-tokens", "6",
                                          "--eos-ids", f"{eos},96").stdout)
        self.assertEqual(stopped["finish_reason"], "stop")
        self.assertEqual(stopped["token_ids"], first["token_ids"][:stop_at + 1])
        self.assertNotIn("prompt_logits_argmax", stopped)
        ignored = json.loads(self.run_cli("--model", folder, "--prompt-ids", "9,8", "--max-tokens", "6",
                                          "--eos-ids", str(eos), "--ignore-eos").stdout)
        self.assertEqual(ignored, first)

    def test_errors_exit_nonzero_with_a_message(self):
        folder, _ = self.checkpoint(writer.TINY_CONFIG)
        done = self.run_cli("--model", folder, "--prompt-ids", "1,97", "--max-tokens", "2")
        self.assertEqual(done.returncode, 1)
        self.assertIn("[97] are outside the vocabulary [0, 97)", done.stderr)
        done = self.run_cli("--model", folder, "--prompt-ids", "1", "--max-tokens", "256")
        self.assertIn("exceeds max_position_embedding 256", done.stderr)
        done = self.run_cli("--model", os.path.join(self.tmp, "nowhere"), "--prompt-ids", "1", "--max-tokens", "2")
        self.assertIn("config.json does not exist", done.stderr)


if __name__ == "__main__":
    unittest.main()
