#!/usr/bin/env bash
# Entry point of the AFD Server image: `afd ROLE [OPTIONS]` on the image's Java runtime, the role being the first
# argument (gateway, attention, ffn, make-model, ...). Options also come from AFD_* environment variables (see
# `afd ROLE --help`); extra JVM options from AFD_JAVA_OPTS.
#
# AFD_ENTRYPOINT_DRY_RUN=1 prints the command, one argument per line, instead of running it.
set -euo pipefail

AFD_HOME=${AFD_HOME:-/opt/afd}
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

# Native libraries (tokenizer, JNA, JCuda) are unpacked under /tmp: the root file system may be read-only. DNS answers
# are cached for 5 s, not the JVM's 30 s, so pods that moved are found again quickly.
cmd=("$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
  --sun-misc-unsafe-memory-access=allow -XX:+UseParallelGC -XX:+ExitOnOutOfMemoryError
  -Dsun.net.inetaddr.ttl=5 -DDJL_CACHE_DIR=/tmp/afd/djl -Djna.tmpdir=/tmp/afd/jna)
# shellcheck disable=SC2206 # word splitting of the options is intended
cmd+=(${AFD_JAVA_OPTS:-})
cmd+=(-jar "$AFD_HOME/afd.jar" "$@")

if [ "${AFD_ENTRYPOINT_DRY_RUN:-}" = 1 ]; then
  printf '%s\n' "${cmd[@]}"
  exit 0
fi
exec "${cmd[@]}"
