#!/usr/bin/env bash
# Compiles the CUDA kernels of this folder with nvcc and writes, for each NAME.cu:
#   NAME.ptx          PTX for compute_80, which the driver compiles for any GPU of compute capability 8.0 or newer
#   NAME.sm_80.cubin  ready binaries for 8.x GPUs (A100, A10, L4, RTX 30/40)
#   NAME.sm_90.cubin  and for 9.0 GPUs (H100, H200, GH200)
# plus manifest.properties: the nvcc release, the flags, and SHA-256 sums of the sources, this script and every
# output, which CudaPtxFreshnessTest checks so that a .cu change without a rebuild fails the build.
#
#   ffn-node/src/main/cuda/build-ptx.sh              rebuild into ffn-node/src/main/resources/cuda (commit them)
#   ffn-node/src/main/cuda/build-ptx.sh --ptx-only D  only the PTX, into folder D (the freshness test uses this)
#
# Needs nvcc 13.0 (PTX ISA 9.0; the driver must support CUDA 13.0 to load that PTX). The outputs carry no paths or
# dates: nvcc runs inside this folder on relative file names, without -lineinfo or -G.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ptx_only=false
if [ "${1:-}" = "--ptx-only" ]; then
  ptx_only=true
  shift
fi
out="$(mkdir -p "${1:-$here/../resources/cuda}" && cd "${1:-$here/../resources/cuda}" && pwd)"
flags=(-std=c++17 -O3)

command -v nvcc >/dev/null || { echo "build-ptx.sh: nvcc is not on the PATH; install the CUDA 13 toolkit" >&2; exit 1; }
release="$(nvcc --version | sed -n 's/.*release \([0-9.]*\), V\([0-9.]*\).*/\2/p')"

cd "$here"
sources=(*.cu)
for cu in "${sources[@]}"; do
  name="${cu%.cu}"
  nvcc "${flags[@]}" -ptx -arch=compute_80 -o "$out/$name.ptx" "$cu"
  if ! $ptx_only; then
    nvcc "${flags[@]}" -cubin -arch=sm_80 -o "$out/$name.sm_80.cubin" "$cu"
    nvcc "${flags[@]}" -cubin -arch=sm_90 -o "$out/$name.sm_90.cubin" "$cu"
  fi
done
$ptx_only && exit 0

sha() { sha256sum "$1" | cut -d' ' -f1; }
{
  echo "# Written by src/main/cuda/build-ptx.sh; do not edit. Checked by CudaPtxFreshnessTest."
  echo "nvcc=$release"
  echo "flags=${flags[*]}"
  echo "source.build-ptx.sh=$(sha build-ptx.sh)"
  for cu in "${sources[@]}"; do
    echo "source.$cu=$(sha "$cu")"
  done
  for cu in "${sources[@]}"; do
    name="${cu%.cu}"
    for f in "$name.ptx" "$name.sm_80.cubin" "$name.sm_90.cubin"; do
      echo "output.$f=$(sha "$out/$f")"
    done
  done
} > "$out/manifest.properties"
echo "build-ptx.sh: wrote ${#sources[@]} modules to $out"
