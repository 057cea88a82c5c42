#!/bin/sh
# Prints the home of a JDK 25, which the build (--release 25) and the server (Vector and FFM APIs) need, for ./afd
# and ./mvnw: JAVA_HOME when it is one, else the first of the usual install locations, else the javac on PATH.
# A default `java` of another version (17 is common) is thus passed over rather than failing the build with
# "release version 25 not supported". Without a JDK 25 it says what to install and exits 1.
set -eu

is_jdk25() { [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] && "$1/bin/java" -version 2>&1 | grep -qE 'version "25'; }

found() {
  if [ -n "${JAVA_HOME:-}" ] && [ "$1" != "$JAVA_HOME" ]; then
    echo "note: JAVA_HOME ($JAVA_HOME) is not a JDK 25; using $1" >&2
  fi
  echo "$1"
  exit 0
}

if [ -n "${JAVA_HOME:-}" ] && is_jdk25 "$JAVA_HOME"; then found "$JAVA_HOME"; fi
for candidate in /usr/lib/jvm/temurin-25-jdk* /usr/lib/jvm/java-25-openjdk* /usr/lib/jvm/jdk-25* \
    /opt/java/openjdk /opt/jdk-25* /Library/Java/JavaVirtualMachines/*25*/Contents/Home \
    "${HOME:-}"/.sdkman/candidates/java/25*; do
  if is_jdk25 "$candidate"; then found "$candidate"; fi
done
if command -v javac >/dev/null; then
  candidate="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
  if is_jdk25 "$candidate"; then found "$candidate"; fi
fi
default_java="none"
if command -v java >/dev/null; then default_java="$(java -version 2>&1 | head -1)"; fi
cat >&2 <<MSG
No JDK 25 found. AFD Server needs a Java 25 JDK (for the Vector and FFM APIs); the default java here: $default_java.
  Install one, e.g. Eclipse Temurin 25 (https://adoptium.net) or \`apt-get install temurin-25-jdk\`,
  then set JAVA_HOME to it (or put its bin/ on PATH) and run the command again.
MSG
exit 1
