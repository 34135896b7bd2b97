#!/usr/bin/env bash
# Runs critest, the CRI validation suite of cri-tools, against krill and writes a summary per spec area.
#
#   scripts/critest.sh [build|run|all]        (make critest: all; run needs make build first)
#
# build: critest and crictl of cri-tools $CRITEST_VERSION, built into $KRILL_CRITEST_CACHE (never into the
#        checkout) with Debian's Go (trixie's golang-1.24, unpacked there too: bookworm's 1.19 is too old).
#        The source is $CRITEST_SRC when set (a cri-tools git clone, its tag v$CRITEST_VERSION is taken, or a
#        source tree), else the module sigs.k8s.io/cri-tools from the Go module proxy.
# run:   critest against each of $CRITEST_TARGETS, all on loopback and private directories:
#          krill-cri       `dist/bin/krill cri` on its own socket, root and CNI bridge network
#          containerd-1.7  a private containerd with CRI on and runtime handler krill (docs/kubernetes.md),
#          containerd-2.1  critest --runtime-handler krill
#        critest's images are replaced by wasm images pushed to a local registry under their upstream names:
#        its busybox is scripts/critest/*.c (top, echo, sleep, cat, ls, hostname as WASI programs); the
#        image-service test images are small images with the same names and users.
#        Writes $CRITEST_OUT/<target>.xml (JUnit), <target>.log, and summary.md (passed/failed/skipped per
#        spec area and target), which it also prints.
#
# Environment: CRITEST_VERSION (1.34.0), CRITEST_SRC, KRILL_CRITEST_CACHE (~/.cache/krill-critest),
# CRITEST_TARGETS ("krill-cri containerd-1.7 containerd-2.1"), CRITEST_FOCUS / CRITEST_SKIP (ginkgo regexes),
# CRITEST_ARGS (more critest flags, e.g. --ginkgo.v),
# CRITEST_OUT (target/critest). Exits non-zero when critest cannot be built or a target cannot be started,
# or when a spec listed in scripts/critest/expected-pass-<target>.txt did not pass; other failures are
# the table's business.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
VERSION=${CRITEST_VERSION:-1.34.0}
CACHE=${KRILL_CRITEST_CACHE:-$HOME/.cache/krill-critest}
OUT=${CRITEST_OUT:-$REPO/target/critest}
TARGETS=${CRITEST_TARGETS:-krill-cri containerd-1.7 containerd-2.1}
IT_CACHE=${KRILL_IT_CACHE:-$HOME/.cache/krill-it}
GO_SUITE=trixie GO_PKG=1.24

die() { echo "critest: $*" >&2; exit 1; }
log() { echo "critest: $*" >&2; }
# shellcheck source=scripts/lib/debian-suite.sh
. "$REPO/scripts/lib/debian-suite.sh"

CRITEST=$CACHE/bin/critest-$VERSION
CRICTL=$CACHE/bin/crictl-$VERSION

