#!/usr/bin/env python3
"""Decode rate and inter-token latency before, during and after an ffn-node is killed (kill -9).

Starts `afd serve --local --ffn-nodes 3 --ffn-replicas 2` on a model, streams BATCH greedy completions through the
gateway, kills one ffn-node KILL_AT seconds in, and reports per window (before the kill, the RECOVERY seconds after
it, the rest) the decode rate over all streams and the p50/p99 gap between successive tokens of a stream, plus
whether every stream finished. Usage:

    benchmarks/failover.py --model models/small [--batch 16] [--tokens 400] [--kill-at 8] [--out FILE]
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stream(url, model, prompt, tokens, times, errors, usage):
    body = json.dumps({"model": model, "prompt": prompt, "max_tokens": tokens, "temperature": 0,
                       "ignore_eos": True, "stream": True, "stream_options": {"include_usage": True}}).encode()
    req = urllib.request.Request(url + "/v1/completions", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            for line in r:
                if line.startswith(b"data: {"):
                    event = json.loads(line[6:])
                    if "error" in event:
                        errors.append(line.decode())
                    elif event.get("usage"):
                        usage.append(event["usage"]["completion_tokens"])
                    else:
                        times.append(time.monotonic())
                elif line.startswith(b"data: [DONE]"):
                    return
        errors.append("stream ended without [DONE]")
    except Exception as e:  # a failed request is the figure we are after, not a crash
        errors.append(repr(e))


def percentile(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--tokens", type=int, default=400)
    p.add_argument("--kill-at", type=float, default=8.0)
    p.add_argument("--no-kill", action="store_true", help="the same run without the kill, as the baseline")
    p.add_argument("--recovery", type=float, default=3.0)
    p.add_argument("--port", type=int, default=18080)
    p.add_argument("--out")
    a = p.parse_args()

    serve = subprocess.Popen([os.path.join(ROOT, "afd"), "serve", "--local", "--model", a.model, "--ffn-nodes", "3",
                              "--ffn-replicas", "2", "--port", str(a.port), "--attention-port", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    ffn_ports = None
    for line in serve.stdout:
        m = re.search(r"ffn-nodes ((?:127\.0\.0\.1:\d+(?:, )?)+)", line)
        if m:
            ffn_ports = [t.split(":")[1] for t in m.group(1).split(", ")]
        if "Press Ctrl-C" in line:
            break
    threading.Thread(target=lambda: [None for _ in serve.stdout], daemon=True).start()
    url = "http://127.0.0.1:%d" % a.port
    name = os.path.basename(os.path.normpath(a.model))
    try:
        # Warm up every process (JIT) before measuring.
        warm = []
        stream(url, name, [1, 2, 3], 64, warm, [], [])
        times = [[] for _ in range(a.batch)]
        errors = []
        usage = []
        threads = [threading.Thread(target=stream, args=(url, name, [3 + i, 1, 4, 1, 5], a.tokens, times[i], errors,
                                                         usage))
                   for i in range(a.batch)]
        start = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(a.kill_at)
        killed = time.monotonic()
        if not a.no_kill:
            victim = subprocess.run(["pgrep", "-f", "ffn .*--port %s" % ffn_ports[1]], capture_output=True,
                                    text=True)
            os.kill(int(victim.stdout.split()[0]), signal.SIGKILL)
        for t in threads:
            t.join()
        kill = "no kill at" if a.no_kill else "kill"
        windows = [("before %s %.0f s" % (kill, a.kill_at), start, killed),
                   ("%s + %.0f s" % (kill, a.recovery), killed, killed + a.recovery),
                   ("after", killed + a.recovery, float("inf"))]
        rows = []
        for label, lo, hi in windows:
            arrivals = [x for ts in times for x in ts if lo <= x < hi]
            gaps = [ts[i] - ts[i - 1] for ts in times for i in range(1, len(ts)) if lo <= ts[i] < hi]
            span = (min(hi, max(x for ts in times for x in ts)) - lo) if arrivals else float("nan")
            rows.append((label, len(arrivals) / span if span else float("nan"), 1e3 * percentile(gaps, 0.5),
                         1e3 * percentile(gaps, 0.99)))
        finished = sum(1 for n in usage if n == a.tokens)
        out = ["| window | tok/s (all streams) | ITL p50 ms | ITL p99 ms |", "|---|---|---|---|"]
        out += ["| %s | %.0f | %.1f | %.1f |" % r for r in rows]
        out.append("")
        out.append("%d of %d streams finished all %d tokens; %d errors%s" % (
            finished, a.batch, a.tokens, len(errors), (": " + errors[0][:300]) if errors else ""))
        text = "\n".join(out)
        print(text)
        if a.out:
            with open(a.out, "w") as f:
                f.write(text + "\n")
        return 0 if finished == a.batch and not errors else 1
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
