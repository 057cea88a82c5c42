#!/usr/bin/env bash
# Docker HEALTHCHECK of the AFD Server image (Kubernetes ignores it and uses the manifests' probes). The gateway must
# answer GET /version with 200 on its HTTP port; attention and ffn nodes must accept connections on their gRPC port
# (their gRPC health service is what Kubernetes probes). Role and port come from the running command (PID 1), then
# from AFD_<ROLE>_PORT / AFD_PORT, then from the gateway's default 8000.
set -euo pipefail

mapfile -d '' cmdline < /proc/1/cmdline
role="" port=""
for ((i = 0; i < ${#cmdline[@]}; i++)); do
  if [[ ${cmdline[i]} == *afd.jar ]]; then
    role=${cmdline[i + 1]:-}
  elif [ -n "$role" ]; then
    case "${cmdline[i]}" in
      --port=*) port=${cmdline[i]#--port=} ;;
      --port) port=${cmdline[i + 1]:-} ;;
    esac
  fi
done
role_var="AFD_${role^^}_PORT"
port=${port:-${!role_var:-${AFD_PORT:-}}}
case "$role" in
  gateway)
    port=${port:-8000}
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET /version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
    read -r status <&3
    [[ $status == "HTTP/1.1 200"* ]] || { echo "gateway /version answered: $status"; exit 1; }
    ;;
  attention | ffn)
    [ -n "$port" ] || { echo "no --port found for $role"; exit 1; }
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    ;;
  *)
    echo "no health check for role '${role:-?}'"
    ;;
esac
