#!/bin/sh
# Fuzzes every Jazzer target (each *FuzzTest class holds one @FuzzTest) for FUZZ_SECONDS seconds, one JVM per
# target, starting from its corpus in src/test/resources/<package>/<Class>Inputs/<method>/. A finding fails the
# run and is written into that directory as crash-<sha1>: keep it (renamed to say what it is) as a regression
# input and fix the code. Prints executions and seconds per target. Needs `make build` first (installed modules).
#   FUZZ_SECONDS=300 sh scripts/fuzz.sh                      every target, five minutes each
#   FUZZ_MODULES=oci FUZZ_TESTS=SafeUnpackerFuzzTest sh scripts/fuzz.sh
set -eu
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-300}
modules=${FUZZ_MODULES:-ttrpc,oci,os,cri}
tests=${FUZZ_TESTS:-*FuzzTest}
mvn_test=${MVN_TEST:-mvn -B --no-transfer-progress}
log=$(mktemp)
started=$(mktemp)
trap 'rm -f "$log" "$started"' EXIT
status=0
# JAZZER_FUZZ turns @FuzzTest from a corpus replay into fuzzing; Jazzer fuzzes one target per JVM, hence reuseForks.
# Arguments after jazzer.internal.arg.0 (a stand-in for argv[0]) go to libFuzzer and override the annotation's.
JAZZER_FUZZ=1 $mvn_test test -pl "$modules" -Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false \
  -DreuseForks=false -Djazzer.hooks=true \
  -Djazzer.internal.arg.0=fuzz -Djazzer.internal.arg.1=-max_total_time="$seconds" >"$log" 2>&1 || status=$?
grep -aE '^\[(ERROR|WARNING)\]|^(FAILURE|ERROR|Caused by)|== Java Exception|crash-' "$log" | grep -av 'WARNING.*Unable to\|overwritten by user properties' | head -60 || true
echo "fuzz target                                                  executions  seconds"
awk '/Running io\.krill\./ { target = $NF }
     /^Done [0-9]+ runs in [0-9]+ second/ { printf "%-60s %10s %8s\n", target, $2, $5 }' "$log"
if [ "$status" -ne 0 ]; then
  echo "fuzzing found something (exit $status): see the crash-* inputs above" >&2
  # The inputs stay on the machine that found them; their bytes in the log let anyone replay them
  # (base64 -d into the path named, then make unit-test).
  find . -path '*/src/test/resources/*' -name 'crash-*' -newer "$started" -print | while read -r f; do
    echo "$f (base64):" >&2
    base64 "$f" >&2
  done
fi
exit "$status"
