#!/usr/bin/env bash
# Builds a Java 25 base image without pulling from any registry: a minimal Debian root file system from a Debian
# mirror (debootstrap) plus a jlink'ed Java 25 runtime taken from the local JDK, imported with `docker import`.
#
#   deploy/docker/make-base-image.sh [IMAGE]        default IMAGE: afd-base:bookworm-jre25
#
# Needs root (debootstrap), docker, and a JDK 25 (JAVA_HOME, or java on PATH). DEBIAN_MIRROR overrides the mirror.
set -euo pipefail

image=${1:-afd-base:bookworm-jre25}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What the roles need: Java SE, the Vector API, Unsafe (Netty, protobuf), EC crypto (TLS), DNS, JMX.
modules=java.se,jdk.incubator.vector,jdk.unsupported,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.naming.dns,jdk.management,jdk.zipfs

die() {
  echo "make-base-image: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || die "debootstrap needs root; run it as root"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install -y debootstrap"
command -v docker >/dev/null || die "docker is missing"
jdk=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
"$jdk/bin/java" -version 2>&1 | grep -q 'version "25' || die "$jdk is not a JDK 25; set JAVA_HOME to one"
[ -x "$jdk/bin/jlink" ] || die "$jdk has no jlink: a full JDK 25 is needed, not a JRE"

work=$(mktemp -d /tmp/afd-base.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "make-base-image: debootstrap bookworm (minbase) from $mirror" >&2
debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*

echo "make-base-image: jlink Java runtime ($modules) from $jdk" >&2
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --compress=zip-6 \
  --output "$work/rootfs/opt/java"
"$work/rootfs/opt/java/bin/java" -version >&2

tar -C "$work/rootfs" -c . | docker import \
  --change 'ENV JAVA_HOME=/opt/java' \
  --change 'ENV PATH=/opt/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["java", "-version"]' \
  - "$image" >/dev/null
echo "make-base-image: built $image" >&2
