#!/usr/bin/env bash
# krill benchmarks: krill (wasm, io.containerd.krill.v1) next to runc (native, io.containerd.runc.v2),
# both under one private containerd 1.6 in the same run.
#
#   make bench                    (installs deps, builds dist/, the release and the test programs, then runs this)
#   bash scripts/bench.sh [--quick] [--pods-only] [--throughput-only] [--cold-only] [--engines-only]
#                         [--pure-java-only] [--http-only] [--modules-only] [--scale-only] [--out DIR]
#
#   a. `ctr run --rm` latency of a hello world: static native binary via runc vs hello.wasm via krill
#   b. the native launcher's `start` with a warm daemon (what containerd execs for every krill task)
#   c. memory with N sleeping containers (krill daemon RSS vs runc shims + container processes)
#   d. CPU-bound program: cpu-native via runc vs cpu.wasm via krill
#   e. cold vs warm start of a multi-MB module (Wasmtime compile vs its disk cache), krill only
#   f. CPU limits: two spinning guests limited to 100m and 500m, CPU share of each over 10 s, krill only
#   g. pods through CRI: cold pod start and memory per pod, runc vs krill vs krill-isolated
#   h. cold start: hello with no krill daemon running (JVM start included) vs runc; `krill cri` to serving
#   i. krill on the pure-Java engine (Chicory): hello and cpu; host-call cost: 200,000 one-byte writes (within the Wasmtime call budget), three ways
#   j. the pure-Java engines outside krill, each on its own WASI: Chicory vs GraalWasm (bench/pure-java-engines)
#   k. HTTP: one C server natively under runc vs as a krill listening guest, and krill's instance per request (WAGI),
#      on Wasmtime and Chicory, wrk at 1/16/64 connections; a fresh instance's cost per request (median, p99) and
#      the daemon's memory per request in flight (1/16/64 held at once), on both engines
#   l. compiled modules shared by a daemon's tasks: warm start of the big module vs hello; memory of 100 replicas
#   m. scale: threads, memory and kill + delete time with 1,000 sleeping containers, krill vs runc
#   t. lifecycle throughput: 4 and 16 parallel clients looping hello cycles, through ctr and through CRI
#
# krill runs from the release tree `make dist` stages (its bundled Java runtime and AOT cache), or the
# one KRILL_HOME names, or from dist/ if there is none. Writes docs/benchmarks.md and
# docs/benchmarks.png (or DIR/...). --quick: fewer runs, N = 0,20, for development; its numbers are
# not meant to be published. --pods-only: only g, replacing its section in an existing benchmarks.md.
# --throughput-only: only t, replacing its section in an existing benchmarks.md and redrawing benchmarks.png
# (its other plots from that benchmarks.md's numbers).
# --cold-only: only h, printed, nothing written. --engines-only: only i, printed, nothing written.
# --pure-java-only: only j, --http-only: only k, each replacing its section in an existing benchmarks.md.
# --modules-only: only l, replacing its section in an existing benchmarks.md.
# --scale-only: only m (SCALE_N krill containers, default 1000; SCALE_RUNC_N runc ones), replacing its
# section in an existing benchmarks.md.
# g, j, k's fresh-instance rows and t's CRI half run through Maven ($MVN, default `mvn -B -q`).
# Needs root. Everything it starts is stopped and removed on exit, also on failure.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONTAINERD=${CONTAINERD:-/usr/bin/containerd}
CTR_BIN=${CTR:-/usr/bin/ctr}
VERSION=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' "$REPO/pom.xml" | head -n1)
KRILL_HOME=${KRILL_HOME:-$REPO/target/dist-stage/krill-$VERSION}   # what make dist packs, or a tree you name
# c. runs 500 sleeping containers in one daemon: with the default 256 MiB cap each, its memory budget
# would refuse them long before (as it should on a node); a sleeper needs one page.
export KRILL_DEFAULT_MEMORY_LIMIT=${KRILL_DEFAULT_MEMORY_LIMIT:-32Mi}
[ -x "$KRILL_HOME/bin/containerd-shim-krill-v1" ] || KRILL_HOME=$REPO/dist
SHIM=$KRILL_HOME/bin/containerd-shim-krill-v1
PROGS=$REPO/integration-tests/target/testprogs
OUT_DIR=$REPO/docs
NS=krill-bench
KRILL=io.containerd.krill.v1
RUNC=io.containerd.runc.v2
PAR=8               # parallel `ctr run -d` / cleanup workers
BUDGET=${BENCH_BUDGET:-840}   # seconds; optional steps are skipped if they would not fit

QUICK=0 PODS_ONLY=0 COLD_ONLY=0 ENGINES_ONLY=0 PURE_JAVA_ONLY=0 HTTP_ONLY=0 MODULES_ONLY=0 SCALE_ONLY=0
THROUGHPUT_ONLY=0
MVN=${MVN:-mvn -B -q}
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1; shift ;;
        --cold-only) COLD_ONLY=1; shift ;;
        --out) OUT_DIR=$2; shift 2 ;;
        --pods-only) PODS_ONLY=1; shift ;;
        --throughput-only) THROUGHPUT_ONLY=1; shift ;;
        --engines-only) ENGINES_ONLY=1; shift ;;
        --pure-java-only) PURE_JAVA_ONLY=1; shift ;;
        --http-only) HTTP_ONLY=1; shift ;;
        --modules-only) MODULES_ONLY=1; shift ;;
        --scale-only) SCALE_ONLY=1; shift ;;
        --throughput-only) THROUGHPUT_ONLY=1; shift ;;
        -h|--help) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ $QUICK = 1 ]; then
    WARMUP=1 RUNS=5 START_RUNS=30 CPU_RUNS=2 MEM_N=(20) POD_RUNS=3 POD_N=2 COLD_RUNS=5 WRITES=100000 WRITE_RUNS=1
    JHELLO_RUNS=20 HTTP_SECONDS=3 MODULE_REPLICAS=20 HTTP_INST_WARMUP=200 HTTP_INST_RUNS=1000 HTTP_HOLD_MS=3000
    SCALE_N=${SCALE_N:-200} SCALE_RUNC_N=${SCALE_RUNC_N:-50}
    TP_SECONDS=5
else
    WARMUP=3 RUNS=25 START_RUNS=200 CPU_RUNS=5 MEM_N=(100 500) POD_RUNS=10 POD_N=10 COLD_RUNS=15 WRITES=200000 WRITE_RUNS=3
    JHELLO_RUNS=200 HTTP_SECONDS=10 MODULE_REPLICAS=100 HTTP_INST_WARMUP=2000 HTTP_INST_RUNS=10000 HTTP_HOLD_MS=4000
    SCALE_N=${SCALE_N:-1000} SCALE_RUNC_N=${SCALE_RUNC_N:-500}
    TP_SECONDS=30
fi

