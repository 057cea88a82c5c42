#!/usr/bin/env bash
# Builds benchmarks/gpu/bundle/ (ignored by git): everything device-check.sh needs on a bare GPU machine that has
# no JDK, no Maven repository and no network. Run it here, on a build machine, then ship the working tree plus
# that folder to the GPU machine:
#
#   benchmarks/gpu/bundle.sh
#
#   bundle/jdk/      a jlinked Java 25 runtime with just the modules the code needs (jdeps), jdk.incubator.vector
#                    included
#   bundle/lib/      the project's jars (model, ffn-core, ffn-node), ffn-core's and ffn-node's test classes, and
#                    the dependencies the CUDA tests load, JCuda's linux-x86_64 native library only
#   bundle/junit-platform-console-standalone.jar   the JUnit launcher, matching the parent pom's JUnit BOM
#   bundle/STAMP     the commit it was built from, and whether the tree had local changes
#
# Needs JDK 25 (JAVA_HOME, or found at the usual places) and the Maven dependencies (offline first, then online
# once if something is missing). Never installs into the local Maven repository. The bundle stays under 60 MiB.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bundle="$root/benchmarks/gpu/bundle"
limit_mib=60

is_jdk25() { [ -x "$1/bin/jlink" ] && "$1/bin/java" -version 2>&1 | grep -q 'version "25'; }
if [ -z "${JAVA_HOME:-}" ] || ! is_jdk25 "$JAVA_HOME"; then
  for candidate in /usr/lib/jvm/temurin-25-jdk* /usr/lib/jvm/java-25-openjdk* /usr/lib/jvm/jdk-25* /opt/java/openjdk; do
    if is_jdk25 "$candidate"; then export JAVA_HOME="$candidate"; break; fi
  done
fi
if [ -z "${JAVA_HOME:-}" ] || ! is_jdk25 "$JAVA_HOME"; then
  echo "bundle.sh: no JDK 25 with jlink found; set JAVA_HOME" >&2
  exit 2
fi

junit="$(sed -n 's:.*<junit.version>5\.\([0-9.]*\)</junit.version>.*:1.\1:p' pom.xml)"
[ -n "$junit" ] || { echo "bundle.sh: no JUnit 5 version in pom.xml" >&2; exit 2; }
dependency_plugin=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

# Runs ./mvnw offline, and online once when offline resolution fails.
mvnw() {
  ./mvnw -B -q -o "$@" && return 0
  echo "bundle.sh: the offline build could not finish; retrying online" >&2
  ./mvnw -B -q "$@"
}

# jlink needs the JDK's modules as jmod files. JDK builds that ship without them (Temurin 25 does), and whose run-time
# image is not linkable either, get them rebuilt from the run-time image: each module's classes from lib/modules,
# plus the native libraries, launcher and configuration files that belong to it.
rebuild_jmods() {
  local out=$1 modules=$2 work
  work="$(mktemp -d)"
  mkdir -p "$out"
  # java.base last: it records the hashes of the modules that depend on it, so they must exist by then.
  for module in $("$JAVA_HOME/bin/java" --limit-modules "$modules" --list-modules | sed 's/@.*//' \
      | grep -vx java.base) java.base; do
    "$JAVA_HOME/bin/jimage" extract --include "regex:/$module/.*" --dir "$work/classes" "$JAVA_HOME/lib/modules"
    local extra=()
    case $module in
      java.base)
        mkdir -p "$work/base/lib/server" "$work/base/bin" "$work/base/conf"
        for f in libjava.so libjimage.so libjli.so libjsig.so libnet.so libnio.so libverify.so libzip.so \
            libsimdsort.so libsyslookup.so libextnet.so jexec jspawnhelper jvm.cfg tzdb.dat security; do
          [ -e "$JAVA_HOME/lib/$f" ] && cp -r "$JAVA_HOME/lib/$f" "$work/base/lib/"
        done
        cp "$JAVA_HOME/lib/server/libjvm.so" "$JAVA_HOME/lib/server/libjsig.so" "$work/base/lib/server/"
        cp "$JAVA_HOME/bin/java" "$work/base/bin/"
        cp -r "$JAVA_HOME/conf/security" "$JAVA_HOME/conf/net.properties" "$work/base/conf/"
        extra=(--libs "$work/base/lib" --cmds "$work/base/bin" --conf "$work/base/conf" --module-path "$out"
          --hash-modules '.*') ;;
      java.management) mkdir -p "$work/mgmt" && cp "$JAVA_HOME/lib/libmanagement.so" "$work/mgmt/"
        extra=(--libs "$work/mgmt") ;;
      jdk.incubator.vector) mkdir -p "$work/vector" && cp "$JAVA_HOME/lib/libjsvml.so" "$work/vector/"
        extra=(--libs "$work/vector") ;;
    esac
    "$JAVA_HOME/bin/jmod" create --class-path "$work/classes/$module" "${extra[@]}" \
      --target-platform linux-amd64 "$out/$module.jmod"
  done
  rm -rf "$work"
}