# --- build ----------------------------------------------------------------------------------------------
go_toolchain() {
    GOROOT_DIR=$CACHE/go-$GO_PKG/usr/lib/go-$GO_PKG
    if [ ! -x "$GOROOT_DIR/bin/go" ]; then
        log "unpacking Debian $GO_SUITE's golang-$GO_PKG into $CACHE/go-$GO_PKG"
        local d
        d=$(mktemp -d)
        debian_suite_download "$GO_SUITE" "$d" "golang-$GO_PKG-go" "golang-$GO_PKG-src"
        rm -rf "$CACHE/go-$GO_PKG.tmp"
        for deb in "$d"/*.deb; do dpkg-deb -x "$deb" "$CACHE/go-$GO_PKG.tmp"; done
        rm -rf "$d"
        [ -x "$CACHE/go-$GO_PKG.tmp/usr/lib/go-$GO_PKG/bin/go" ] || die "golang-$GO_PKG from $GO_SUITE has no go"
        rm -rf "$CACHE/go-$GO_PKG"
        mv "$CACHE/go-$GO_PKG.tmp" "$CACHE/go-$GO_PKG"
    fi
    export GOROOT=$GOROOT_DIR PATH=$GOROOT_DIR/bin:$PATH
    export GOPATH=$CACHE/gopath GOCACHE=$CACHE/gocache GOFLAGS=-modcacherw CGO_ENABLED=0
    # Debian's Go, unless the caller asks for another (a newer cri-tools may need GOTOOLCHAIN=go1.27.3).
    export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
}

# Leaves the cri-tools source of v$VERSION in $CACHE/src-$VERSION; sets MODFLAG for the build.
cri_tools_source() {
    local src=$CACHE/src-$VERSION
    if [ -n "${CRITEST_SRC:-}" ]; then
        rm -rf "$src.tmp" && mkdir -p "$src.tmp"
        if git --git-dir="$CRITEST_SRC" rev-parse -q --verify "v$VERSION^{commit}" >/dev/null 2>&1; then
            git --git-dir="$CRITEST_SRC" archive "v$VERSION" | tar -x -C "$src.tmp"
        elif git -C "$CRITEST_SRC" rev-parse -q --verify "v$VERSION^{commit}" >/dev/null 2>&1; then
            git -C "$CRITEST_SRC" archive "v$VERSION" | tar -x -C "$src.tmp"
        elif [ -f "$CRITEST_SRC/go.mod" ] && grep -q '^module sigs.k8s.io/cri-tools' "$CRITEST_SRC/go.mod"; then
            cp -a "$CRITEST_SRC/." "$src.tmp/"
        else
            die "CRITEST_SRC=$CRITEST_SRC is neither a cri-tools git repository with tag v$VERSION nor a cri-tools source tree"
        fi
    else
        log "downloading sigs.k8s.io/cri-tools@v$VERSION from the Go module proxy"
        local json dir
        json=$(cd / && go mod download -json "sigs.k8s.io/cri-tools@v$VERSION" 2>&1) || true
        dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
        [ -n "$dir" ] && [ -d "$dir" ] || die "cannot download sigs.k8s.io/cri-tools@v$VERSION from the Go module \
proxy ($(go env GOPROXY)): $(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)"$/\1/p' | head -n1). \
Set CRITEST_SRC to a clone of the cri-tools repository (it has tag v$VERSION) and run again"
        rm -rf "$src.tmp" && mkdir -p "$src.tmp" && cp -a "$dir/." "$src.tmp/" && chmod -R u+w "$src.tmp"
    fi
    rm -rf "$src" && mv "$src.tmp" "$src"
    SRC=$src
    # A git tree has vendor/; a module zip never does, so its dependencies come from the proxy as well.
    if [ -d "$SRC/vendor" ]; then MODFLAG=-mod=vendor; else MODFLAG=-mod=mod; fi
}

build() {
    if [ -x "$CRITEST" ] && [ -x "$CRICTL" ]; then
        log "have $("$CRITEST" --version 2>/dev/null | head -n1) in $CACHE/bin"
        return 0
    fi
    mkdir -p "$CACHE/bin"
    go_toolchain
    cri_tools_source
    local ld="-X sigs.k8s.io/cri-tools/pkg/version.Version=$VERSION"
    log "building critest and crictl $VERSION with $(go version) ($MODFLAG)"
    # As cri-tools' Makefile does: critest is the ginkgo suite of cmd/critest, compiled as a test binary.
    (cd "$SRC" && go test $MODFLAG -c -o "$CRITEST.tmp" -ldflags "$ld" ./cmd/critest \
        && go build $MODFLAG -o "$CRICTL.tmp" -ldflags "$ld" ./cmd/crictl) || die "build of cri-tools $VERSION failed"
    mv "$CRITEST.tmp" "$CRITEST"
    mv "$CRICTL.tmp" "$CRICTL"
    log "built $CRITEST and $CRICTL"
}

# --- run: shared pieces ---------------------------------------------------------------------------------
PIDS=()
NETS=()
RUN=""
cleanup() {
    local p i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        p=${PIDS[i]}
        kill "$p" 2>/dev/null || continue
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    PIDS=()
    # krill daemons containerd's shims started (idle, as every pod is gone, and told to exit then):
    # each names its run dir under $RUN on its command line
    if [ -n "$RUN" ]; then
        for _ in $(seq 100); do [ -z "$(leftover_daemons)" ] && break; sleep 0.1; done
        for p in $(leftover_daemons); do kill -9 "$p" 2>/dev/null || true; done
    fi
    for n in "${NETS[@]}"; do ip link del "$n" 2>/dev/null || true; done
    NETS=()
    if [ -n "$RUN" ] && [ -d "$RUN" ]; then
        # containerd leaves its shm and netns mounts under its state dir
        { grep -o " $RUN/[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do
            umount -l "$m" 2>/dev/null || true
        done
        rm -rf "$RUN"
    fi
}
trap cleanup EXIT

leftover_daemons() {
    local f c
    for f in /proc/[0-9]*/cmdline; do
        c=$({ tr '\0' ' ' <"$f"; } 2>/dev/null) || continue
        case $c in *" -XX:ErrorFile=$RUN/"* | *"$RUN/krill-run/"*) f=${f#/proc/}; echo "${f%/cmdline}" ;; esac
    done
}

