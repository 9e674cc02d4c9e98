#!/bin/sh
# Runs the JVM reference harness (harness.clj) with Debian's jars:
#   apt-get install clojure libfressian-java libdata-fressian-clojure libzstd-jni-java
# Usage: run.sh gen DIR | decode FILE... | bench [N] | canon NAME
# TALLY_JAVA and TALLY_JVM_CLASSPATH override the java binary and the classpath.
set -e
here=$(cd "$(dirname "$0")" && pwd)
java=${TALLY_JAVA:-java}
jars=/usr/share/java
cp=${TALLY_JVM_CLASSPATH:-$jars/clojure.jar:$jars/spec.alpha.jar:$jars/core.specs.alpha.jar:$jars/data.fressian.jar:$jars/fressian.jar:$jars/zstd-jni.jar}
exec "$java" -Xss8m -cp "$cp" clojure.main "$here/harness.clj" "$@"