if [ -t 1 ]; then B=$'\e[1m' N=$'\e[0m'; else B="" N=""; fi
section() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
die() { echo "bench: $*" >&2; exit 1; }
# shellcheck source=lib/private-containerd.sh
. "$REPO/scripts/lib/private-containerd.sh"
# shellcheck source=lib/bench-cold-warm.sh
. "$REPO/scripts/lib/bench-cold-warm.sh"
# shellcheck source=lib/bench-cpu-limits.sh
. "$REPO/scripts/lib/bench-cpu-limits.sh"
# shellcheck source=lib/bench-pods.sh
. "$REPO/scripts/lib/bench-pods.sh"
# shellcheck source=lib/bench-cold-start.sh
. "$REPO/scripts/lib/bench-cold-start.sh"
# shellcheck source=lib/bench-engines.sh
. "$REPO/scripts/lib/bench-engines.sh"
# shellcheck source=lib/bench-pure-java.sh
. "$REPO/scripts/lib/bench-pure-java.sh"
# shellcheck source=lib/bench-http.sh
. "$REPO/scripts/lib/bench-http.sh"
# shellcheck source=lib/bench-http-instance.sh
. "$REPO/scripts/lib/bench-http-instance.sh"
# shellcheck source=lib/bench-modules.sh
. "$REPO/scripts/lib/bench-modules.sh"
# shellcheck source=lib/bench-scale.sh
. "$REPO/scripts/lib/bench-scale.sh"
# shellcheck source=lib/bench-throughput.sh
. "$REPO/scripts/lib/bench-throughput.sh"
# shellcheck source=lib/bench-plot.sh
. "$REPO/scripts/lib/bench-plot.sh"
note() { printf '%s\n' "$*"; }

[ "$(id -u)" = 0 ] || die "must run as root"
[ -x "$SHIM" ] || die "dist/ not built: run 'make build' first"
[ -x "$CONTAINERD" ] && [ -x "$CTR_BIN" ] || die "containerd/ctr not found: run 'make deps'"
command -v hyperfine >/dev/null || die "hyperfine not found: run 'make deps'"
command -v runc >/dev/null || die "runc not found: run 'make deps'"
if ! command -v gnuplot >/dev/null; then
    echo "bench: installing gnuplot-nox for the plot"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null; } \
        || die "cannot install gnuplot-nox"
fi
make -s -C "$REPO/integration-tests" >/dev/null || die "cannot build the test programs (make -C integration-tests)"
for f in hello.wasm hello-native sleep.wasm sleep-native cpu.wasm cpu-native writes.wasm writes-native; do
    [ -f "$PROGS/$f" ] || die "missing $PROGS/$f"
done

T=$(mktemp -d /tmp/krill-bench.XXXXXX)
SOCK=$T/c.sock
CPID="" DAEMON_SOCK=""
ctr() { "$CTR_BIN" -a "$SOCK" -n "$NS" "$@"; }

# ---------------------------------------------------------------------------------------------------
# process helpers

