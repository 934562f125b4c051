#!/usr/bin/env bash
# Prints the path of an executable that runs Temporal's time-skipping test server (the Java one, from Maven
# Central, at the version pinned in scripts/temporal-test-server/pom.xml), for @temporalio/testing's
# `existing-path` executable; @temporalio/testing's own download needs the internet, the registries do not.
# Fetched once with Maven into .tools/ (ignored by git) and reused; TEMPORAL_TEST_SERVER wins when set.
# Needs java (17+) and mvn. Maven's output goes to stderr.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pom="$root/scripts/temporal-test-server/pom.xml"

if [ -n "${TEMPORAL_TEST_SERVER:-}" ]; then
  [ -x "$TEMPORAL_TEST_SERVER" ] || { echo "temporal-test-server: $TEMPORAL_TEST_SERVER is not an executable file" >&2; exit 1; }
  echo "$TEMPORAL_TEST_SERVER"; exit 0
fi

version=$(sed -n 's:.*<temporal-test-server.version>\(.*\)</temporal-test-server.version>.*:\1:p' "$pom")
[ -n "$version" ] || { echo "temporal-test-server: no version in $pom" >&2; exit 1; }
dir="$root/.tools/temporal-test-server-$version"
server="$dir/temporal-test-server"

if [ ! -x "$server" ]; then
  for tool in java mvn; do
    command -v "$tool" >/dev/null || { echo "temporal-test-server: $tool is needed to fetch and run it" >&2; exit 1; }
  done
  echo "fetching Temporal's test server $version with Maven (once; kept in $dir)..." >&2
  mkdir -p "$root/.tools"
  staging=$(mktemp -d "$root/.tools/temporal-test-server.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging/lib" >&2
  [ -f "$staging/lib/temporal-test-server-$version.jar" ] || { echo "temporal-test-server: Maven fetched no server jar" >&2; exit 1; }
  # The SDK runs this with the port (and any extra flags) as arguments, and stops it by killing this
  # process: exec, so that the JVM is that process. A small JIT and heap: the tests' workflows are tiny,
  # and a quick start matters (the SDK gives the server five seconds to answer).
  cat > "$staging/temporal-test-server" <<WRAPPER
#!/bin/sh
exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -cp '$dir/lib/*' io.temporal.testserver.TestServer "\$@"
WRAPPER
  chmod +x "$staging/temporal-test-server"
  rm -rf "$dir"
  mv "$staging" "$dir"
  trap - EXIT
fi
echo "$server"
