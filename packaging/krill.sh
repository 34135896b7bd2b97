#!/bin/sh
# The krill command. Finds its release tree from its own location (following the /usr/local/bin
# link `krill install` makes) and runs the CLI on the bundled Java runtime, as the shim launcher
# does: $KRILL_JAVA, else <home>/jre/bin/java, else $JAVA_HOME/bin/java, else java on PATH.
# Every command, `cri` included, is a command of the one CLI (io.krill.cli.Main), so `krill help`
# lists them all and `--help` works everywhere; only the JVM flags differ for the long-lived ones.
set -eu
self=$(readlink -f "$0")
home=$(dirname "$(dirname "$self")")
wants_help() {
    for a in "$@"; do
        case "$a" in -h|--help) return 0 ;; esac
    done
    return 1
}
# The daemon is started by the launcher, in place: the pid a service manager started stays the
# daemon's, and the socket, run dir and java command line are the ones containerd's `start` uses.
# (`krill daemon --help` is the CLI's.)
if [ "${1:-}" = daemon ] && ! wants_help "$@"; then
    exec "$home/bin/containerd-shim-krill-v1" "$@"
fi
if [ -n "${KRILL_JAVA:-}" ]; then
    java=$KRILL_JAVA
elif [ -x "$home/jre/bin/java" ]; then
    java=$home/jre/bin/java
elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    java=$JAVA_HOME/bin/java
else
    java=java
fi
# lib/: the daemons' jars; lib/cri: what `krill cri` adds; lib/cli: what the CLI adds (picocli). Each
# directory's jars by name, in byte order: the AOT cache of `krill cri` serves the class path it was
# made with (scripts/dist.sh), and java's own lib/* follows the directory's order.
jars() {
    for d in "$@"; do
        (cd "$d" 2>/dev/null && LC_ALL=C ls -- *.jar 2>/dev/null | sed "s|^|$d/|")
    done | paste -sd: -
}
cp=$(jars "$home/lib" "$home/lib/cli" "$home/lib/cri")
# The CRI daemon is long-lived and runs guests in-process: default GC and JIT. With the bundled java,
# the release's AOT cache of its start (lib/cri.aot, made by scripts/dist.sh). A JVM crash report
# goes to krill's run dir (beside its socket), never to the working directory (/ under systemd).
# KRILL_JAVA_OPTS come after krill's flags, as for the shim daemon.
if [ "${1:-}" = cri ] && ! wants_help "$@"; then
    aot=""
    if [ "$java" = "$home/jre/bin/java" ] && [ -f "$home/lib/cri.aot" ]; then
        aot="-XX:AOTCache=$home/lib/cri.aot"
    fi
    # shellcheck disable=SC2086
    exec "$java" ${aot:+"$aot"} -XX:ErrorFile="${KRILL_RUN_DIR:-/run/krill}/hs_err_pid%p.log" ${KRILL_JAVA_OPTS:-} \
        -Dkrill.home="$home" -Djava.library.path="$home/lib/native" -cp "$cp" io.krill.cli.Main "$@"
fi
# Serial GC and no JIT tiers beyond C1: the CLI lives for a second and should not cost a node more.
exec "$java" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Dkrill.home="$home" -Djava.library.path="$home/lib/native" -cp "$cp" io.krill.cli.Main "$@"
