#!/usr/bin/env bash
# Device check of the ffn-node's CUDA backend, for a machine with an NVIDIA GPU (compute capability 8.0+, a driver
# for CUDA 13.0 or newer). From the repository root of a fresh copy:
#
#   benchmarks/gpu/device-check.sh [RESULTS_DIR]
#
# 1. builds the ffn-node and runs its CUDA tests: the probe and backend choice, the committed kernels' freshness,
#    the host-side routing plan, and the differential tests CUDA vs CPU on random shapes and routings (these must
#    run, not skip: a skip means the GPU was not usable and the check fails, printing the probe's reason);
# 2. runs GpuDeviceBench: the bf16 WMMA peak, HBM bandwidth (device-to-device copy), the grouped GEMM at 1,024 rows
#    per expert against that peak, the few-row path's bandwidth, one MoE layer of Step-3's shape at 128 and 1,024
#    rows, and a full-size spot check against the CPU backend;
# 3. ends with the table (also written to RESULTS_DIR/gpu-device-check.md, default target/device-check, or $OUT
#    when that is set), plus the test reports.
#
# Needs JDK 25 (JAVA_HOME, or found at the usual places) and the Maven dependencies: the script builds offline
# (./mvnw -o) and goes online only when the offline build cannot resolve something, so run one online build
# (e.g. ./mvnw -B -q -pl ffn-node -am test-compile) beforehand on machines without internet. Takes about 3-5
# minutes; every step has a time limit, the whole stays under 8 minutes.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
results="${1:-${OUT:-$root/target/device-check}}"
mkdir -p "$results"
results="$(cd "$results" && pwd)"
started=$SECONDS
status=0

say() { printf '\n== %s (%ds)\n' "$*" $((SECONDS - started)); }

is_jdk25() { [ -x "$1/bin/java" ] && "$1/bin/java" -version 2>&1 | grep -q 'version "25'; }
if [ -z "${JAVA_HOME:-}" ] || ! is_jdk25 "$JAVA_HOME"; then
  for candidate in /usr/lib/jvm/temurin-25-jdk* /usr/lib/jvm/java-25-openjdk* /usr/lib/jvm/jdk-25* /opt/java/openjdk; do
    if is_jdk25 "$candidate"; then export JAVA_HOME="$candidate"; break; fi
  done
fi
if [ -z "${JAVA_HOME:-}" ] || ! is_jdk25 "$JAVA_HOME"; then
  echo "device-check: no JDK 25 found; set JAVA_HOME" >&2
  exit 2
fi

say "GPU"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$results/gpu.csv"
else
  echo "nvidia-smi not found (the probe below still says whether CUDA is usable)"
fi
command -v nvcc >/dev/null && nvcc --version | tail -2

tests='CudaFfnBackendTest,BackendSelectorTest,CudaPtxFreshnessTest,RoutingPlanTest,CudaThreadTest,CpuFfnBackendTest'

# Runs ./mvnw offline, and once more online when the offline run failed to resolve a dependency or plugin.
mvnw() {
  local limit=$1
  shift
  timeout "$limit" ./mvnw -B -o "$@" > "$results/maven.log" 2>&1 && return 0
  local rc=$?
  if grep -qE 'offline mode|Could not resolve|could not be resolved|Cannot access .* in offline' "$results/maven.log"; then
    echo "offline build could not resolve everything; retrying online"
    timeout "$limit" ./mvnw -B "$@" > "$results/maven.log" 2>&1 && return 0
    rc=$?
  fi
  return $rc
}

say "build and CUDA tests"
rm -rf ffn-node/target/surefire-reports # reports of earlier runs would mix in
if mvnw 300 -pl ffn-node -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest="$tests"; then
  echo "tests passed"
else
  status=1
  echo "TESTS FAILED (or timed out); the end of the Maven log:"
  grep -E 'Tests run:|FAIL|ERROR' "$results/maven.log" | head -40
fi
mkdir -p "$results/reports"
cp ffn-node/target/surefire-reports/*.txt ffn-node/target/surefire-reports/*.xml "$results/reports/" 2>/dev/null
grep -h 'Tests run' ffn-node/target/surefire-reports/*.txt 2>/dev/null | sed 's/^/  /'
skipped="$(grep -o 'skipped="[0-9]*"' ffn-node/target/surefire-reports/TEST-dev.afd.ffn.cuda.CudaFfnBackendTest.xml 2>/dev/null | grep -o '[0-9]*')"
if [ "${skipped:-1}" != "0" ]; then
  status=1
  echo "THE DIFFERENTIAL TESTS DID NOT RUN; the probe said:"
  grep -h -o 'no usable GPU[^]]*' ffn-node/target/surefire-reports/TEST-dev.afd.ffn.cuda.CudaFfnBackendTest.xml \
    2>/dev/null | head -1
fi

say "benchmark"
rm -f "$results/gpu-device-check.md"
cp "$results/maven.log" "$results/maven-tests.log"
if ! mvnw 240 -pl ffn-node -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest=GpuDeviceBench \
    -Dafd.bench.out="$results/gpu-device-check.md"; then
  status=1
  echo "BENCHMARK FAILED (or timed out):"
  grep -E 'Tests run:|FAIL|ERROR|Exception' "$results/maven.log" | head -20
fi
cp "$results/maven.log" "$results/maven-bench.log"
cp ffn-node/target/surefire-reports/*GpuDeviceBench* "$results/reports/" 2>/dev/null

say "results"
if [ -s "$results/gpu-device-check.md" ]; then
  cat "$results/gpu-device-check.md"
else
  status=1
  echo "no benchmark table: the benchmark was skipped or failed; see $results/maven-bench.log"
  grep -h -o 'no usable GPU[^]]*' ffn-node/target/surefire-reports/TEST-dev.afd.ffn.cuda.GpuDeviceBench.xml \
    2>/dev/null | head -1
fi
echo
echo "device check $([ $status = 0 ] && echo PASSED || echo FAILED) in $((SECONDS - started)) s; results in $results"
exit $status
