#!/usr/bin/env bash
# krill demo: a hello-world WebAssembly image run by containerd through the krill runtime.
#
#   make demo            (installs deps, builds dist/ and the test programs, then runs this)
#   bash scripts/demo.sh (needs dist/ built and root)
#
# Starts a private containerd 1.6 (system /usr/bin/containerd, CRI disabled, everything in a temp dir,
# krill's shim on its PATH), builds an OCI image holding /hello.wasm with scripts/oci-image.sh, imports
# it, runs it with `ctr run --rm --runtime io.containerd.krill.v1`, and checks the guest's output.
# Everything it started is stopped and removed on exit, also on failure.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONTAINERD=${CONTAINERD:-/usr/bin/containerd}
CTR=${CTR:-/usr/bin/ctr}
IMAGE=docker.io/library/hello-wasm:latest
EXPECTED="hello from krill"

if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B="" G="" R="" N=""; fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
die() { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }
# shellcheck source=lib/private-containerd.sh
. "$REPO/scripts/lib/private-containerd.sh"

[ "$(id -u)" = 0 ] || die "must run as root (containerd needs it)"
[ -x "$REPO/dist/bin/containerd-shim-krill-v1" ] || die "dist/ not built: run 'make build' first"
[ -x "$CONTAINERD" ] && [ -x "$CTR" ] || die "containerd/ctr not found: run 'make deps' first"
make -s -C "$REPO/integration-tests" >/dev/null || die "cannot build the test programs (make -C integration-tests)"
WASM=$REPO/integration-tests/target/testprogs/hello.wasm
[ -f "$WASM" ] || die "missing $WASM"

T=$(mktemp -d /tmp/krill-demo.XXXXXX)
SOCK=$T/c.sock
CPID=""

# Stops containerd, waits for (or stops) the krill daemon it spawned, unmounts and removes the temp dir.
cleanup() {
    local rc=$? pid i
    set +e
    if [ -n "$CPID" ] && kill -0 "$CPID" 2>/dev/null; then
        "$CTR" -a "$SOCK" tasks kill -s SIGKILL demo >/dev/null 2>&1
        "$CTR" -a "$SOCK" tasks rm -f demo >/dev/null 2>&1
        "$CTR" -a "$SOCK" containers rm demo >/dev/null 2>&1
        kill "$CPID"
        for ((i = 0; i < 100 && $(kill -0 "$CPID" 2>/dev/null && echo 1 || echo 0); i++)); do sleep 0.1; done
        kill -0 "$CPID" 2>/dev/null && kill -9 "$CPID"
    fi
    # The krill daemon of this containerd is identified by its run dir, which lives in our temp dir.
    # It exits by itself KRILL_IDLE_TIMEOUT seconds after its last task; stop it if it lingers.
    for ((i = 0; i < 50; i++)); do
        pid=$(daemon_pids)
        [ -z "$pid" ] && break
        sleep 0.1
    done
    for pid in $(daemon_pids); do echo "demo: stopping lingering krill daemon $pid" >&2; kill "$pid"; done
    sleep 0.2
    for pid in $(daemon_pids); do kill -9 "$pid"; done
    # Unmount anything left below the temp dir (deepest first) before removing it.
    grep -F " $T/" /proc/self/mounts | cut -d' ' -f2 | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
    rm -rf "$T"
    exit $rc
}
daemon_pids() {
    local p c
    for p in /proc/[0-9]*; do
        c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
        [[ $c == *io.krill.shim.Daemon* && $c == *"-run-dir $T/"* ]] && echo "${p#/proc/}"
    done
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "Starting a private containerd ($("$CONTAINERD" --version | awk '{print $3}')) in $T"
start_private_containerd "$T" "$SOCK" 2 "$CONTAINERD" "$CTR"
echo "containerd pid $CPID, socket $SOCK"

step "Building an OCI image: $IMAGE (entrypoint /hello.wasm, linux/amd64)"
bash "$REPO/scripts/oci-image.sh" -n hello-wasm -o "$T/hello-wasm.tar" -e /hello.wasm --platform linux/amd64 \
    "/hello.wasm=$WASM"

step "Importing it"
"$CTR" -a "$SOCK" images import "$T/hello-wasm.tar"
"$CTR" -a "$SOCK" images ls

step "ctr run --rm --runtime io.containerd.krill.v1 $IMAGE demo"
set +e
out=$("$CTR" -a "$SOCK" run --rm --runtime io.containerd.krill.v1 "$IMAGE" demo 2>&1)
rc=$?
set -e
printf '%s\n' "$out" | sed 's/^/  | /'
echo "  (exit code $rc)"

if [ $rc -eq 0 ] && [ "$out" = "$EXPECTED" ]; then
    printf '\n%sOK: the wasm guest said "%s" through containerd and krill.%s\n' "$G$B" "$EXPECTED" "$N"
else
    echo "--- containerd log (tail) ---" >&2
    tail -n 30 "$T/containerd.log" >&2
    die "expected \"$EXPECTED\" with exit code 0, got exit code $rc"
fi
