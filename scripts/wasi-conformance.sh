#!/usr/bin/env bash
# Runs the WASI preview1 tests of the public WebAssembly wasi-testsuite through krill's WASI on both of krill's
# engines (Wasmtime and Chicory), in-process and as containers (`ctr run` on a private containerd 1.7 with the
# krill runtime of dist/), and through stock Wasmtime 7 (engine-wasmtime's WasiTestsuiteRun), and writes
# engine-wasmtime/target/wasi-conformance/summary.md.
#
#   WASI_TESTSUITE=<checkout> scripts/wasi-conformance.sh      (make conformance; needs root and make build)
#
# WASI_TESTSUITE: a checkout of github.com/WebAssembly/wasi-testsuite on its prod/testsuite-base branch (the one
# holding the prebuilt tests: tests/{assemblyscript,c,rust}/testsuite/wasm32-wasip1/*.wasm with their .json
# specs). The suite is never fetched here (CI reaches no GitHub) nor copied into the checkout.
# Exits non-zero when the suite is missing, when the build fails, or when a test fails on either krill engine,
# in-process or through ctr, that scripts/wasi-conformance/expected-failures.txt does not list for that engine
# (or one it lists passes). The containerd, its krill daemon and every file of the run are stopped and removed
# on exit, also on failure.
# Environment: MVN_TEST (mvn -B --no-transfer-progress), WASI_EXPECTED_FAILURES (that file),
# WASI_TESTSUITE_COMMIT (the suite's commit, for the summary; from git when the checkout has it),
# CONTAINERD / CTR (default: the containerd 1.7 that scripts/install-deps.sh unpacks into $KRILL_IT_CACHE).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
MVN_TEST=${MVN_TEST:-mvn -B --no-transfer-progress}
IT_CACHE=${KRILL_IT_CACHE:-$HOME/.cache/krill-it}
CONTAINERD=${CONTAINERD:-$IT_CACHE/containerd-1.7/root/usr/bin/containerd}
CTR=${CTR:-$IT_CACHE/containerd-1.7/root/usr/bin/ctr}
NS=krill-conformance

die() { echo "wasi-conformance: $*" >&2; exit 1; }
# shellcheck source=lib/private-containerd.sh
. "$REPO/scripts/lib/private-containerd.sh"

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

[ "$(id -u)" = 0 ] || die "must run as root (the via-ctr columns start a containerd)"
[ -x "$REPO/dist/bin/containerd-shim-krill-v1" ] || die "dist/ not built: run 'make build' first"
[ -x "$CONTAINERD" ] && [ -x "$CTR" ] || die "containerd 1.7 not found at $CONTAINERD: run 'make deps'"

export WASI_TESTSUITE
# Which version of the suite ran: its commit when the checkout is a git one (the summary names it).
WASI_TESTSUITE_COMMIT=${WASI_TESTSUITE_COMMIT:-$(git -C "$WASI_TESTSUITE" rev-parse HEAD 2>/dev/null || true)}
export WASI_TESTSUITE_COMMIT
export WASI_EXPECTED_FAILURES=${WASI_EXPECTED_FAILURES:-$REPO/scripts/wasi-conformance/expected-failures.txt}
cd "$REPO"
# shellcheck disable=SC2086
$MVN_TEST install -q -DskipTests -pl engine-wasmtime -am

T=$(mktemp -d /tmp/krill-conformance.XXXXXX)
SOCK=$T/c.sock
CPID=""
# The krill daemon of our containerd: its run dir lives in our temp dir.
daemon_pids() {
    local p c
    for p in /proc/[0-9]*; do
        c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
        [[ $c == *io.krill.shim.Daemon* && $c == *"-run-dir $T/"* ]] && echo "${p#/proc/}"
    done
    return 0
}
# Removes what a failed run left in containerd, stops containerd and its krill daemon, unmounts and removes $T.
cleanup() {
    local rc=$? pid i c
    set +e
    trap - EXIT INT TERM
    if [ -n "$CPID" ] && kill -0 "$CPID" 2>/dev/null; then
        for c in $("$CTR" -a "$SOCK" -n $NS containers ls -q 2>/dev/null); do
            "$CTR" -a "$SOCK" -n $NS tasks kill -s SIGKILL "$c" >/dev/null 2>&1
            "$CTR" -a "$SOCK" -n $NS tasks rm -f "$c" >/dev/null 2>&1
            "$CTR" -a "$SOCK" -n $NS containers rm "$c" >/dev/null 2>&1
        done
        kill "$CPID"
        for ((i = 0; i < 100; i++)); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$CPID" 2>/dev/null && kill -9 "$CPID"
    fi
    for pid in $(daemon_pids); do kill "$pid"; done
    for ((i = 0; i < 50; i++)); do [ -z "$(daemon_pids)" ] && break; sleep 0.1; done
    for pid in $(daemon_pids); do echo "wasi-conformance: krill daemon $pid ignored SIGTERM, killing" >&2; kill -9 "$pid"; done
    grep -F " $T/" /proc/self/mounts | cut -d' ' -f2 | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_private_containerd "$T" "$SOCK" 30 "$CONTAINERD" "$CTR"
echo "wasi-conformance: containerd $("$CONTAINERD" --version | awk '{print $3}') (pid $CPID) with krill from dist/" >&2
export KRILL_CONFORMANCE_CONTAINERD=$SOCK KRILL_CONFORMANCE_CTR=$CTR KRILL_CONFORMANCE_NAMESPACE=$NS
export KRILL_CONFORMANCE_WORK=$T/work   # every test's files, removed with $T
# shellcheck disable=SC2086
$MVN_TEST test -pl engine-wasmtime -Dtest=WasiTestsuiteRun -Dsurefire.failIfNoSpecifiedTests=false
echo "wasi-conformance: summary in engine-wasmtime/target/wasi-conformance/summary.md" >&2
