#!/usr/bin/env bash
# Local multi-container smoke test of the AFD Server image: builds the image, makes the demo model in a Docker volume
# (as the cpu-demo overlay's init container does), starts two ffn-nodes, an attention node and a gateway on a private
# Docker network, each read-only, non-root and with the same options style as the Kubernetes manifests, waits for
# the image's health checks, sends one chat completion through the gateway's port published on 127.0.0.1, and
# removes everything it created (containers, network, volume, image), also when it fails.
#
#   deploy/smoke.sh [--base-image IMAGE] [--build-image IMAGE] [--prebuilt] [--preset small|tiny] [--keep-image]
#
#   --base-image IMAGE  Java 25 base image for the runtime (and, with --prebuilt, for the build stage), e.g. one
#                       made by deploy/docker/make-base-image.sh where no public image can be pulled
#   --build-image IMAGE JDK 25 image for the build stage (default: the Dockerfile's, or the base with --prebuilt)
#   --prebuilt          put the jar built on the host into the image (built here first when missing) instead of
#                       compiling inside the build stage
#   --preset P          the demo model: small (default; 0.47 B parameters) or tiny
#   --keep-image        leave the image afd-server:smoke behind
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
base_image="" build_image="" prebuilt=false preset=small keep_image=false
while [ $# -gt 0 ]; do
  case "$1" in
    --base-image) base_image=${2:?--base-image needs an image}; shift 2 ;;
    --build-image) build_image=${2:?--build-image needs an image}; shift 2 ;;
    --prebuilt) prebuilt=true; shift ;;
    --preset) preset=${2:?--preset needs small or tiny}; shift 2 ;;
    --keep-image) keep_image=true; shift ;;
    *) echo "smoke: unknown argument '$1'; see the comment at the top of deploy/smoke.sh" >&2; exit 2 ;;
  esac
done

run_id=afd-smoke-$$
image=afd-server:smoke
network=$run_id
volume=$run_id-model
model=/models/afd-$preset
containers=("$run_id-ffn-0" "$run_id-ffn-1" "$run_id-attention" "$run_id-gateway")

log() { echo "smoke: $*" >&2; }

cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    for c in "${containers[@]}"; do
      docker inspect "$c" >/dev/null 2>&1 || continue
      log "last log lines of $c:"
      docker logs --tail 25 "$c" 2>&1 | sed 's/^/    /' >&2 || true
    done
  fi
  log "removing containers, network and volume"
  docker rm -f "${containers[@]}" >/dev/null 2>&1 || true
  docker network rm "$network" >/dev/null 2>&1 || true
  docker volume rm "$volume" >/dev/null 2>&1 || true
  if [ "$keep_image" = false ]; then
    docker rmi "$image" >/dev/null 2>&1 || true
  fi
  docker image prune -f --filter label=dev.afd.stage=build >/dev/null 2>&1 || true
  [ "$rc" -eq 0 ] && log "PASSED" || log "FAILED (exit $rc)"
}
trap cleanup EXIT

docker info >/dev/null 2>&1 || { log "docker does not answer; start the Docker daemon first"; exit 1; }
command -v curl >/dev/null || { log "curl is missing"; exit 1; }

build_args=()
if [ -n "$base_image" ]; then
  build_args+=(--build-arg "BASE_IMAGE=$base_image")
fi
if [ "$prebuilt" = true ]; then
  if [ ! -f "$root/cli/target/afd.jar" ]; then
    log "building the jar on the host"
    (cd "$root" && ./mvnw -B -q -DskipTests package -pl cli -am)
  fi
  build_args+=(--build-arg PREBUILT=true)
  build_image=${build_image:-$base_image}
fi
if [ -n "$build_image" ]; then
  build_args+=(--build-arg "BUILD_IMAGE=$build_image")
fi
log "building $image ${build_args[*]}"
docker build -q --force-rm -f "$root/deploy/docker/Dockerfile" "${build_args[@]}" -t "$image" "$root" >/dev/null
docker image inspect -f 'smoke: image {{.Id}} user {{.Config.User}} entrypoint {{.Config.Entrypoint}}' "$image" >&2

docker network create "$network" >/dev/null
docker volume create "$volume" >/dev/null
log "making the $preset model in volume $volume"
docker run --rm -v "$volume:/models" --read-only --tmpfs /tmp:rw,exec,size=256m "$image" \
  make-model --preset="$preset" --out="$model" --force | tail -n 1 >&2

# Each role as in the Kubernetes manifests: read-only root, /tmp for native libraries, the model read-only, the
# role's options in AFD_* variables, the ffn-nodes' expert ranges from their host names' ordinals (one group of two).
common=(--network "$network" --read-only --tmpfs /tmp:rw,exec,size=512m -v "$volume:/models:ro" -e "AFD_MODEL=$model")
for i in 0 1; do
  docker run -d --name "$run_id-ffn-$i" --hostname "ffn-$i" --network-alias "ffn-$i" "${common[@]}" \
    -e AFD_FFN_GROUP_SIZE=2 -e AFD_FFN_BACKEND=cpu "$image" ffn --port=7101 >/dev/null
done
docker run -d --name "$run_id-attention" --hostname attention-0 --network-alias attention "${common[@]}" \
  -e AFD_ATTENTION_KV_MEMORY_MB=256 "$image" attention --port=7001 --ffn=ffn-0:7101,ffn-1:7101 >/dev/null
docker run -d --name "$run_id-gateway" --hostname gateway-0 "${common[@]}" -p 127.0.0.1::8000 "$image" \
  gateway --port=8000 --attention-dns=attention:7001 --drain-timeout-s=5 >/dev/null

started=$SECONDS
for c in "${containers[@]}"; do
  while :; do
    status=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$c")
    [ "$status" = "running healthy" ] && break
    [[ $status == running* ]] || { log "$c is $status"; exit 1; }
    ((SECONDS - started < 300)) || { log "$c is not healthy after 300 s ($status)"; exit 1; }
    sleep 2
  done
  log "$c healthy after $((SECONDS - started)) s"
done

port=$(docker port "$run_id-gateway" 8000/tcp | head -n 1 | sed 's/.*://')
url=http://127.0.0.1:$port
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/health")" = 200 ]; do
  ((SECONDS - started < 300)) || { log "gateway /health is not 200 after 300 s"; exit 1; }
  sleep 1
done
log "gateway ready at $url after $((SECONDS - started)) s; attention nodes: $(curl -s "$url/metrics" \
  | sed -n 's/^afd_gateway_attention_nodes_ready \(.*\)/\1/p')"

request='{"model": "afd-'"$preset"'", "messages": [{"role": "user", "content": "Hello, who are you?"}],
  "max_tokens": 8, "temperature": 0, "ignore_eos": true}'
log "POST $url/v1/chat/completions $request"
t0=$(date +%s.%N)
response=$(curl -sS --fail-with-body -H 'Content-Type: application/json' -d "$request" "$url/v1/chat/completions")
t1=$(date +%s.%N)
echo "$response"
grep -q '"finish_reason"' <<<"$response" || { log "no finish_reason in the answer"; exit 1; }
grep -q '"completion_tokens":8' <<<"$response" || { log "expected 8 completion tokens"; exit 1; }
log "chat completion answered in $(echo "$t1 - $t0" | bc 2>/dev/null || echo "?") s"
for c in "${containers[@]}"; do
  docker logs "$c" 2>&1 | grep -E 'serving experts|connected to ffn|SERVING|listening|serving model' | head -n 3 \
    | sed "s/^/smoke: [$c] /" >&2 || true
done
