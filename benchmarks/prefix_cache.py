#!/usr/bin/env python3
"""Prefix caching's effect, measured end to end through `afd serve --local` and `afd bench serve`.

Three experiments, each on its own fresh deployment of MODEL:

1. second request: two requests sharing one PREFIX_LONG-token prefix, one after the other; time to first token of
   each (the second finds the prefix cached).
2. TTFT under the prefix dataset: K prefixes of PREFIX tokens, each request one of them plus its own suffix, with
   caching on and with --no-prefix-caching; TTFT p50 and p99.
3. cache-aware routing: 2 attention nodes, 8 prefixes; after one warm-up request per prefix, the share of prefix
   tokens found cached (from the gateway's vllm:prefix_cache_hits_total), with prefix routing and with
   --no-prefix-routing (least-loaded only).

Usage:
    benchmarks/prefix_cache.py --model models/small [--experiments second,ttft,routing] [--out FILE]
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AFD = os.path.join(ROOT, "afd")


class Serve:
    """`afd serve --local` in the background, until closed."""

    def __init__(self, model, port, *args):
        self.url = "http://127.0.0.1:%d" % port
        self.attention_metrics = []
        self.proc = subprocess.Popen([AFD, "serve", "--local", "--model", model, "--port", str(port),
                                      "--attention-port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        for line in self.proc.stdout:
            m = re.match(r"\s+(http://\S+/metrics)\s+attention node", line)
            if m:
                self.attention_metrics.append(m.group(1))
            if "Press Ctrl-C" in line:
                break
        else:
            raise RuntimeError("afd serve --local exited before it was ready")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def metric(self, name):
        """One series summed over its label sets and over every attention node's /metrics."""
        total = 0.0
        for url in self.attention_metrics:
            text = urllib.request.urlopen(url, timeout=30).read().decode()
            total += sum(float(m.group(1)) for m in re.finditer(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name),
                                                                text, re.M))
        return total

    def close(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=120)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def bench(serve, out_dir, name, *args):
    """Runs `afd bench serve` against SERVE; returns its first run's JSON."""
    subprocess.run([AFD, "bench", "serve", "--base-url", serve.url, "--no-progress", "--result-dir", out_dir,
                    "--result-name", name, "--dataset", "prefix", "--random-range-ratio", "0", *args],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out_dir, name + ".json")) as f:
        return json.load(f)["runs"][0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--prefix-long", type=int, default=2000)
    p.add_argument("--prefix", type=int, default=1024)
    p.add_argument("--port", type=int, default=18090)
    p.add_argument("--experiments", default="second,ttft,routing")
    p.add_argument("--out")
    a = p.parse_args()
    run = set(a.experiments.split(","))
    tmp = tempfile.mkdtemp(prefix="prefix-cache-")
    lines = ["# Prefix caching, end to end", "",
             "`benchmarks/prefix_cache.py --model %s` (gateway, attention node(s) and 2 ffn-nodes of"
             " `afd serve --local`, load from `afd bench serve --dataset prefix`)" % a.model, ""]

    if "second" in run:
        lines += second_request(a, tmp)
    if "ttft" in run:
        lines += ttft_with_and_without(a, tmp)
    if "routing" in run:
        lines += routing(a, tmp)
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 0


def second_request(a, tmp):
    with Serve(a.model, a.port) as s:
        r = bench(s, tmp, "second", "--prefix-len", str(a.prefix_long), "--num-prefixes", "1", "--num-prompts", "2",
                  "--max-concurrency", "1", "--random-input-len", "8", "--random-output-len", "4",
                  "--save-detailed")
        first, second = r["requests"]["ttfts"][:2]
        return ["## The second request with the same %d-token prefix" % a.prefix_long, "",
                  "| request | TTFT |", "|---|---|",
                  "| first (prefix computed) | %.0f ms |" % (1e3 * first),
                  "| second (prefix cached) | %.0f ms |" % (1e3 * second), "",
                  "The second reaches its first token %.1fx sooner (target: at least 5x)." % (first / second), ""]


def ttft_with_and_without(a, tmp):
    ttft = {}
    for label, flags in (("caching on", []), ("--no-prefix-caching", ["--no-prefix-caching"])):
        with Serve(a.model, a.port, *flags) as s:
            r = bench(s, tmp, "ttft-" + str(len(ttft)), "--prefix-len", str(a.prefix), "--num-prefixes", "4",
                      "--num-prompts", "32", "--num-warmups", "4", "--max-concurrency", "2",
                      "--random-input-len", "64", "--random-output-len", "16")
            ttft[label] = (r["median_ttft_ms"], r["p99_ttft_ms"], r["completed"], r["failed"])
    on, off = ttft["caching on"], ttft["--no-prefix-caching"]
    lines = ["## TTFT under the prefix dataset", "",
              "4 prefixes of %d tokens, each request one of them plus 64 tokens of its own, 16 output tokens, 32"
              " requests after 4 warm-ups, 2 at a time:" % a.prefix, "",
              "| | TTFT p50 | TTFT p99 | completed | failed |", "|---|---|---|---|---|"]
    lines += ["| %s | %.0f ms | %.0f ms | %d | %d |" % ((k,) + v) for k, v in ttft.items()]
    return lines + ["", "TTFT p50 %.1fx lower with caching (target: at least 3x)." % (off[0] / on[0]), ""]


def routing(a, tmp):
    hits = {}
    for label, flags in (("cache-aware routing", []), ("--no-prefix-routing (least-loaded)",
                                                       ["--no-prefix-routing"])):
        with Serve(a.model, a.port, "--attention-nodes", "2", *flags) as s:
            # The 8 warm-ups touch each prefix once (request i takes prefix i mod 8), so they hit nothing: the
            # hits counted over the whole run are the 64 measured requests' hits.
            h0, q0 = s.metric("vllm:prefix_cache_hits_total"), s.metric("vllm:prefix_cache_queries_total")
            r = bench(s, tmp, "routing", "--prefix-len", "512", "--num-prefixes", "8", "--num-warmups", "8",
                      "--num-prompts", "64", "--max-concurrency", "4", "--random-input-len", "32",
                      "--random-output-len", "4")
            h1, q1 = s.metric("vllm:prefix_cache_hits_total"), s.metric("vllm:prefix_cache_queries_total")
            hits[label] = ((h1 - h0) / (64 * 512), h1 - h0, q1 - q0, r["median_ttft_ms"])
    lines = ["## Cache-aware routing, 2 attention nodes", "",
              "8 prefixes of 512 tokens; one warm-up request per prefix, then 64 requests (prefix + 32 tokens), 4 at"
              " a time; hits from the attention nodes' `vllm:prefix_cache_hits_total` (prompt tokens include the"
              " warm-ups and the load generator's start-up request):", "",
              "| routing | prefix tokens found cached | hit tokens | prompt tokens | TTFT p50 |",
              "|---|---|---|---|---|"]
    lines += ["| %s | %.0f%% | %d | %d | %.0f ms |" % (k, 100 * v[0], v[1], v[2], v[3]) for k, v in hits.items()]
    return lines + [""]


if __name__ == "__main__":
    sys.exit(main())