wait_for() { # wait_for PID WHAT LOG COMMAND...
    local pid=$1 what=$2 logf=$3
    shift 3
    for _ in $(seq 300); do
        "$@" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$logf" >&2; die "$what exited (log: $logf)"; }
        sleep 0.1
    done
    tail -n 20 "$logf" >&2
    die "$what did not come up within 30 s (log: $logf)"
}

# critest pulls its images by their upstream names (gcr.io/k8s-staging-cri-tools/..., registry.k8s.io/...):
# its --registry-prefix drops the tags and looks images up by the unprefixed names, so the image specs
# could never pass with it. Instead one local registry on $REGISTRY serves both names over plain HTTP:
# containerd through a hosts.toml per registry (its documented mirror config), krill cri with a hosts
# file of its JVM's own (-Djdk.net.hosts.file) saying that both names are $REGISTRY_IP.
REGISTRY_IP=127.0.0.80
REGISTRY=$REGISTRY_IP:80
UPSTREAM_REGISTRIES="gcr.io registry.k8s.io"

# Starts the local registry and pushes the images critest pulls.
start_registry() {
    mkdir -p "$RUN/registry"
    cat >"$RUN/registry/config.yml" <<EOT
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $RUN/registry/storage
http:
  addr: $REGISTRY
EOT
    /usr/bin/docker-registry serve "$RUN/registry/config.yml" >"$RUN/registry/log" 2>&1 &
    PIDS+=($!)
    wait_for $! "docker-registry on $REGISTRY (is something else listening there?)" "$RUN/registry/log" \
        curl -sf "http://$REGISTRY/v2/"
    push_images
}

push() { # push NAME[:TAG] oci-image.sh ARGS...
    local name=$1 t
    shift
    t=$RUN/images/$(echo "$name" | tr '/:' '__').tar
    mkdir -p "$RUN/images"
    bash "$REPO/scripts/oci-image.sh" -n "$name" -o "$t" "$@" 2>/dev/null
    skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci-archive:$t" "docker://$REGISTRY/$name" \
        || die "push of $name to $REGISTRY failed"
}

