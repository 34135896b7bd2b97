#!/bin/sh
# Installs what the end-to-end tests and benchmarks need on a fresh Debian 12 (run as root).
# Idempotent: when everything is present it only checks and prints a summary.
#
# containerd 1.6 comes from Debian 12 itself; 1.7 and 2.1 are taken from Debian's newer suites and
# unpacked privately (never installed system-wide) so that all three can run side by side.
set -eu

CACHE="${KRILL_IT_CACHE:-$HOME/.cache/krill-it}"
# containernetworking-plugins, iptables, docker-registry and skopeo: the CRI tests (pod network, port mappings,
# local registry, image push). clang-format: `make native-test` checks the launcher's C against native/.clang-format.
PKGS="containerd wabt clang lld wasi-libc libclang-rt-14-dev-wasm32 libc6-dev gcc make python3 hyperfine util-linux
      containernetworking-plugins iptables docker-registry skopeo iproute2 zip binutils clang-format"

die() { echo "install-deps: $*" >&2; exit 1; }
# shellcheck source=scripts/lib/debian-suite.sh
. "$(dirname "$0")/lib/debian-suite.sh"
[ "$(id -u)" = 0 ] || die "must run as root"

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

missing=""
for p in $PKGS; do
    installed "$p" || missing="$missing $p"
done

if [ -n "$missing" ]; then
    echo "install-deps: installing:$missing"
    # The containerd package may start a system daemon; tests must never share one, so we stop
    # only a daemon that appeared during our own install.
    before=$(pgrep -x containerd || true)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
    after=$(pgrep -x containerd || true)
    for pid in $after; do
        case " $(echo $before) " in
            *" $pid "*) ;;
            *)
                echo "install-deps: stopping containerd pid $pid started by the package install"
                if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q containerd 2>/dev/null; then
                    systemctl stop containerd || true
                fi
                kill "$pid" 2>/dev/null || true
                i=0
                while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
                kill -9 "$pid" 2>/dev/null || true
                ;;
        esac
    done
fi

# kubectl: the CRI streaming tests drive exec and attach with it (client-go's remote command client, as in
# crictl). Any kubectl will do; Debian's kubernetes-client when the machine has none.
if ! command -v kubectl >/dev/null 2>&1; then
    echo "install-deps: installing kubernetes-client (kubectl)"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends kubernetes-client
fi

# fetch_containerd NAME SUITE: unpacks Debian's containerd of SUITE into $CACHE/NAME/root.
fetch_containerd() {
    name=$1 suite=$2 dest="$CACHE/$1"
    if [ -x "$dest/root/usr/bin/containerd" ] && [ -x "$dest/root/usr/bin/ctr" ]; then
        return 0
    fi
    echo "install-deps: fetching containerd from $suite into $dest"
    d=$(mktemp -d)
    debian_suite_download "$suite" "$d" containerd
    deb=$(ls "$d"/containerd_*.deb 2>/dev/null | head -n1)
    [ -n "$deb" ] || { rm -rf "$d"; die "no containerd package downloaded from $suite"; }
    rm -rf "$dest.tmp"
    mkdir -p "$dest.tmp"
    dpkg-deb -x "$deb" "$dest.tmp/root"
    [ -x "$dest.tmp/root/usr/bin/containerd" ] && [ -x "$dest.tmp/root/usr/bin/ctr" ] \
        || { rm -rf "$d" "$dest.tmp"; die "package from $suite has no containerd/ctr"; }
    # Rename last so an interrupted run never leaves a half-unpacked tree that looks cached.
    rm -rf "$dest"
    mv "$dest.tmp" "$dest"
    rm -rf "$d"
}

mkdir -p "$CACHE"
fetch_containerd containerd-1.7 trixie
fetch_containerd containerd-2.1 sid

version_of() { "$1" --version 2>/dev/null | awk '{print $3}'; }
v16=$(version_of /usr/bin/containerd)
v17=$(version_of "$CACHE/containerd-1.7/root/usr/bin/containerd")
v21=$(version_of "$CACHE/containerd-2.1/root/usr/bin/containerd")
case "$v16" in 1.6.*) ;; *) die "system containerd is '$v16', expected 1.6.x" ;; esac
case "$v17" in 1.7.*) ;; *) die "cached containerd-1.7 is '$v17', expected 1.7.x (delete $CACHE/containerd-1.7 to refetch)" ;; esac
case "$v21" in 2.*) ;; *) die "cached containerd-2.1 is '$v21', expected 2.x (delete $CACHE/containerd-2.1 to refetch)" ;; esac
[ "${v21#2.1.}" != "$v21" ] || echo "install-deps: note: sid now serves containerd $v21 (wanted 2.1.x)" >&2

# The release's Java runtime and its AOT cache come from a JDK 25 or newer (scripts/dist.sh); this kind of
# machine has Temurin's under /usr/lib/jvm. None is fetched here: without one, make dist ships a Java 17
# runtime without the cache, and InstallE2ETest says the release has no lib/daemon.aot.
jdk25=""
for d in /usr/lib/jvm/*; do
    m=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$d/release" 2>/dev/null | head -n1)
    [ -n "$m" ] && [ "$m" -ge 25 ] && [ -x "$d/bin/jlink" ] && jdk25=$d
done
[ -n "$jdk25" ] || echo "install-deps: warning: no JDK 25 or newer under /usr/lib/jvm: make dist will ship no AOT cache (set KRILL_RUNTIME_JDK)" >&2

echo "install-deps: ok: containerd $v16 (system), $v17 and $v21 (in $CACHE); $(wat2wasm --version) wabt, $(clang --version | head -n1), $(clang-format --version), release runtime from ${jdk25:-the build JDK}"