cmdline() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline"; }
# The krill daemon of our containerd: its run dir lives in our temp dir.
daemon_pids() {
    local p c
    for p in /proc/[0-9]*; do
        c=$(cmdline "${p#/proc/}") || continue
        [[ $c == *io.krill.shim.Daemon* && $c == *"-run-dir $T/"* ]] && echo "${p#/proc/}"
    done
    return 0
}
# runc shims spawned by our containerd.
runc_shim_pids() {
    local p c
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = containerd-shim ] || continue
        c=$(cmdline "${p#/proc/}") || continue
        [[ $c == *"-address $SOCK "* ]] && echo "${p#/proc/}"
    done
    return 0
}
rss_kb() { awk '/^VmRSS:/ { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }
pss_kb() { awk '/^Pss:/ { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
sum_kb() { # FN PID... -> sum of FN over the pids
    local fn=$1 s=0 p; shift
    for p in "$@"; do s=$((s + $($fn "$p"))); done
    echo $s
}
now_us() { local t=$EPOCHREALTIME; echo $((10#${t/./})); }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# stats FILE -> "median p90 min max n" (values in the file, one per line; p90 = nearest rank)
stats() {
    sort -g "$1" | awk '{ v[NR] = $1 } END {
        n = NR; if (n == 0) { print "nan nan nan nan 0"; exit }
        med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        r = int(0.9 * n); if (r < 0.9 * n) r++; if (r < 1) r = 1
        printf "%.2f %.2f %.2f %.2f %d\n", med, v[r], v[1], v[n], n }'
}

# ---------------------------------------------------------------------------------------------------
# cleanup: every task/container of our namespace, containerd, the krill daemon, runc shims, mounts, temp dir

remove_all_containers() {
    local ids
    ids=$(ctr tasks ls -q 2>/dev/null || true)
    if [ -n "$ids" ]; then
        printf '%s\n' $ids | xargs -r -P $PAR -n 1 "$CTR_BIN" -a "$SOCK" -n "$NS" tasks kill -s SIGKILL >/dev/null 2>&1 || true
        printf '%s\n' $ids | xargs -r -P $PAR -n 1 "$CTR_BIN" -a "$SOCK" -n "$NS" tasks rm -f >/dev/null 2>&1 || true
    fi
    ids=$(ctr containers ls -q 2>/dev/null || true)
    [ -z "$ids" ] || printf '%s\n' $ids | xargs -r -P $PAR -n 16 "$CTR_BIN" -a "$SOCK" -n "$NS" containers rm >/dev/null 2>&1 || true
}

cleanup() {
    local rc=$? pid i m
    set +e
    trap - EXIT INT TERM
    if [ -n "$CPID" ] && kill -0 "$CPID" 2>/dev/null; then
        remove_all_containers
        kill "$CPID"
        for ((i = 0; i < 100; i++)); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$CPID" 2>/dev/null && kill -9 "$CPID"
    fi
    [ -z "${K_JDK_PID:-}" ] || kill "$K_JDK_PID" 2>/dev/null
    for pid in $(runc_shim_pids); do echo "bench: stopping leftover runc shim $pid" >&2; kill -9 "$pid"; done
    # Our krill daemon exits by itself once idle; with the bench's long idle timeout, stop it.
    for pid in $(daemon_pids); do kill "$pid"; done
    for ((i = 0; i < 50; i++)); do [ -z "$(daemon_pids)" ] && break; sleep 0.1; done
    for pid in $(daemon_pids); do echo "bench: krill daemon $pid ignored SIGTERM, killing" >&2; kill -9 "$pid"; done
    if [ -n "$DAEMON_SOCK" ] && [ -e "$DAEMON_SOCK" ]; then
        echo "bench: krill daemon left its socket $DAEMON_SOCK behind; removing it" >&2
        rm -f "$DAEMON_SOCK"
    fi
    grep -F " $T/" /proc/self/mounts | cut -d' ' -f2 | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
    rmdir /run/containerd/runc/$NS 2>/dev/null
    for m in /sys/fs/cgroup/*/$NS; do [ -d "$m" ] && rmdir "$m" 2>/dev/null; done
    tp_cg_remove
    inflight_cgroups_remove
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------------
section "Machine"
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NPROC=$(nproc)
MEM_TOTAL=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
KERNEL=$(uname -r)
CD_VERSION=$("$CONTAINERD" --version | awk '{ print $3 }')
RUNC_VERSION=$(runc --version | awk 'NR == 1 { print $3 }')
CGROUPS=$([ -f /sys/fs/cgroup/cgroup.controllers ] && echo v2 || echo v1)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
note "date:       $DATE"
note "cpu:        $NPROC x $CPU_MODEL"
note "memory:     $MEM_TOTAL"
note "kernel:     $KERNEL (cgroup $CGROUPS)"
note "containerd: $CD_VERSION, runc $RUNC_VERSION"
note "load avg:   $LOAD_START"
awk -v l="${LOAD_START%% *}" 'BEGIN { exit !(l > 1.0) }' \
    && note "WARNING: the machine is busy (1-min load ${LOAD_START%% *}); other work skews the latency numbers"
[ $QUICK = 1 ] && note "mode:       --quick (development numbers only)"

if [ $PODS_ONLY = 1 ]; then
    section "g. pods through CRI: runc vs krill vs krill-isolated"
    bench_pods $POD_RUNS $POD_N
    splice_pods_section "$OUT_DIR/benchmarks.md"
    note "replaced the pods section of $OUT_DIR/benchmarks.md"
    exit 0
fi
if [ $PURE_JAVA_ONLY = 1 ]; then
    section "j. the pure-Java engines: Chicory vs GraalWasm"
    bench_pure_java $JHELLO_RUNS $CPU_RUNS
    splice_pure_java_section "$OUT_DIR/benchmarks.md"
    note "replaced the pure-Java engines section of $OUT_DIR/benchmarks.md"
    exit 0
fi

section "Private containerd"
# The daemon's engine comes from a config file the bench owns (i. rewrites it to switch engines); a KRILL_CONFIG
# of the caller is copied into it, and KRILL_ENGINE (which would win over the file) is not passed on.
USER_KRILL_CONFIG=${KRILL_CONFIG:-}
[ -z "$USER_KRILL_CONFIG" ] || [ -f "$USER_KRILL_CONFIG" ] || die "KRILL_CONFIG names a missing file: $USER_KRILL_CONFIG"
[ -z "${KRILL_ENGINE:-}" ] || note "KRILL_ENGINE=$KRILL_ENGINE ignored: the bench picks the engine of each row"
unset KRILL_ENGINE
ENGINE_CONF=$T/krill-config.toml
set_engine wasmtime
KRILL_CONFIG=$ENGINE_CONF start_private_containerd "$T" "$SOCK" 60 "$CONTAINERD" "$CTR_BIN" "$KRILL_HOME/bin"
note "containerd pid $CPID, socket $SOCK, namespace $NS, KRILL_IDLE_TIMEOUT=60, krill from $KRILL_HOME"

img() { # NAME OUT.tar ENTRYPOINT... -- FILES...
    local name=$1 out=$2 ep=() ; shift 2
    while [ "$1" != -- ]; do ep+=(-e "$1"); shift; done; shift
    bash "$REPO/scripts/oci-image.sh" -n "$name" -o "$out" "${ep[@]}" --platform linux/amd64 "$@" 2>/dev/null
    ctr images import "$out" >/dev/null
}
img bench/hello-native "$T/i1.tar" /hello -- "/hello=$PROGS/hello-native"
img bench/hello-wasm "$T/i2.tar" /hello.wasm -- "/hello.wasm=$PROGS/hello.wasm"
img bench/sleep-native "$T/i3.tar" /sleep 3600 -- "/sleep=$PROGS/sleep-native"
img bench/sleep-wasm "$T/i4.tar" /sleep.wasm 3600 -- "/sleep.wasm=$PROGS/sleep.wasm"
img bench/cpu-native "$T/i5.tar" /cpu -- "/cpu=$PROGS/cpu-native"
img bench/cpu-wasm "$T/i6.tar" /cpu.wasm -- "/cpu.wasm=$PROGS/cpu.wasm"
img bench/writes-native "$T/i7.tar" /writes -- "/writes=$PROGS/writes-native"
img bench/writes-wasm "$T/i8.tar" /writes.wasm -- "/writes.wasm=$PROGS/writes.wasm"
I_WRITES_N=docker.io/bench/writes-native:latest I_WRITES_W=docker.io/bench/writes-wasm:latest
I_HELLO_N=docker.io/bench/hello-native:latest I_HELLO_W=docker.io/bench/hello-wasm:latest
I_SLEEP_N=docker.io/bench/sleep-native:latest I_SLEEP_W=docker.io/bench/sleep-wasm:latest
I_CPU_N=docker.io/bench/cpu-native:latest I_CPU_W=docker.io/bench/cpu-wasm:latest
ctr images ls -q | sed 's/^/imported /'

# run_once RUNTIME IMAGE ID EXPECTED -> prints the wall time in ms; fails loudly on a wrong output
run_once() {
    local t0 t1 out rc
    t0=$(now_us)
    set +e
    out=$(ctr run --rm --runtime "$1" "$2" "$3" 2>&1)
    rc=$?
    set -e
    t1=$(now_us)
    if [ $rc -ne 0 ] || [ "$out" != "$4" ]; then
        echo "bench: ctr run --rm --runtime $1 $2 $3: exit code $rc, output:" >&2
        printf '%s\n' "$out" | head -20 >&2
        tail -n 20 "$T/containerd.log" >&2
        return 1
    fi
    awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1000 }'
}

# ---------------------------------------------------------------------------------------------------
HELLO_OUT="hello from krill"
CPU_OUT=$("$PROGS/cpu-native")
if [ $HTTP_ONLY = 1 ]; then
    section "k. HTTP: native server under runc vs krill listening guests"
    bench_http $HTTP_SECONDS
    splice_http_section "$OUT_DIR/benchmarks.md"
    note "replaced the HTTP section of $OUT_DIR/benchmarks.md"
    exit 0
fi
if [ $SCALE_ONLY = 1 ]; then
    section "m. scale: $SCALE_N sleeping krill containers (runc: $SCALE_RUNC_N)"
    bench_scale "$SCALE_N" "$SCALE_RUNC_N"
    splice_scale_section "$OUT_DIR/benchmarks.md"
    note "replaced the scale section of $OUT_DIR/benchmarks.md"
    exit 0
fi
if [ $THROUGHPUT_ONLY = 1 ]; then
    section "t. lifecycle throughput: ${TP_CLIENTS[*]} parallel clients, ${TP_SECONDS} s each, ctr and CRI"
    [ -f "$OUT_DIR/benchmarks.md" ] || die "$OUT_DIR/benchmarks.md does not exist: run the whole bench first"
    bench_throughput "$TP_SECONDS"
    cat "$T/throughput-section.md"
    splice_throughput_section "$OUT_DIR/benchmarks.md"
    bench_plot "$(plot_data_from_md "$OUT_DIR/benchmarks.md")"
    cp "$T/benchmarks.png" "$OUT_DIR/benchmarks.png"
    note "replaced the throughput section of $OUT_DIR/benchmarks.md and redrew $OUT_DIR/benchmarks.png"
    exit 0
fi
if [ $ENGINES_ONLY = 1 ]; then
    section "i. krill on Chicory (pure Java) and the cost of a WASI host call"
    bench_engines $RUNS $CPU_RUNS $WRITES $WRITE_RUNS
    note "--engines-only: nothing written"
    exit 0
fi
if [ $MODULES_ONLY = 1 ]; then
    section "l. compiled modules shared by a daemon's tasks"
    bench_modules 4000 $RUNS $MODULE_REPLICAS
    modules_section
    splice_modules_section "$OUT_DIR/benchmarks.md"
    note "replaced the compiled-modules section of $OUT_DIR/benchmarks.md"
    exit 0
fi
if [ $COLD_ONLY = 0 ]; then
section "a. ctr run --rm latency: hello (runc, static native) vs hello.wasm (krill)"
for ((i = 1; i <= WARMUP; i++)); do
    a=$(run_once $RUNC $I_HELLO_N warm-n$i "$HELLO_OUT")
    b=$(run_once $KRILL $I_HELLO_W warm-w$i "$HELLO_OUT")
    note "warm-up $i: runc $a ms, krill $b ms"
    [ $i = 1 ] && A_KRILL_COLD=$b
done
DAEMON=$(daemon_pids | head -1)
[ -n "$DAEMON" ] || die "no krill daemon after the warm-up runs"
DAEMON_SOCK=$(cmdline "$DAEMON" | sed -n 's/.*-socket \([^ ]*\).*/\1/p')
JAVA_EXE=$(readlink "/proc/$DAEMON/exe")
JAVA_VERSION=$("$JAVA_EXE" -version 2>&1 | head -1)
note "krill daemon pid $DAEMON ($JAVA_VERSION)"
: >"$T/a-runc" ; : >"$T/a-krill"
for ((i = 1; i <= RUNS; i++)); do   # interleaved, so drift hits both runtimes alike
    a=$(run_once $RUNC $I_HELLO_N hn$i "$HELLO_OUT"); echo "$a" >>"$T/a-runc"
    b=$(run_once $KRILL $I_HELLO_W hw$i "$HELLO_OUT"); echo "$b" >>"$T/a-krill"
    note "run $i: runc $a ms, krill $b ms"
done
read -r A_RUNC_MED A_RUNC_P90 A_RUNC_MIN A_RUNC_MAX _ < <(stats "$T/a-runc")
read -r A_KRILL_MED A_KRILL_P90 A_KRILL_MIN A_KRILL_MAX _ < <(stats "$T/a-krill")
A_RATIO=$(awk -v k=$A_KRILL_MED -v r=$A_RUNC_MED 'BEGIN { printf "%.2f", k / r }')
note "runc:  median $A_RUNC_MED ms, p90 $A_RUNC_P90 ms (min $A_RUNC_MIN, max $A_RUNC_MAX, n=$RUNS)"
note "krill: median $A_KRILL_MED ms, p90 $A_KRILL_P90 ms (min $A_KRILL_MIN, max $A_KRILL_MAX, n=$RUNS)"
note "krill/runc median ratio: $A_RATIO (target <= 0.5)"
[ "$(daemon_pids | head -1)" = "$DAEMON" ] || die "the krill daemon changed during the latency runs"
# The part neither runtime can avoid, at its smallest: starting ctr and one round trip to containerd.
: >"$T/a-ctr"
for ((i = 1; i <= 10; i++)); do
    t0=$(now_us); ctr version >/dev/null; t1=$(now_us)
    awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f\n", d / 1000 }' >>"$T/a-ctr"
done
read -r A_CTR_MED _ < <(stats "$T/a-ctr")
note "floor: \`ctr version\` (ctr process start + one RPC) median $A_CTR_MED ms"

# ---------------------------------------------------------------------------------------------------
section "b. launcher start with a warm daemon (${START_RUNS} runs)"
mkdir -p "$T/bundle"
start_cmd="$SHIM -namespace $NS -address $SOCK -publish-binary $CONTAINERD -id bench-start start"
got=$(cd "$T/bundle" && KRILL_RUN_DIR="$T/krill-run" $start_cmd </dev/null)
[ "$got" = "unix://$DAEMON_SOCK" ] || die "launcher start printed '$got', expected unix://$DAEMON_SOCK"
note "start prints $got (the running daemon's socket)"
(cd "$T/bundle" && KRILL_RUN_DIR="$T/krill-run" hyperfine -N --style basic --warmup 10 --runs "$START_RUNS" \
    --export-json "$T/b.json" "$start_cmd" >"$T/b.txt" 2>&1) || { cat "$T/b.txt"; die "hyperfine failed"; }
grep -E 'Time|Range' "$T/b.txt" | sed 's/^ *//'
python3 -c 'import json,sys; [print(t*1000) for t in json.load(open(sys.argv[1]))["results"][0]["times"]]' \
    "$T/b.json" >"$T/b-times"
read -r B_MED B_P90 B_MIN B_MAX _ < <(stats "$T/b-times")
note "launcher start: median $B_MED ms, p90 $B_P90 ms (target median <= 5 ms)"
[ "$(daemon_pids | head -1)" = "$DAEMON" ] || die "the launcher replaced the warm daemon"

# ---------------------------------------------------------------------------------------------------
section "c. memory with N sleeping containers"
# start_sleepers RUNTIME IMAGE PREFIX FROM TO: `ctr run -d` in parallel batches
start_sleepers() {
    local rt=$1 image=$2 prefix=$3 from=$4 to=$5 t0 running
    t0=$SECONDS
    seq "$from" "$to" | xargs -P $PAR -I{} "$CTR_BIN" -a "$SOCK" -n "$NS" run -d --null-io --runtime "$rt" \
        "$image" "$prefix{}" >"$T/xargs.log" 2>&1 || { tail "$T/xargs.log" >&2; die "ctr run -d failed"; }
    running=$(ctr tasks ls | awk -v p="^$prefix" '$1 ~ p && $3 == "RUNNING"' | wc -l)
    [ "$running" -eq "$to" ] || die "$running of $to $prefix containers are running"
    note "started $prefix$from..$prefix$to ($rt) in $((SECONDS - t0)) s; $running running"
}
settle() { sleep 3; }

declare -A K_RSS K_PSS K_THR R_RSS R_PSS
threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }
# krill: the daemon holds every guest; RSS(0) is the warm daemon with no task.
[ -z "$(ctr tasks ls -q)" ] || die "tasks left before the memory test"
[ "$(daemon_pids | head -1)" = "$DAEMON" ] || die "the krill daemon is gone before the memory test"
K_RSS[0]=$(rss_kb "$DAEMON"); K_PSS[0]=$(pss_kb "$DAEMON"); K_THR[0]=$(threads "$DAEMON")
note "krill N=0: daemon RSS $(mib ${K_RSS[0]}) MiB (PSS $(mib ${K_PSS[0]}) MiB), threads ${K_THR[0]}"
prev=0
for n in "${MEM_N[@]}"; do
    start_sleepers $KRILL $I_SLEEP_W ks $((prev + 1)) "$n"
    settle
    [ "$(daemon_pids | head -1)" = "$DAEMON" ] || die "the krill daemon changed during the memory test"
    K_RSS[$n]=$(rss_kb "$DAEMON"); K_PSS[$n]=$(pss_kb "$DAEMON"); K_THR[$n]=$(threads "$DAEMON")
    note "krill N=$n: daemon RSS $(mib ${K_RSS[$n]}) MiB (PSS $(mib ${K_PSS[$n]}) MiB), threads ${K_THR[$n]}, +$(awk -v a=${K_RSS[$n]} -v b=${K_RSS[0]} -v n=$n 'BEGIN { printf "%.0f", (a - b) / n }') KiB per container"
    prev=$n
done
t0=$SECONDS
remove_all_containers
[ -z "$(ctr containers ls -q)" ] || die "krill containers left after cleanup"
K_KILL_S=$((SECONDS - t0))
note "killed and removed ${MEM_N[-1]} krill containers in ${K_KILL_S} s"

# runc: one shim per container plus the container's process.
runc_mem() { # -> "RSS_KB PSS_KB NPROC"
    local pids
    pids="$(runc_shim_pids) $(ctr tasks ls | awk 'NR > 1 { print $2 }')"
    # shellcheck disable=SC2086
    echo "$(sum_kb rss_kb $pids) $(sum_kb pss_kb $pids) $(echo $pids | wc -w)"
}
R_RSS[0]=0; R_PSS[0]=0
note "runc N=0: no process (0 MiB)"
prev=0 R_MEM_N=()
for n in "${MEM_N[@]}"; do
    if [ $prev -gt 0 ]; then
        # Only if the extra containers (and their removal) fit in the time budget.
        est=$(((SECONDS - R_T0) * (n - prev) / prev * 2 + 60))
        if [ $((SECONDS + est)) -gt "$BUDGET" ]; then
            note "runc N=$n skipped: would take ~${est}s more, over the ${BUDGET}s budget"
            break
        fi
    else
        R_T0=$SECONDS
    fi
    start_sleepers $RUNC $I_SLEEP_N rs $((prev + 1)) "$n"
    settle
    read -r R_RSS[$n] R_PSS[$n] np < <(runc_mem)
    note "runc N=$n: $np processes, RSS sum $(mib ${R_RSS[$n]}) MiB (PSS sum $(mib ${R_PSS[$n]}) MiB), $(awk -v a=${R_RSS[$n]} -v n=$n 'BEGIN { printf "%.0f", a / n }') KiB RSS per container"
    R_MEM_N+=("$n")
    prev=$n
done
t0=$SECONDS
remove_all_containers
[ -z "$(ctr containers ls -q)" ] || die "runc containers left after cleanup"
note "killed and removed $prev runc containers in $((SECONDS - t0)) s"
for ((i = 0; i < 50; i++)); do [ -z "$(runc_shim_pids)" ] && break; sleep 0.1; done
[ -z "$(runc_shim_pids)" ] || die "runc shims left after removing their containers: $(runc_shim_pids)"

# ---------------------------------------------------------------------------------------------------
section "d. CPU: cpu-native (runc) vs cpu.wasm (krill), ctr run --rm wall time"
: >"$T/d-host"
for ((i = 1; i <= 3; i++)); do
    t0=$(now_us); "$PROGS/cpu-native" >/dev/null; t1=$(now_us)
    awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f\n", d / 1000 }' >>"$T/d-host"
done
read -r D_HOST_MED _ < <(stats "$T/d-host")
note "cpu-native directly on the host (no container): median $D_HOST_MED ms"
a=$(run_once $RUNC $I_CPU_N cpu-warm-n "$CPU_OUT"); b=$(run_once $KRILL $I_CPU_W cpu-warm-w "$CPU_OUT")
note "warm-up: runc $a ms, krill $b ms"
: >"$T/d-runc"; : >"$T/d-krill"
for ((i = 1; i <= CPU_RUNS; i++)); do
    a=$(run_once $RUNC $I_CPU_N cn$i "$CPU_OUT"); echo "$a" >>"$T/d-runc"
    b=$(run_once $KRILL $I_CPU_W cw$i "$CPU_OUT"); echo "$b" >>"$T/d-krill"
    note "run $i: runc $a ms, krill $b ms"
done
read -r D_RUNC_MED _ < <(stats "$T/d-runc")
read -r D_KRILL_MED _ < <(stats "$T/d-krill")
D_SPEED=$(awk -v n=$D_RUNC_MED -v w=$D_KRILL_MED 'BEGIN { printf "%.2f", n / w }')
# Subtracting each runtime's hello-world median estimates the pure compute part.
D_SPEED_NET=$(awk -v n=$D_RUNC_MED -v w=$D_KRILL_MED -v hn=$A_RUNC_MED -v hw=$A_KRILL_MED \
    'BEGIN { printf "%.2f", (n - hn) / (w - hw) }')
note "cpu: runc median $D_RUNC_MED ms, krill median $D_KRILL_MED ms -> wasm speed native/wasm = $D_SPEED (target >= 0.85)"
note "cpu minus each runtime's hello median (compute only, estimate): native/wasm = $D_SPEED_NET"

# ---------------------------------------------------------------------------------------------------
section "e. cold vs warm start of a multi-MB module (krill)"
bench_cold_warm 4000 5

# ---------------------------------------------------------------------------------------------------
section "l. compiled modules shared by a daemon's tasks"
bench_modules 4000 $RUNS $MODULE_REPLICAS

# ---------------------------------------------------------------------------------------------------
section "i. krill on Chicory (pure Java) and the cost of a WASI host call"
bench_engines $RUNS $CPU_RUNS $WRITES $WRITE_RUNS
fi

# ---------------------------------------------------------------------------------------------------
section "h. cold start: hello with no krill daemon running ($COLD_RUNS runs each), krill cri to serving"
bench_cold_start "$COLD_RUNS"
[ $COLD_ONLY = 1 ] && { note "--cold-only: nothing written"; exit 0; }

# ---------------------------------------------------------------------------------------------------
section "f. CPU limits: spinning guests limited to 100m and 500m (krill)"
bench_cpu_limits 10

# ---------------------------------------------------------------------------------------------------
section "g. pods through CRI: runc vs krill vs krill-isolated"
bench_pods $POD_RUNS $POD_N

# ---------------------------------------------------------------------------------------------------
section "j. the pure-Java engines: Chicory vs GraalWasm"
bench_pure_java $JHELLO_RUNS $CPU_RUNS

# ---------------------------------------------------------------------------------------------------
section "k. HTTP: native server under runc vs krill listening guests"
bench_http $HTTP_SECONDS

# ---------------------------------------------------------------------------------------------------
section "m. scale: $SCALE_N sleeping krill containers (runc: $SCALE_RUNC_N)"
bench_scale "$SCALE_N" "$SCALE_RUNC_N"

# ---------------------------------------------------------------------------------------------------
section "t. lifecycle throughput: ${TP_CLIENTS[*]} parallel clients, ${TP_SECONDS} s each, ctr and CRI"
bench_throughput "$TP_SECONDS"

# ---------------------------------------------------------------------------------------------------
section "Results"
TOTAL_S=$SECONDS
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
met() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == "le") ? (v <= t) : (v >= t); print ok ? "met" : "missed" }'; }
A_MET=$(met "$A_RATIO" 0.5 le)
B_MET=$(met "$B_MED" 5 le)
LAST_K=${MEM_N[-1]}
K_PER=$(awk -v a=${K_RSS[$LAST_K]} -v b=${K_RSS[0]} -v n=$LAST_K 'BEGIN { printf "%.0f", (a - b) / n }')
K_PER_FIRST=$(awk -v a=${K_RSS[${MEM_N[0]}]} -v b=${K_RSS[0]} -v n=${MEM_N[0]} 'BEGIN { printf "%.0f", (a - b) / n }')
C_MET=$(met "$K_PER" 1024 le)
LAST_R=${R_MEM_N[-1]}
R_PER=$(awk -v a=${R_RSS[$LAST_R]} -v n=$LAST_R 'BEGIN { printf "%.0f", a / n }')
R_PER_PSS=$(awk -v a=${R_PSS[$LAST_R]} -v n=$LAST_R 'BEGIN { printf "%.0f", a / n }')
D_MET=$(met "$D_SPEED" 0.85 ge)
E_MET=$(met "$E_RATIO" 10 ge)
F_LIMIT=$(awk -v r="$F_RUNC_FIRST_MED" 'BEGIN { l = 2 * r; if (l > 250) l = 250; printf "%.2f", l }')
F_MET=$(met "$F_KRILL_FIRST_MED" "$F_LIMIT" le)

mkdir -p "$OUT_DIR"
md=$T/benchmarks.md
{
    echo "# krill benchmarks"
    echo
    echo "Generated by \`scripts/bench.sh\`$([ $QUICK = 1 ] && echo ' --quick (development run: fewer samples, not for publication)') on $DATE in ${TOTAL_S} s."
    # krill's settings from the environment reach the daemon through containerd: say which were set.
    krill_env=$(env | grep -E '^KRILL_(DEFAULT_MEMORY_LIMIT|MEMORY_BUDGET|JAVA_OPTS|CONFIG)=' | sort | sed 's/^/`/; s/$/`/' | paste -sd, - | sed 's/,/, /g')
    [ -z "$krill_env" ] || echo "krill settings from the environment: $krill_env."
    echo "Both runtimes ran side by side under one private containerd, in the same namespace, interleaved run by run"
    echo "(krill on Wasmtime, its default engine; the Chicory rows come from the same containerd after a daemon restart, see i.)."
    echo
    echo "| Machine | |"
    echo "|---|---|"
    echo "| CPU | $NPROC × $CPU_MODEL (\`nproc\` = $NPROC) |"
    echo "| Memory | $MEM_TOTAL |"
    echo "| Kernel | $KERNEL (cgroup $CGROUPS) |"
    echo "| containerd | $CD_VERSION (runc $RUNC_VERSION, \`io.containerd.runc.v2\` shim) |"
    echo "| Java (krill daemon) | $JAVA_VERSION |"
    echo "| Load average (1/5/15 min) | $LOAD_START at the start, $LOAD_END at the end |"
    echo
    echo "![benchmarks](benchmarks.png)"
    echo
    echo "## Results"
    echo
    echo "| Benchmark | runc (native) | krill (wasm) | Target | |"
    echo "|---|---:|---:|---|---|"
    echo "| a. \`ctr run --rm\` hello, median | $A_RUNC_MED ms | $A_KRILL_MED ms | krill ≤ 0.5 × runc | $A_MET (× $A_RATIO) |"
    echo "| a. \`ctr run --rm\` hello, p90 | $A_RUNC_P90 ms | $A_KRILL_P90 ms | | |"
    echo "| a. same, krill on Chicory (pure Java), median (p90) | $A_RUNC_MED ms | $I_CHICORY_HELLO_MED ms ($I_CHICORY_HELLO_P90 ms) | | × $(awk -v k=$I_CHICORY_HELLO_MED -v r=$A_RUNC_MED 'BEGIN { printf "%.2f", k / r }') |"
    echo "| b. launcher \`start\`, warm daemon, median (p90) | – | $B_MED ms ($B_P90 ms) | ≤ 5 ms | $B_MET |"
    for n in 0 "${MEM_N[@]}"; do
        r="–"; [ -n "${R_RSS[$n]:-}" ] && r="$(mib ${R_RSS[$n]}) MiB (PSS $(mib ${R_PSS[$n]}))"
        echo "| c. memory, $n sleeping containers | $r | $(mib ${K_RSS[$n]}) MiB | | |"
    done
    echo "| c. memory per extra sleeping container | $R_PER KiB (PSS $R_PER_PSS KiB), N = $LAST_R | $K_PER KiB, N = $LAST_K | krill ≤ 1 MiB | $C_MET |"
    echo "| d. \`ctr run --rm\` cpu, median of $CPU_RUNS | $D_RUNC_MED ms | $D_KRILL_MED ms | | |"
    echo "| d. wasm speed = native time / wasm time | | $D_SPEED | ≥ 0.85 | $D_MET |"
    echo "| d. \`ctr run --rm\` cpu, krill on Chicory (pure Java), median of $CPU_RUNS | $D_RUNC_MED ms | $I_CHICORY_CPU_MED ms | | |"
    echo "| d. Chicory speed = native time / Chicory time | | $I_CHICORY_SPEED | | |"
    echo "| i. $I_WRITES one-byte writes to stdout (a file), median of $WRITE_RUNS, krill's WASI on Wasmtime | $I_RUNC_FULL_MED ms | $I_WASMTIME_FULL_MED ms | | |"
    echo "| i. same, krill's WASI on Chicory | $I_RUNC_FULL_MED ms | $I_CHICORY_FULL_MED ms | | |"
    echo "| i. cost of one write: (N writes − 0 writes) / N | $I_RUNC_NS ns | Wasmtime $I_WASMTIME_NS ns, Chicory $I_CHICORY_NS ns | | |"
    echo "| e. \`ctr run --rm\` $E_SIZE_MIB MiB module, cold (compile) | – | $E_COLD ms | | |"
    echo "| e. same, warm (cache hit), median of 5 | – | $E_WARM_MED ms | cold ≥ 10 × warm | $E_MET (× $E_RATIO) |"
    echo "| f. spinning guest limited to 100m, share of one core over 10 s | – | $F_SHARE_100 % | ≈ 10 % | enforced: $F_ENFORCED |"
    echo "| f. spinning guest limited to 500m, share of one core over 10 s | – | $F_SHARE_500 % | ≈ 50 % | enforced: $F_ENFORCED |"
    echo "| h. cold start: \`ctr run --rm\` hello to first output, no daemon, median of $COLD_RUNS | $F_RUNC_FIRST_MED ms | $F_KRILL_FIRST_MED ms | krill ≤ 250 ms and ≤ 2 × runc | $F_MET (× $F_RATIO) |"
    echo "| h. same, p90 | $F_RUNC_FIRST_P90 ms | $F_KRILL_FIRST_P90 ms | | |"
    echo "| h. same, until \`ctr\` exits, median | $F_RUNC_TOTAL_MED ms | $F_KRILL_TOTAL_MED ms | | |"
    echo "| h. daemon CPU time, start + first task, median | – | $F_KRILL_CPU_MED ms | | |"
    echo "| h. \`krill cri\` start to serving, median (p90) | – | $F_CRI_MED ms ($F_CRI_P90 ms) | | |"
    echo "| h. \`krill cri\` CPU time to serving, median | – | $F_CRI_CPU_MED ms | | |"
    echo
    for x in "a:$A_MET:krill's hello median is $A_RATIO × runc's (target ≤ 0.5)" \
             "b:$B_MET:the launcher's start takes $B_MED ms (target ≤ 5 ms)" \
             "c:$C_MET:each extra sleeping wasm container costs $K_PER KiB (target ≤ 1024 KiB)" \
             "d:$D_MET:wasm runs at $D_SPEED × native speed (target ≥ 0.85)" \
             "e:$E_MET:a warm start of the big module is $E_RATIO × faster than a cold one (target ≥ 10)" \
             "h:$F_MET:a cold start takes $F_KRILL_FIRST_MED ms to the first output, $F_RATIO × runc (target ≤ 250 ms and ≤ 2 × runc)"; do
        IFS=: read -r k m text <<<"$x"
        [ "$m" = missed ] && echo "**Target missed ($k):** $text."
    done
    echo
    cat "$T/pods-section.md"
    echo
    cat "$T/pure-java-section.md"
    echo
    cat "$T/http-section.md"
    echo
    cat "$T/scale-section.md"
    echo
    cat "$T/throughput-section.md"
    echo
    echo "## How it was measured"
    echo
    echo "- **a.** \`ctr run --rm --runtime R IMAGE ID\` of a FROM-scratch image: \`hello-native\` (static, gcc -O2) under"
    echo "  \`$RUNC\`, \`hello.wasm\` (clang --target=wasm32-wasi -O2) under \`$KRILL\`. $WARMUP warm-up runs each, then"
    echo "  $RUNS runs each, alternating runtimes; wall time of the whole \`ctr\` command (image resolution, snapshot, create,"
    echo "  start, wait, output, delete) and its output checked every time. krill's daemon stays warm between runs"
    echo "  (\`KRILL_IDLE_TIMEOUT=60\`), which is the steady state on a node running wasm workloads; the first task of a"
    echo "  namespace pays for the JVM start instead. runc pays for a new shim process every run: min/max runc"
    echo "  $A_RUNC_MIN/$A_RUNC_MAX ms, krill $A_KRILL_MIN/$A_KRILL_MAX ms. Both pay the same containerd-side work: the"
    echo "  \`ctr\` process itself (\`ctr version\` alone takes $A_CTR_MED ms), snapshot prepare/remove, container metadata"
    echo "  writes, and containerd 1.6's post-delete exec of the shim binary's \`delete\`. That shared floor is why"
    echo "  krill's ratio cannot go far below 0.5 through \`ctr run\`, however fast the runtime itself gets."
    echo "- **b.** \`containerd-shim-krill-v1 -namespace NS -address ADDR -publish-binary ... -id X start\` — what containerd"
    echo "  execs for every krill task — against the already-running daemon, timed by \`hyperfine -N\` over $START_RUNS runs"
    echo "  (process spawn included). It finds the daemon alive, writes \`address\` and prints the socket."
    echo "- **c.** \`ctr run -d --null-io\` of \`sleep.wasm 3600\` (krill) and a static \`sleep 3600\` (runc), $PAR in"
    echo "  parallel, then 3 s to settle. krill: VmRSS of the one daemon process that hosts every guest, minus its RSS with no"
    echo "  task (the warm daemon: JVM, wasmtime, compiled-module cache); per container = (RSS(N) − RSS(0)) / N"
    echo "  (${K_PER_FIRST} KiB at N = ${MEM_N[0]}). runc: sum of VmRSS of every \`containerd-shim-runc-v2\` of this containerd and"
    echo "  every container process; RSS double-counts the pages the shims share (their Go binary), so the sum of"
    echo "  PSS is given as well. containerd's own memory is left out for both."
    if [ ${#R_MEM_N[@]} -lt ${#MEM_N[@]} ]; then
        echo "  runc was measured up to N = $LAST_R only (larger N would not fit the bench's time budget)."
    fi
    echo "  The daemon had ${K_THR[0]} threads with no task and ${K_THR[$LAST_K]} with $LAST_K sleeping containers"
    echo "  ($(awk -v a=${K_THR[$LAST_K]} -v b=${K_THR[0]} -v n=$LAST_K 'BEGIN { printf "%.1f", (a - b) / n }') per container: the guest's thread and its Wasmtime Engine's cache worker; see the scale section)."
    echo "  Killing and removing the ${LAST_K} krill containers took ${K_KILL_S} s."
    echo "- **d.** The same deterministic CPU-bound C program (300 M xorshift/LCG steps, no memory traffic), \`cpu-native\`"
    echo "  under runc vs \`cpu.wasm\` under krill, 1 warm-up + $CPU_RUNS runs each, output checked. Wall times of"
    echo "  \`ctr run --rm\`, so they include container start and teardown (see a.). Subtracting each runtime's hello-world"
    echo "  median gives an estimate of the compute-only ratio: **$D_SPEED_NET**. The native binary directly on the host"
    echo "  (no container) takes $D_HOST_MED ms."
    echo "  Chicory rows: the same images and runs under the same containerd and namespace, once i. has restarted the"
    echo "  daemon on the pure-Java engine (see i.); compared with a. and d.'s runc medians, so not interleaved with them."
    echo "  Chicory compiles each module to JVM bytecode at its first create (the warm-up run) and keeps it in memory;"
    echo "  compute only, estimated as in d.: **$I_CHICORY_SPEED_NET** × native."
    echo "- **e.** A module generated at bench time (\`scripts/lib/big-module.py\`: 4000 distinct functions of branchy"
    echo "  integer arithmetic, all reached through a table from \`_start\`; $E_SIZE_MIB MiB after \`wat2wasm\`), with a fresh"
    echo "  seed in its constants so no cache has seen it. One \`ctr run --rm\` cold (Wasmtime compiles it and writes its"
    echo "  on-disk cache under \`KRILL_CACHE_DIR\`), then 5 warm runs that load the compiled code from that cache"
    echo "  (min/max $E_WARM_MIN/$E_WARM_MAX ms). The cold run leaves Wasmtime's artifact in the daemon's memory, so warm runs load it from there (j.)."
    echo "- **f.** Two \`spin.wasm\` containers (a busy loop) started together with \`ctr run -d --cpu-quota 10000\`"
    echo "  and \`--cpu-quota 50000\` (\`--cpu-period 100000\`, i.e. 100m and 500m), left to spin for 10 s; each share is"
    echo "  the growth of its cgroup's \`cpuacct.usage\` over the wall time (cgroup v1 only; on a cgroup v2 host krill does"
    echo "  not enforce CPU limits and the row says so)."
    echo "- **h.** Cold start: before each krill run the bench stops its containerd's krill daemon (SIGTERM by pid, then waits"
    echo "  for it to be gone), so the run pays for the JVM start, as the first wasm task of a namespace and the first after"
    echo "  an idle exit do; each runc run starts a new shim anyway. $COLD_RUNS runs each, interleaved; the time is from the exec"
    echo "  of \`ctr run --rm\` to the first line of the guest's output on ctr's stdout (and to ctr's exit). krill ran from the"
    echo "  release tree (\`make dist\`): $F_ARCHIVE, $JAVA_VERSION. The daemon's CPU time (user + system, all"
    echo "  threads, from /proc) right after its first task is the load-independent part: what its start and that task cost."
    echo "  \`krill cri\`: from the exec of \`bin/krill cri\` (fresh root, no CNI config) to its \`serving\` log line, written once"
    echo "  its gRPC socket listens; $COLD_RUNS runs."
    echo "- **i.** Engines and host calls. The daemon's engine is the \`engine\` key of the config file the bench gives"
    echo "  containerd's environment as \`KRILL_CONFIG\`; a daemon keeps its default engine for life (the annotation"
    echo "  \`krill.io/engine\` picks one per container; the bench measures the default), so after e. the bench rewrites the file to \`engine = \"chicory\"\`, stops the daemon by its pid,"
    echo "  and the next krill task starts a new daemon on Chicory (its start line in the daemon log is checked); the"
    echo "  Chicory rows of a. and d. and the Chicory host-call rows run then, after which it switches back to Wasmtime."
    echo "  Host calls: \`writes\` (C; \`writes.wasm\` by clang --target=wasm32-wasi, \`writes-native\` static gcc) calls"
    echo "  \`write(1, \"x\", 1)\` N times and checks each result: in wasm each is one WASI \`fd_write\` answered by krill's"
    echo "  Java WASI layer (the only WASI either engine runs), natively one \`write(2)\` syscall. \`ctr run --rm --log-uri"
    echo "  file://...\`, so each shim writes stdout to a file itself and \`ctr\` copies nothing (its size is checked); N = $I_WRITES and N = 0 interleaved, $WRITE_RUNS runs each after a warm-up,"
    echo "  per-call cost = (median(N) − median(0)) / N, which leaves out container start and teardown. For comparison, a"
    echo "  prior measurement (not from this run) of the wasmtime-java binding's own WASI, which krill's replaced and the daemon"
    echo "  can no longer select: about 1.1 s for 1 M one-byte writes, against 15–20 s with krill's WASI at the time."
    echo "- **j.** \`bench/pure-java-engines\` (its own Maven project, built here with a JDK ≥ 21; nothing of it ships with"
    echo "  krill) runs each pure-Java engine in a fresh JVM on that engine's own WASI: Chicory (parse, compile to JVM"
    echo "  bytecode with its compiler, instantiate) and GraalWasm (one polyglot \`Engine\` sharing compiled code, a new"
    echo "  \`Context\` per instance, Truffle's optimizing runtime with the Graal compiler from Maven Central on the upgrade"
    echo "  module path and \`-XX:+EnableJVMCI\`; without it GraalWasm only interprets). Rows: the first hello of the JVM;"
    echo "  then $JHELLO_RUNS fresh instances of the compiled hello (median); cpu.wasm once to warm up, then $CPU_RUNS runs (median)"
    echo "  against cpu-native started directly $CPU_RUNS times; the big module of e. loaded, compiled and run once; the JVM's"
    echo "  CPU time and peak RSS by /usr/bin/time. Every run's output is checked (Chicory's own WASI prints each stdout line"
    echo "  twice for this wasi-libc build; krill's WASI, which krill runs Chicory with, does not)."
    echo "- **k.** \`serve.c\` (integration-tests' test programs) accepts one connection at a time, reads the request to its"
    echo "  blank line, answers 200 \`hello\` with \`Connection: close\` and closes: \`serve-native\` (static gcc -O2) under"
    echo "  runc listens itself; \`serve.wasm\` (clang --target=wasm32-wasi) takes the socket krill opened for"
    echo "  \`--annotation krill.io/listen=tcp://127.0.0.1:PORT\` as fd 3 (wasi-libc's accept/recv/send are WASI's"
    echo "  sock_accept/sock_recv/sock_send), once on each engine (\`krill.io/engine=chicory\`). All three run at once with"
    echo "  \`ctr run -d --net-host\`; each gets 5 s of wrk as a warm-up, then \`wrk -t2 -cC -d${HTTP_SECONDS}s --latency\` (one thread at"
    echo "  C = 1) per row, one server at a time. The JDK loop (\`bench/jdk-serve/ServeJdk.java\`, compiled by the build"
    echo "  JDK's javac, run on the daemon's Java on the host) is serve.c's loop on the JDK's socket channels with the"
    echo "  host calls krill's WASI layer makes (a non-blocking listener and a selector when no connection waits, blocking"
    echo "  reads and writes, shutdown for writing, close), no wasm. Then $HTTP_ROUNDS rounds at 16 connections, native, the"
    echo "  Chicory guest and the JDK loop in turn, wrk for ${HTTP_SECONDS} s each; the listening guest's target is judged on"
    echo "  the median of the rounds' ratios. The instance-per-request rows: \`wagi.wasm\` under"
    echo "  \`--annotation krill.io/wagi=tcp://127.0.0.1:PORT\` (defaults: 16 instances at once, HTTP/1.1 keep-alive), its"
    echo "  echo of each request (CGI headers, eight lines of body, a line on stderr and krill's access-log line, both to"
    echo "  /dev/null here), once per engine. wrk runs on the same 2 cores, so the rows measure the whole machine's"
    echo "  work per request, client included; the ratio to native is the figure to read."
    echo
    echo "## Caveats"
    echo
    echo "- One small VM ($NPROC vCPUs), one run; medians are robust but tails (p90) are noisy. Absolute numbers"
    echo "  depend on the machine; the ratios are what the targets are about."
    echo "- krill's latency advantage comes from not starting a process per container: the shim \`start\` is a tiny"
    echo "  native launcher that finds the per-namespace JVM daemon already running, and the guest is a thread in it."
    echo "  A cold start (first krill task in a namespace, or after the idle timeout) includes the JVM start and is"
    echo "  not what a. measures, but h. (here the first krill run of the bench, JVM start included, took $A_KRILL_COLD ms)."
    if awk -v a="${LOAD_START%% *}" -v b="${LOAD_END%% *}" 'BEGIN { exit !(a > 1.0 || b > 1.0) }'; then
        echo "- **The machine was shared with other jobs during this run** (load average above), which inflates"
        echo "  and spreads the latency and CPU numbers; compare ratios, not absolute values, and rerun on an idle"
        echo "  machine for publication."
    fi
    echo "- Memory for krill is one process, so RSS is exact; for runc the RSS sum overstates and the PSS sum is the"
    echo "  fairer figure. Neither includes kernel memory (page tables, cgroups, overlay mounts)."
} >"$md"
cp "$md" "$OUT_DIR/benchmarks.md"
if [ $COLD_ONLY = 0 ]; then modules_section; splice_modules_section "$OUT_DIR/benchmarks.md"; fi

# Plot: ctr run medians, memory vs number of sleeping containers, throughput and per-cycle latency vs clients.
{
    echo "\"hello\" $A_RUNC_MED $A_KRILL_MED"
    echo "\"cpu\" $D_RUNC_MED $D_KRILL_MED"
} >"$T/bars.dat"
for n in 0 "${MEM_N[@]}"; do echo "$n $(mib ${K_RSS[$n]})"; done >"$T/krill-mem.dat"
for n in 0 "${R_MEM_N[@]}"; do echo "$n $(mib ${R_RSS[$n]}) $(mib ${R_PSS[$n]})"; done >"$T/runc-mem.dat"
bench_plot "krill (wasm) vs runc (native) under containerd $CD_VERSION — $NPROC vCPUs, $DATE"
cp "$T/benchmarks.png" "$OUT_DIR/benchmarks.png"
sed -n '/^## Results/,/^## How/p' "$md" | sed '$d'
note "wrote $OUT_DIR/benchmarks.md and $OUT_DIR/benchmarks.png (${TOTAL_S} s)"
