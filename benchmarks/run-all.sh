#!/usr/bin/env bash
# Reproduces every figure of README's Benchmarks section, as JSON + markdown (+ PNG plots) in one results format:
#   kernels  ./afd bench kernels   matmul vs memory bandwidth and numpy, decode vs its roofline
#   afd      ./afd bench afd       single process vs disaggregated (m=1, pipelined m=2,3), shared cores and one core per side
#   paths    ./afd bench paths     batch-1 decode: kernels alone, offline engine, serve --local, same tokens
#   serve    ./afd bench serve     OpenAI-API load sweep against a local deployment (gateway + nodes)
#   prefix   benchmarks/prefix_cache.py   prefix caching end to end: TTFT with and without, cache-aware routing
# Sized for a 2-core machine: kernels, afd and serve take under 15 minutes there, paths about 3, prefix about 15.
#
#   benchmarks/run-all.sh                 everything
#   benchmarks/run-all.sh serve           only some parts (any of: kernels afd paths serve prefix)
#
# Environment: AFD_BENCH_MODEL (checkpoint folder, default models/small; the small preset is generated there when
# missing), AFD_BENCH_RESULTS (default benchmarks/results), AFD_BENCH_PORT (HTTP port of the server under test,
# default 8000), AFD_BENCH_SERVE_ARGS (replaces the sweep's options below), AFD_BENCH_READY_S (how long to wait for
# the server's /health, default 300).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

model="${AFD_BENCH_MODEL:-models/small}"
results="${AFD_BENCH_RESULTS:-benchmarks/results}"
port="${AFD_BENCH_PORT:-8000}"
ready_s="${AFD_BENCH_READY_S:-300}"
# Closed-loop sweep: 1, 4 and 16 clients, exact 64-token prompts and 32-token outputs (ignore_eos).
serve_args="${AFD_BENCH_SERVE_ARGS:---num-prompts 32 --input-len 64 --output-len 32 --max-concurrency 1,4,16}"

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(kernels afd paths serve prefix)
for part in "${parts[@]}"; do
  case "$part" in kernels|afd|paths|serve|prefix) ;;
    *) echo "run-all.sh: unknown part '$part' (use kernels, afd, paths, serve, prefix)" >&2; exit 2;; esac
done
wants() { [[ " ${parts[*]} " == *" $1 "* ]]; }

started=$SECONDS
step() { printf '\n== %s  [%s, %ds in]\n' "$*" "$(date +%H:%M:%S)" $((SECONDS - started)); }

mkdir -p "$results"
if [ ! -f "$model/config.json" ]; then
  step "generating the small model in $model"
  ./afd make-model --preset small --out "$model"
fi

if wants kernels; then
  step "afd bench kernels"
  ./afd bench kernels --model "$model" --result-dir "$results"
fi

if wants afd; then
  step "afd bench afd"
  ./afd bench afd --model "$model" --result-dir "$results"
fi

if wants paths; then
  step "afd bench paths"
  ./afd bench paths --model "$model" --result-dir "$results"
fi

# ---------------------------------------------------------------------------------------------------------------
# The server under test for `afd bench serve`. Adjust here to benchmark another deployment or another server
# (any OpenAI-compatible one works: the sweep needs only /health, /v1/models and /v1/completions on $port).
# Keep the `exec`: the server process must replace this function's background job, so that stop_server's
# SIGTERM reaches it (./afd itself execs java; `afd serve` stops its nodes on SIGTERM).
start_server() {
  exec ./afd serve --local --model "$model" --port "$port"
}
# ---------------------------------------------------------------------------------------------------------------

server_pid=""
stop_server() {
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    echo "stopping the server (pid $server_pid)"
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$server_pid" 2>/dev/null || break; sleep 1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

if wants serve; then
  command -v curl >/dev/null || { echo "run-all.sh: the serve part needs curl to poll /health" >&2; exit 1; }
  if curl -s -o /dev/null "http://127.0.0.1:$port/health"; then
    echo "run-all.sh: something already answers on port $port; stop it or set AFD_BENCH_PORT" >&2
    exit 1
  fi
  step "starting the server under test on port $port (log: $results/serve-server.log)"
  trap stop_server EXIT
  trap 'exit 130' INT TERM
  start_server > "$results/serve-server.log" 2>&1 &
  server_pid=$!
  waited=0
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ]; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "run-all.sh: the server exited before it was healthy; its log ends with:" >&2
      tail -n 20 "$results/serve-server.log" >&2
      exit 1
    fi
    if [ "$waited" -ge "$ready_s" ]; then
      echo "run-all.sh: no 200 from http://127.0.0.1:$port/health within ${ready_s}s (AFD_BENCH_READY_S)" >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  step "afd bench serve (server healthy after ${waited}s)"
  # shellcheck disable=SC2086 # serve_args is a list of options
  ./afd bench serve --base-url "http://127.0.0.1:$port" $serve_args --result-dir "$results" --result-name serve
  stop_server
fi

if wants prefix; then
  step "benchmarks/prefix_cache.py"
  python3 benchmarks/prefix_cache.py --model "$model" --out "$results/prefix-cache.md"
fi

step "done: results in $results"
elapsed=$((SECONDS - started))
printf 'total %dm%02ds\n' $((elapsed / 60)) $((elapsed % 60))