push_images() {
    local tools=$RUN/tools c f=()
    mkdir -p "$tools" "$RUN/images"
    for c in "$REPO"/scripts/critest/*.c; do
        clang --target=wasm32-wasi -O2 -Wall -Wl,--strip-all "$c" -o "$tools/$(basename "$c" .c)"
        f+=("/$(basename "$c" .c)=$tools/$(basename "$c" .c)")
    done
    log "pushing critest's images (wasm stand-ins) to $REGISTRY"
    # critest names its busybox and runs `top`, `echo -n hello`, `ls -A DIR`, ...: krill looks them up as
    # /top, /echo, /ls in the image (the first word of a command is the module's path in the root).
    push e2e-test-images/busybox:1.29-2 -e /top "${f[@]}"
    # Each image its own (a file naming it), as upstream: two images with the same bytes would be one
    # image with two tags. The three test-image-tags are one image under three tags.
    local img=k8s-staging-cri-tools n
    for n in test-image-latest:latest test-image-tag:test test-image-tag:all \
        test-image-1:latest test-image-2:latest test-image-3:latest; do
        unique_push "$img/$n"
    done
    for n in 1 2 3; do push "$img/test-image-tags:$n" "/echo=$tools/echo"; done
    unique_push $img/test-image-user-uid:latest --user 1002
    unique_push $img/test-image-user-username:latest --user www-data
    unique_push $img/test-image-user-uid-group:latest --user 1003:users
    unique_push $img/test-image-user-username-group:latest --user www-data:users
    unique_push $img/test-image-predefined-group:latest --user 1000
}

unique_push() { # unique_push NAME[:TAG] [oci-image.sh OPTIONS...]: an image holding /echo and /image (its name)
    local name=$1
    shift
    echo "$name" >"$RUN/images/name"
    push "$name" "$@" "/echo=$RUN/tools/echo" "/image=$RUN/images/name"
}

# A bridge network of its own (unique bridge name and subnet) in $1; IPAM state under $RUN.
cni_conf() {
    local dir=$1 name
    name=kc$(printf '%04x%04x' $RANDOM $RANDOM)
    NETS+=("$name")
    mkdir -p "$dir"
    cat >"$dir/10-critest.conflist" <<EOT
{
  "cniVersion": "1.0.0",
  "name": "$name",
  "plugins": [
    {"type": "bridge", "bridge": "$name", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.$((200 + RANDOM % 8)).$((RANDOM % 256)).0/24"}]],
              "dataDir": "$RUN/cni-ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOT
}

# --- run: targets ---------------------------------------------------------------------------------------
start_krill_cri() {
    [ -x "$REPO/dist/bin/krill" ] || die "no dist/bin/krill: run make build first"
    cni_conf "$RUN/cni"
    ENDPOINT=unix://$RUN/krill.sock
    { echo "127.0.0.1 localhost"; echo "$REGISTRY_IP $UPSTREAM_REGISTRIES"; } >"$RUN/hosts"
    local plain=() r
    for r in $UPSTREAM_REGISTRIES; do plain+=(--plain-http-registry "$r"); done
    JAVA_TOOL_OPTIONS="-Djdk.net.hosts.file=$RUN/hosts" KRILL_RUN_DIR="$RUN/krill-run" \
        "$REPO/dist/bin/krill" cri --socket "$RUN/krill.sock" --root "$RUN/root" --cni-conf-dir "$RUN/cni" \
        "${plain[@]}" >"$OUT/$1.daemon.log" 2>&1 &
    PIDS+=($!)
    wait_for $! "krill cri" "$OUT/$1.daemon.log" "$CRICTL" --runtime-endpoint "$ENDPOINT" version
    HANDLER=()
}

start_containerd() { # start_containerd TARGET VERSION
    local v=$2 bin=$IT_CACHE/containerd-$2/root/usr/bin rt hosts
    [ -x "$bin/containerd" ] || die "no containerd $v in $IT_CACHE: run scripts/install-deps.sh"
    [ -x "$REPO/dist/bin/containerd-shim-krill-v1" ] || die "no dist/bin/containerd-shim-krill-v1: run make build first"
    cni_conf "$RUN/cni"
    for hosts in $UPSTREAM_REGISTRIES; do
        mkdir -p "$RUN/certs.d/$hosts"
        printf 'server = "http://%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
            "$REGISTRY" "$REGISTRY" >"$RUN/certs.d/$hosts/hosts.toml"
    done
    {
        case $v in
            1.*)
                rt='plugins."io.containerd.grpc.v1.cri"'
                echo 'version = 2'
                ;;
            *)
                rt='plugins."io.containerd.cri.v1.runtime"'
                echo 'version = 3'
                ;;
        esac
        cat <<EOT
root = "$RUN/root"
state = "$RUN/state"
temp = "$RUN/tmp"
disabled_plugins = ["io.containerd.nri.v1.nri"]
[grpc]
  address = "$RUN/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$RUN/opt"
EOT
        case $v in
            1.*)
                cat <<EOT
[$rt]
  sandbox_image = "registry.k8s.io/krill/pause:1"
  netns_mounts_under_state_dir = true
[$rt.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[$rt.containerd.runtimes.krill]
  runtime_type = "io.containerd.krill.v1"
[$rt.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "$RUN/cni"
[$rt.registry]
  config_path = "$RUN/certs.d"
EOT
                ;;
            *)
                cat <<EOT
[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = "registry.k8s.io/krill/pause:1"
[plugins."io.containerd.cri.v1.images".registry]
  config_path = "$RUN/certs.d"
[$rt]
  netns_mounts_under_state_dir = true
[$rt.containerd.runtimes.krill]
  runtime_type = "io.containerd.krill.v1"
[$rt.cni]
  bin_dirs = ["/usr/lib/cni"]
  conf_dir = "$RUN/cni"
EOT
                ;;
        esac
    } >"$RUN/config.toml"
    # krill serves sandboxes itself and never runs /pause: any file will do.
    echo "krill never executes this" >"$RUN/pause"
    push krill/pause:1 -e /pause "/pause=$RUN/pause"
    ENDPOINT=unix://$RUN/containerd.sock
    PATH="$REPO/dist/bin:$PATH" KRILL_RUN_DIR="$RUN/krill-run" KRILL_CACHE_DIR="$RUN/krill-cache" KRILL_IDLE_TIMEOUT=1 \
        "$bin/containerd" --config "$RUN/config.toml" >"$OUT/$1.daemon.log" 2>&1 &
    PIDS+=($!)
    wait_for $! "containerd $v" "$OUT/$1.daemon.log" "$CRICTL" --runtime-endpoint "$ENDPOINT" info
    HANDLER=(--runtime-handler krill)
}

run_target() {
    local t=$1 rc=0 args
    RUN=$(mktemp -d /tmp/krill-critest-XXXXXX)
    start_registry
    case $t in
        krill-cri) start_krill_cri "$t" ;;
        containerd-1.7 | containerd-2.1) start_containerd "$t" "${t#containerd-}" ;;
        *) die "unknown target $t (krill-cri, containerd-1.7, containerd-2.1)" ;;
    esac
    args=(--runtime-endpoint "$ENDPOINT" --image-endpoint "$ENDPOINT" "${HANDLER[@]}"
        --ginkgo.no-color --ginkgo.junit-report "$OUT/$t.xml")
    [ -n "${CRITEST_FOCUS:-}" ] && args+=(--ginkgo.focus "$CRITEST_FOCUS")
    [ -n "${CRITEST_SKIP:-}" ] && args+=(--ginkgo.skip "$CRITEST_SKIP")
    # shellcheck disable=SC2206
    [ -n "${CRITEST_ARGS:-}" ] && args+=($CRITEST_ARGS)
    log "$t: critest $VERSION (log: $OUT/$t.log)"
    local start=$SECONDS
    (cd "$RUN" && "$CRITEST" "${args[@]}") >"$OUT/$t.log" 2>&1 || rc=$?
    log "$t: critest exited $rc after $((SECONDS - start)) s"
    [ -s "$OUT/$t.xml" ] || die "$t: critest wrote no report (log: $OUT/$t.log)"
    # A failed spec may leave its pod: remove every pod (network namespace, CNI) before the runtime stops.
    "$CRICTL" --runtime-endpoint "$ENDPOINT" rmp --all --force >/dev/null 2>&1 \
        || log "$t: crictl rmp --all --force failed"
    cleanup
    RUN=""
}

run() {
    [ -x "$CRITEST" ] || die "no $CRITEST: run scripts/critest.sh build"
    [ "$(id -u)" = 0 ] || die "must run as root (CNI, network namespaces, containerd)"
    rm -rf "$OUT" && mkdir -p "$OUT"
    for t in $TARGETS; do run_target "$t"; done
    python3 "$REPO/scripts/critest/summary.py" --version "$VERSION" --expected-dir "$REPO/scripts/critest" \
        --out "$OUT/summary.md" $(for t in $TARGETS; do echo "$t=$OUT/$t.xml"; done)
}

case ${1:-all} in
    build) build ;;
    run) run ;;
    all) build && run ;;
    *) die "usage: $0 [build|run|all]" ;;
esac