rm -rf "$bundle"
mkdir -p "$bundle/lib"
deps="$(mktemp -d)"
trap 'rm -rf "$deps"' EXIT

echo "== jars"
# package (not install): the reactor hands its own modules' jars to copy-dependencies.
mvnw -pl ffn-node -am package -DskipTests "$dependency_plugin:copy-dependencies" -DincludeScope=test \
  -DoutputDirectory="$deps"
mvnw "$dependency_plugin:copy" -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit" \
  -DoutputDirectory="$bundle" -Dmdep.stripVersion=true
cp ffn-node/target/afd-ffn-node-*.jar "$bundle/lib/"
"$JAVA_HOME/bin/jar" --create --file "$bundle/lib/afd-ffn-node-tests.jar" -C ffn-node/target/test-classes .
# What the CUDA tests and the device check load: not the gRPC stack (the server is not under test there), not
# JUnit (the console launcher carries its own copy), not byte-buddy (AssertJ needs it only for soft assertions).
for jar in "$deps"/*.jar; do
  case "$(basename "$jar")" in
    afd-*|jackson-*|jcuda-[0-9]*|assertj-core-*) cp "$jar" "$bundle/lib/" ;;
  esac
done
# JCuda's natives jar for linux-x86_64, with just the driver API's binding: the package uses no other CUDA library
# (the runtime, NVRTC and PTX-compiler bindings are 25 MB).
natives="$(ls "$deps"/jcuda-natives-*-linux-x86_64.jar)"
mkdir "$deps/natives"
(cd "$deps/natives" && "$JAVA_HOME/bin/jar" --extract --file "$natives" \
  && rm -f lib/libJCudaRuntime-* lib/libJNvrtc-* lib/libJNvPTXCompiler-* \
  && "$JAVA_HOME/bin/jar" --create --file "$bundle/lib/$(basename "$natives")" .)

echo "== runtime"
modules="$("$JAVA_HOME/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps \
  --class-path "$bundle/lib/*:$bundle/junit-platform-console-standalone.jar" "$bundle"/lib/*.jar \
  "$bundle/junit-platform-console-standalone.jar" 2>/dev/null | grep -v '^Warning')"
# jdk.incubator.vector is added on the command line, which jdeps cannot see; jdk.unsupported serves JCuda's and the
# libraries' sun.misc uses; jdk.zipfs lets the launcher read jars as file systems. java.desktop goes: only
# jackson's and AssertJ's optional java.beans support names it, and it would cost a fifth of the size limit.
modules="$(echo "$modules,jdk.incubator.vector,jdk.unsupported,jdk.zipfs" | tr ',' '\n' | grep -vx java.desktop \
  | sort -u | paste -sd,)"
jmods="$JAVA_HOME/jmods"
if [ ! -f "$jmods/java.base.jmod" ]; then
  jmods="$deps/jmods"
  rebuild_jmods "$jmods" "$modules"
fi
echo "modules: $modules"
"$JAVA_HOME/bin/jlink" --module-path "$jmods" --add-modules "$modules" --output "$bundle/jdk" \
  --strip-java-debug-attributes \
  --no-header-files --no-man-pages --compress zip-9 --disable-plugin generate-jli-classes \
  --strip-native-debug-symbols objcopy=/usr/bin/objcopy
"$bundle/jdk/bin/java" --add-modules jdk.incubator.vector -version 2>&1 | grep -q 'version "25' \
  || { echo "bundle.sh: the linked runtime does not start" >&2; exit 1; }

{
  echo "commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "local_changes=$([ -z "$(git status --porcelain 2>/dev/null)" ] && echo no || echo yes)"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "modules=$modules"
} > "$bundle/STAMP"

size_kib="$(du -sk "$bundle" | cut -f1)"
echo "== bundle: $bundle, $((size_kib / 1024)) MiB"
ls "$bundle/lib"
if [ "$size_kib" -gt $((limit_mib * 1024)) ]; then
  echo "bundle.sh: the bundle is larger than $limit_mib MiB" >&2
  exit 1
fi
