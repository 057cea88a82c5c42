#!/usr/bin/env bash
# Entry point of the AFD Server image: `afd ROLE [OPTIONS]` on the image's Java runtime, the role being the first
# argument (gateway, attention, ffn, make-model, ...). Options also come from AFD_* environment variables (see
# `afd ROLE --help`); extra JVM options from AFD_JAVA_OPTS.
#
# Topology for StatefulSets, applied only when the option is not given on the command line or by its own variable:
#   ffn        --experts from the pod's ordinal (the number after the last '-' of the host name): AFD_FFN_NODES
#              nodes share the model's routed experts evenly, node i holding [i*E/N, (i+1)*E/N - 1].
#   attention  --ffn as the AFD_FFN_NODES addresses made from the printf pattern AFD_FFN_ADDRESS, e.g.
#              ffn-%d.ffn-headless:7101 (%d is the ordinal).
# AFD_ENTRYPOINT_DRY_RUN=1 prints the command, one argument per line, instead of running it.
set -euo pipefail

AFD_HOME=${AFD_HOME:-/opt/afd}
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

die() {
  echo "afd-entrypoint: $*" >&2
  exit 64
}

# The value of --NAME in the arguments (--NAME=V or --NAME V), else empty.
option_value() {
  local name=$1
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      "$name="*) echo "${1#*=}"; return ;;
      "$name") echo "${2:-}"; return ;;
    esac
    shift
  done
}

has_option() {
  local name=$1 a
  shift
  for a in "$@"; do
    [[ $a == "$name" || $a == "$name="* ]] && return 0
  done
  return 1
}

ffn_nodes() {
  [[ ${AFD_FFN_NODES} =~ ^[1-9][0-9]*$ ]] || die "AFD_FFN_NODES must be a positive number, got '${AFD_FFN_NODES}'"
  echo "${AFD_FFN_NODES}"
}

# The ffn-node's expert range from its ordinal and the model's number of routed experts.
experts_of_ordinal() {
  local host ordinal nodes model experts
  host=${HOSTNAME:-$(hostname)}
  ordinal=${host##*-}
  [[ $ordinal =~ ^[0-9]+$ ]] || die "cannot derive --experts: host name '$host' does not end in -ORDINAL (not a" \
      "StatefulSet pod?); give --experts or AFD_FFN_EXPERTS"
  ordinal=$((10#$ordinal))
  nodes=$(ffn_nodes)
  model=$(option_value --model "$@")
  model=${model:-${AFD_FFN_MODEL:-${AFD_MODEL:-}}}
  [ -n "$model" ] || die "cannot derive --experts: no --model, AFD_FFN_MODEL or AFD_MODEL"
  [ -r "$model/config.json" ] || die "cannot derive --experts: $model/config.json is missing or unreadable"
  experts=$(sed -n 's/.*"moe_num_experts"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$model/config.json" | head -n 1)
  [ -n "$experts" ] || die "cannot derive --experts: no moe_num_experts in $model/config.json; give --experts"
  ((ordinal < nodes)) || die "ffn ordinal $ordinal is not below AFD_FFN_NODES=$nodes; keep AFD_FFN_NODES equal to" \
      "the ffn StatefulSet's replicas"
  ((nodes <= experts)) || die "AFD_FFN_NODES=$nodes is more than the model's $experts routed experts"
  echo "$((ordinal * experts / nodes))-$(((ordinal + 1) * experts / nodes - 1))"
}

ffn_addresses() {
  local nodes i list=""
  nodes=$(ffn_nodes)
  [[ ${AFD_FFN_ADDRESS:-} == *%d* ]] || die "AFD_FFN_ADDRESS must be a pattern with %d for the ffn ordinal, e.g." \
      "ffn-%d.ffn-headless:7101; got '${AFD_FFN_ADDRESS:-}'"
  for ((i = 0; i < nodes; i++)); do
    # shellcheck disable=SC2059 # the pattern is the format on purpose
    list+="${list:+,}$(printf "$AFD_FFN_ADDRESS" "$i")"
  done
  echo "$list"
}

args=("$@")
case "${1:-}" in
  ffn)
    if [ -n "${AFD_FFN_NODES:-}" ] && ! has_option --experts "$@" && [ -z "${AFD_FFN_EXPERTS:-}" ]; then
      args+=("--experts=$(experts_of_ordinal "$@")")
    fi
    ;;
  attention)
    if [ -n "${AFD_FFN_NODES:-}" ] && ! has_option --ffn "$@" && [ -z "${AFD_ATTENTION_FFN:-}" ]; then
      args+=("--ffn=$(ffn_addresses)")
    fi
    ;;
esac

# Native libraries (tokenizer, JNA, JCuda) are unpacked under /tmp: the root file system may be read-only. DNS answers
# are cached for 5 s, not the JVM's 30 s, so pods that moved are found again quickly.
cmd=("$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
  --sun-misc-unsafe-memory-access=allow -XX:+UseParallelGC -XX:+ExitOnOutOfMemoryError
  -Dsun.net.inetaddr.ttl=5 -DDJL_CACHE_DIR=/tmp/afd/djl -Djna.tmpdir=/tmp/afd/jna)
# shellcheck disable=SC2206 # word splitting of the options is intended
cmd+=(${AFD_JAVA_OPTS:-})
cmd+=(-jar "$AFD_HOME/afd.jar" "${args[@]}")

if [ "${AFD_ENTRYPOINT_DRY_RUN:-}" = 1 ]; then
  printf '%s\n' "${cmd[@]}"
  exit 0
fi
exec "${cmd[@]}"
