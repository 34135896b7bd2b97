#!/usr/bin/env bash
# Runs the WASI preview1 tests of the public WebAssembly wasi-testsuite through krill's WASI on both of krill's
# engines (Wasmtime and Chicory) and through stock Wasmtime 7 (engine-wasmtime's WasiTestsuiteRun), and writes
# engine-wasmtime/target/wasi-conformance/summary.md.
#
#   WASI_TESTSUITE=<checkout> scripts/wasi-conformance.sh      (make conformance)
#
# WASI_TESTSUITE: a checkout of github.com/WebAssembly/wasi-testsuite on its prod/testsuite-base branch (the one
# holding the prebuilt tests: tests/{assemblyscript,c,rust}/testsuite/wasm32-wasip1/*.wasm with their .json
# specs). The suite is never fetched here (CI reaches no GitHub) nor copied into the checkout.
# Exits non-zero when the suite is missing, when the build fails, or when a test fails on either krill engine
# that scripts/wasi-conformance/expected-failures.txt does not list for that engine (or one it lists passes).
# Environment: MVN_TEST (mvn -B --no-transfer-progress), WASI_EXPECTED_FAILURES (that file),
# WASI_TESTSUITE_COMMIT (the suite's commit, for the summary; from git when the checkout has it).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
MVN_TEST=${MVN_TEST:-mvn -B --no-transfer-progress}

die() { echo "wasi-conformance: $*" >&2; exit 1; }

[ -n "${WASI_TESTSUITE:-}" ] || die "set WASI_TESTSUITE to a checkout of the wasi-testsuite, e.g.
  git clone -b prod/testsuite-base https://github.com/WebAssembly/wasi-testsuite /tmp/wasi-testsuite
  make conformance WASI_TESTSUITE=/tmp/wasi-testsuite"
[ -d "$WASI_TESTSUITE" ] || die "WASI_TESTSUITE=$WASI_TESTSUITE is not a directory: give a checkout of the wasi-testsuite"
WASI_TESTSUITE=$(cd "$WASI_TESTSUITE" && pwd)
case "$WASI_TESTSUITE/" in
  "$REPO"/*) die "WASI_TESTSUITE=$WASI_TESTSUITE is inside the krill checkout: keep the suite outside it" ;;
esac
ls "$WASI_TESTSUITE"/tests/*/testsuite/wasm32-wasip1/*.wasm >/dev/null 2>&1 ||
  die "$WASI_TESTSUITE holds no prebuilt tests (tests/<lang>/testsuite/wasm32-wasip1/*.wasm): check out its prod/testsuite-base branch"

export WASI_TESTSUITE
# Which version of the suite ran: its commit when the checkout is a git one (the summary names it).
WASI_TESTSUITE_COMMIT=${WASI_TESTSUITE_COMMIT:-$(git -C "$WASI_TESTSUITE" rev-parse HEAD 2>/dev/null || true)}
export WASI_TESTSUITE_COMMIT
export WASI_EXPECTED_FAILURES=${WASI_EXPECTED_FAILURES:-$REPO/scripts/wasi-conformance/expected-failures.txt}
cd "$REPO"
# shellcheck disable=SC2086
$MVN_TEST install -q -DskipTests -pl engine-wasmtime -am
# shellcheck disable=SC2086
$MVN_TEST test -pl engine-wasmtime -Dtest=WasiTestsuiteRun -Dsurefire.failIfNoSpecifiedTests=false
echo "wasi-conformance: summary in engine-wasmtime/target/wasi-conformance/summary.md" >&2
