#!/usr/bin/env bash
# Device check of the ffn-node's CUDA backend, for a bare GPU machine: an NVIDIA GPU of compute capability 8.0+
# with a CUDA 13 driver, python3 with PyTorch (and numpy), and nothing else: no JDK, no Maven, no network. Build
# the bundle first on a build machine (benchmarks/gpu/bundle.sh), ship the working tree with benchmarks/gpu/bundle/,
# then from the repository root:
#
#   benchmarks/gpu/device-check.sh [RESULTS_DIR]
#
# Steps, each timed:
# 1. the bundle's JVM runs the CUDA probe (driver, GPU, kernels, self-test); without a GPU the check stops here
#    with exit status 3, which shows that the bundle works up to the driver;
# 2. in the background, PyTorch makes one full-size Step-3 MoE layer (hidden 7168, 48 experts of width 5120, top-3,
#    a shared expert of width 5120) with random bf16 weights on the GPU, writes it to a scratch folder, and
#    computes the reference output of 512 random rows (step3_reference.py);
# 3. meanwhile the JUnit tests of the CUDA backend run: the differential tests CUDA vs CPU at every tile path, the
#    committed kernels' freshness, the routing plan (they must run, not skip);
# 4. PyTorch measures cuBLAS's bf16 matmul at the expert GEMM's shape;
# 5. GpuDeviceBench loads the layer, compares the CUDA backend with PyTorch's output at 1, 8, 64 and 512 rows
#    (relative L2 error <= 1e-2, largest error <= 2e-2 of the largest value), and measures throughput: the grouped
#    GEMM against cuBLAS, the few-row paths against the device-to-device copy bandwidth.
#
# Prints one results table (also RESULTS_DIR/device-check.md; default target/device-check, or $OUT when set) and
# leaves at most three more files there: device-check.log, reports.tar.gz (JUnit reports) and nvidia-smi.csv.
# Exit status: 0 passed (speed below target only prints "below target" lines), 1 a correctness check failed or a
# step did not finish, 2 no bundle, 3 no GPU. Takes about 3-5 minutes on one H100; every step has a time limit.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bundle="$root/benchmarks/gpu/bundle"
results="${1:-${OUT:-$root/target/device-check}}"
mkdir -p "$results"
results="$(cd "$results" && pwd)"
log="$results/device-check.log"
: > "$log"
started=$SECONDS
status=0
NO_GPU=3

say() { printf '\n== %s (%ds)\n' "$*" $((SECONDS - started)) | tee -a "$log"; }
fail() { status=1; echo "FAILED: $*" | tee -a "$log"; }

java="$bundle/jdk/bin/java"
if [ ! -x "$java" ]; then
  echo "device-check: no bundle at $bundle; run benchmarks/gpu/bundle.sh on a build machine and ship the folder" >&2
  exit 2
fi
classpath="$bundle/lib/*:$bundle/junit-platform-console-standalone.jar"
jvm=("$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
  --sun-misc-unsafe-memory-access=allow -Xmx24g -cp "$classpath")
scratch="$(mktemp -d "${TMPDIR:-/tmp}/device-check.XXXXXX")"
reference_pid=
cleanup() {
  [ -n "$reference_pid" ] && kill "$reference_pid" 2>/dev/null
  rm -rf "$scratch"
}
trap cleanup EXIT

say "bundle $(tr '\n' ' ' < "$bundle/STAMP" 2>/dev/null)"
say "JVM and CUDA probe"
timeout 120 "${jvm[@]}" dev.afd.ffn.cuda.DeviceCheckProbe 2>&1 | grep -v 'incubator modules' | tee -a "$log"
probe=${PIPESTATUS[0]}
if [ "$probe" = "$NO_GPU" ]; then
  echo "no GPU: the probe found no usable driver or device; the bundle's JVM started and ran up to the driver check" \
    | tee -a "$log"
  exit $NO_GPU
elif [ "$probe" != 0 ]; then
  fail "the CUDA probe (exit $probe): a GPU is there but the backend cannot use it, or the JVM did not start; see above"
  exit 1
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm \
  --format=csv | tee "$results/nvidia-smi.csv" | tee -a "$log"

say "PyTorch reference layer (background)"
timeout 300 python3 benchmarks/gpu/step3_reference.py generate "$scratch" > "$scratch/reference.log" 2>&1 &
reference_pid=$!

say "CUDA tests"
tests=(CudaFfnBackendTest CudaPtxFreshnessTest RoutingPlanTest CudaThreadTest TilePathTest
  ReferenceLayerTest)
selectors=()
for t in "${tests[@]}"; do selectors+=(--select-class "dev.afd.ffn.cuda.$t"); done
# From ffn-node/, where the freshness test finds the kernel sources and the committed binaries.
launcher=(org.junit.platform.console.ConsoleLauncher execute --disable-banner --disable-ansi-colors --details=tree
  --fail-if-no-tests)
(cd ffn-node && timeout 240 "${jvm[@]}" "${launcher[@]}" --reports-dir "$scratch/reports" "${selectors[@]}") \
  >> "$log" 2>&1 \
  || fail "the CUDA tests (exit $?); see device-check.log"
grep -E "tests (successful|failed|aborted)" "$log" | tail -3
# The differential tests must have run: a skip means the GPU was not usable after all.
python3 - "$scratch/reports" <<'PY' || fail "the differential tests did not all run"
import glob, sys, xml.etree.ElementTree as ET
skipped = [c.get("name") for f in glob.glob(sys.argv[1] + "/*.xml") for c in ET.parse(f).iter("testcase")
           if c.get("classname") == "dev.afd.ffn.cuda.CudaFfnBackendTest" and c.find("skipped") is not None]
ran = [c for f in glob.glob(sys.argv[1] + "/*.xml") for c in ET.parse(f).iter("testcase")
       if c.get("classname") == "dev.afd.ffn.cuda.CudaFfnBackendTest"]
print(f"differential tests: {len(ran)} ran, {len(skipped)} skipped")
sys.exit(1 if skipped or not ran else 0)
PY

say "waiting for the reference layer"
if wait "$reference_pid"; then
  reference_pid=
  cat "$scratch/reference.log" | tee -a "$log"
else
  reference_pid=
  cat "$scratch/reference.log" | tee -a "$log"
  fail "step3_reference.py generate"
fi

say "cuBLAS bf16 matmul"
timeout 120 python3 benchmarks/gpu/step3_reference.py measure "$scratch/torch.properties" 2>&1 | tee -a "$log" \
  || fail "step3_reference.py measure"

say "full-size layer against PyTorch, and throughput"
if [ -s "$scratch/layer.safetensors" ]; then
  timeout 240 "${jvm[@]}" -Dafd.bench.layer="$scratch/layer.safetensors" \
    -Dafd.bench.torch="$scratch/torch.properties" -Dafd.bench.out="$results/device-check.md" \
    "${launcher[@]}" --reports-dir "$scratch/reports-bench" --select-class dev.afd.ffn.cuda.GpuDeviceBench \
    >> "$log" 2>&1 \
    || fail "GpuDeviceBench (exit $?): a correctness check failed or it did not finish; see device-check.log"
else
  fail "no reference layer, so no full-size check"
fi

say "results"
(cd "$scratch" && tar czf "$results/reports.tar.gz" reports* reference.log torch.properties 2>/dev/null)
if [ -s "$results/device-check.md" ]; then
  cat "$results/device-check.md"
else
  fail "no results table"
fi
grep -h 'below target' "$results/device-check.md" 2>/dev/null
echo
echo "device check $([ $status = 0 ] && echo PASSED || echo FAILED) in $((SECONDS - started)) s; results in $results"
exit $status
