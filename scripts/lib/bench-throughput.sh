# Sourced by bench.sh: lifecycle throughput, krill beside runc, C parallel clients doing full cycles.
#
#   bench_throughput SECONDS   both halves; writes $T/throughput.tsv and $T/throughput-section.md
#   splice_throughput_section FILE
#
# ctr half: on bench.sh's private containerd, C clients each looping `ctr run --rm` of hello (runc: the
# static hello-native image, krill: hello.wasm) for SECONDS. CRI half: ThroughputBench (integration-tests)
# through Maven, its own containerd 1.6 with CRI on, the same cycles as CreateContainer, StartContainer,
# ContainerStatus until exited, RemoveContainer in one pod per client. One line per path, runtime and C in
# $T/throughput.tsv: PATH RUNTIME C SECONDS OK ERRORS CYCLES_PER_S P50_MS P99_MS.
# The ctr half also says where the CPU goes: with a cpuacct (v1) or cpu.stat (v2) cgroup it puts the clients,
# containerd (and so everything containerd spawns: shims, runc, krill's launcher) and the krill daemon in
# cgroups of their own and reports each one's CPU time per cycle; tp_cg_remove (bench.sh's cleanup) removes them.
# Expects REPO, T, MVN, CTR_BIN, SOCK, NS, RUNC, KRILL, I_HELLO_N, I_HELLO_W, HELLO_OUT, QUICK, CPID, note(), die(),
# daemon_pids(), remove_all_containers().
TP_CLIENTS=(4 16)
TP_TARGET_CPS=50   # krill, 4 clients: create-start-wait-delete cycles per second
TP_TARGET_RATIO=3  # krill / runc, 4 clients
TP_POLL_MS=10      # CRI: how often a client asks whether its container has exited
TP_CG=""           # the ctr half's CPU accounting cgroup, if the host lets us make one

tp_cg_setup() {
    local base p
    if [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then base=/sys/fs/cgroup/cpuacct
    elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then base=/sys/fs/cgroup
    else return 0; fi
    TP_CG=$base/krill-bench-throughput-$$
    mkdir -p "$TP_CG/clients" "$TP_CG/containerd" "$TP_CG/daemon" || { TP_CG=""; return 0; }
    echo "$CPID" >"$TP_CG/containerd/cgroup.procs"
    for p in $(daemon_pids); do echo "$p" >"$TP_CG/daemon/cgroup.procs"; done
}
# tp_cg_remove: everything left in them back to the root cgroup, then the directories
tp_cg_remove() {
    local d p base
    [ -n "$TP_CG" ] && [ -d "$TP_CG" ] || return 0
    base=$(dirname "$TP_CG")
    for d in clients containerd daemon; do
        [ -d "$TP_CG/$d" ] || continue
        for p in $(cat "$TP_CG/$d/cgroup.procs" 2>/dev/null); do echo "$p" >"$base/cgroup.procs" 2>/dev/null; done
        rmdir "$TP_CG/$d" 2>/dev/null
    done
    rmdir "$TP_CG" 2>/dev/null || true
}
# tp_cg_us GROUP: its CPU time so far in microseconds
tp_cg_us() {
    if [ -f "$TP_CG/$1/cpuacct.usage" ]; then echo $(($(cat "$TP_CG/$1/cpuacct.usage") / 1000))
    else awk '$1 == "usage_usec" { print $2 }' "$TP_CG/$1/cpu.stat"; fi
}
# tp_proc_us PID: CPU time of the process's own threads (not its children) in microseconds
tp_proc_us() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%d\n", ($12 + $13) * 1000000 / hz }' "/proc/$1/stat"; }

# tp_client RUNTIME IMAGE NAME DEADLINE_US: `ctr run --rm` until the deadline (no new cycle after it);
# one line per cycle: START_US END_US ok|error. The clock is read without a fork.
tp_client() {
    local rt=$1 image=$2 name=$3 deadline=$4 i=0 t0 t1 o rc
    [ -z "$TP_CG" ] || echo "$BASHPID" >"$TP_CG/clients/cgroup.procs"
    while :; do
        t0=${EPOCHREALTIME/./}
        [ "$t0" -lt "$deadline" ] || break
        o=$("$CTR_BIN" -a "$SOCK" -n "$NS" run --rm --runtime "$rt" "$image" "$name-$i" 2>&1) && rc=0 || rc=$?
        t1=${EPOCHREALTIME/./}
        if [ $rc = 0 ] && [ "$o" = "$HELLO_OUT" ]; then
            echo "$t0 $t1 ok"
        else
            echo "$t0 $t1 error"
            printf '%s-%d: exit code %d: %s\n' "$name" "$i" "$rc" "$(printf '%s' "$o" | head -3)" >>"$T/tp-errors.log"
        fi
        i=$((i + 1))
    done
}

# tp_cpu_note: a line of throughput-cpu.tsv on stdin, for the console
tp_cpu_note() {
    awk '{ printf "  CPU per cycle: clients %s ms, containerd %s ms, what it spawned %s ms, krill daemon %s ms, total %s ms\n", $4, $5, $6, $7, $8 }'
}

# tp_summary FILE... -> "SECONDS OK ERRORS CYCLES_PER_S P50_MS P99_MS" over the clients' cycle lines
# (the time: first cycle's start to last cycle's end; p50/p99 by nearest rank over the good cycles).
tp_summary() {
    cat "$@" | awk '
        { if (min == "" || $1 < min) min = $1; if ($2 > max) max = $2 }
        $3 == "ok" { print ($2 - $1) / 1000 > "/dev/stderr"; ok++ }
        $3 != "ok" { err++ }
        END { printf "%.2f %d %d\n", (max - min) / 1e6, ok, err }' 2>"$T/tp-ms" >"$T/tp-sum"
    read -r s ok err <"$T/tp-sum"
    sort -g "$T/tp-ms" | awk -v s="$s" -v ok="$ok" -v err="$err" '{ v[NR] = $1 } END {
        n = NR
        if (n == 0) { printf "%s %d %d 0.00 nan nan\n", s, ok, err; exit }
        r50 = int(0.5 * n); if (r50 < 0.5 * n) r50++; if (r50 < 1) r50 = 1
        r99 = int(0.99 * n); if (r99 < 0.99 * n) r99++; if (r99 < 1) r99 = 1
        printf "%s %d %d %.2f %.2f %.2f\n", s, ok, err, ok / s, v[r50], v[r99] }'
}

# tp_ctr RUNTIME IMAGE C SECONDS: C clients in parallel; appends a line to $T/throughput.tsv
tp_ctr() {
    local rt=$1 image=$2 c=$3 secs=$4 short k deadline pids=() line g cpu0=() cpu1=() ok
    short=$([ "$rt" = "$RUNC" ] && echo runc || echo krill)
    if [ -n "$TP_CG" ]; then
        for g in clients containerd daemon; do cpu0+=("$(tp_cg_us $g)"); done
        cpu0+=("$(tp_proc_us "$CPID")")
    fi
    deadline=$((${EPOCHREALTIME/./} + secs * 1000000))
    for ((k = 1; k <= c; k++)); do
        tp_client "$rt" "$image" "tp-$short-$c-$k" "$deadline" >"$T/tp-$short-$c-$k" &
        pids+=($!)
    done
    wait "${pids[@]}"
    # a cycle that failed half-way may have left its container or task
    [ -z "$(ctr containers ls -q)" ] || remove_all_containers
    line="ctr $short $c $(tp_summary "$T"/tp-"$short-$c"-*)"
    echo "$line" >>"$T/throughput.tsv"
    note "$line"
    if [ -n "$TP_CG" ]; then
        for g in clients containerd daemon; do cpu1+=("$(tp_cg_us $g)"); done
        cpu1+=("$(tp_proc_us "$CPID")")
        ok=$(awk '{ print $5 }' <<<"$line")
        # CPU ms per good cycle: ctr clients, containerd itself, what containerd spawned, krill daemon, total
        awk -v s="$short" -v c="$c" -v n="$ok" -v a="${cpu0[*]}" -v b="${cpu1[*]}" 'BEGIN {
            split(a, x, " "); split(b, y, " "); if (n < 1) n = 1
            cl = (y[1] - x[1]) / 1000 / n; cdown = (y[4] - x[4]) / 1000 / n
            spawned = (y[2] - x[2]) / 1000 / n - cdown; d = (y[3] - x[3]) / 1000 / n
            printf "ctr %s %d %.1f %.1f %.1f %.1f %.1f\n", s, c, cl, cdown, spawned, d, cl + cdown + spawned + d }' \
            | tee -a "$T/throughput-cpu.tsv" | tp_cpu_note
    fi
}

bench_throughput() {
    local secs=$1 c r p
    TP_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
    TP_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
    : >"$T/throughput.tsv"; : >"$T/tp-errors.log"; : >"$T/throughput-cpu.tsv"
    note "path runtime clients seconds ok errors cycles/s p50_ms p99_ms"
    # Warm-up: images unpacked into each runtime's snapshots, the krill daemon up.
    for r in "$RUNC:$I_HELLO_N" "$KRILL:$I_HELLO_W"; do
        for ((c = 1; c <= 2; c++)); do
            "$CTR_BIN" -a "$SOCK" -n "$NS" run --rm --runtime "${r%%:*}" "${r#*:}" "tp-warm-$c" >/dev/null \
                || die "ctr run --rm --runtime ${r%%:*} failed in the throughput warm-up"
        done
    done
    tp_cg_setup
    for c in "${TP_CLIENTS[@]}"; do
        tp_ctr "$RUNC" "$I_HELLO_N" "$c" "$secs"
        tp_ctr "$KRILL" "$I_HELLO_W" "$c" "$secs"
    done
    if [ -s "$T/tp-errors.log" ]; then
        note "ctr cycles that failed (first 10):"
        head -10 "$T/tp-errors.log"
    fi
    (cd "$REPO" && $MVN --no-transfer-progress test -pl integration-tests -DskipITs=false -Dtest=ThroughputBench \
        -Dkrill.bench.throughput.seconds="$secs" -Dkrill.bench.throughput.clients="$(IFS=,; echo "${TP_CLIENTS[*]}")" \
        -Dkrill.bench.throughput.pollMs=$TP_POLL_MS -Dkrill.bench.throughput.out="$T/throughput-cri.tsv" \
        -Dkrill.bench.throughput.cpuOut="$T/throughput-cri-cpu.tsv" >"$T/throughput-cri.log" 2>&1) \
        || { tail -n 40 "$T/throughput-cri.log" >&2; die "the CRI throughput benchmark failed (ThroughputBench, log above)"; }
    cat "$T/throughput-cri.tsv" >>"$T/throughput.tsv"
    cat "$T/throughput-cri-cpu.tsv" >>"$T/throughput-cpu.tsv"
    while read -r p r c _; do
        grep "^$p $r $c " "$T/throughput-cri.tsv"
        grep "^$p $r $c " "$T/throughput-cri-cpu.tsv" | tp_cpu_note
    done <"$T/throughput-cri.tsv"
    grep -E '^  first error' "$T/throughput-cri.log" || true
    TP_LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
    tp_section "$secs" >"$T/throughput-section.md"
}

# tp_get PATH RUNTIME C FIELD: a field of throughput.tsv (4 SECONDS, 5 OK, 6 ERRORS, 7 CYCLES_PER_S, 8 P50, 9 P99)
tp_get() { awk -v p="$1" -v r="$2" -v c="$3" -v f="$4" '$1 == p && $2 == r && $3 == c { print $f }' "$T/throughput.tsv"; }

tp_section() {
    local secs=$1 p c label k4 r4 ratio met
    echo "## Lifecycle throughput: parallel create-start-wait-delete cycles"
    echo
    echo "Generated by \`scripts/bench.sh\` (or \`--throughput-only\`) on $TP_DATE$([ "$QUICK" = 1 ] && echo ' with --quick (development numbers only)'),"
    echo "$(nproc) × $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), load average $TP_LOAD0 before and $TP_LOAD1 after."
    echo
    echo "| Path | Clients | runc cycles/s | krill cycles/s | krill / runc | runc p50 (p99) per cycle | krill p50 (p99) per cycle | errors runc / krill |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for p in ctr cri; do
        label=$([ $p = ctr ] && echo '`ctr run --rm`' || echo 'CRI')
        for c in "${TP_CLIENTS[@]}"; do
            printf '| %s | %s | %s | %s | × %s | %s ms (%s) | %s ms (%s) | %s / %s |\n' "$label" "$c" \
                "$(tp_get $p runc "$c" 7)" "$(tp_get $p krill "$c" 7)" \
                "$(awk -v k="$(tp_get $p krill "$c" 7)" -v r="$(tp_get $p runc "$c" 7)" 'BEGIN { printf "%.2f", (r > 0 ? k / r : 0) }')" \
                "$(printf '%.0f' "$(tp_get $p runc "$c" 8)")" "$(printf '%.0f' "$(tp_get $p runc "$c" 9)")" \
                "$(printf '%.0f' "$(tp_get $p krill "$c" 8)")" "$(printf '%.0f' "$(tp_get $p krill "$c" 9)")" \
                "$(tp_get $p runc "$c" 6)" "$(tp_get $p krill "$c" 6)"
        done
    done
    echo
    for p in ctr cri; do
        label=$([ $p = ctr ] && echo '`ctr run --rm`' || echo 'CRI')
        k4=$(tp_get $p krill 4 7) r4=$(tp_get $p runc 4 7)
        ratio=$(awk -v k="$k4" -v r="$r4" 'BEGIN { printf "%.2f", (r > 0 ? k / r : 0) }')
        met=$(awk -v k="$k4" -v x="$ratio" -v t="$TP_TARGET_CPS" -v m="$TP_TARGET_RATIO" 'BEGIN { print (k >= t && x >= m) ? "met" : "missed" }')
        if [ "$met" = met ]; then
            echo "Target ($label, 4 clients: krill ≥ $TP_TARGET_CPS cycles/s and ≥ $TP_TARGET_RATIO × runc): met, $k4 cycles/s, × $ratio."
        else
            echo "**Target missed ($label, 4 clients):** krill does $k4 cycles/s, × $ratio runc (target ≥ $TP_TARGET_CPS cycles/s and ≥ $TP_TARGET_RATIO × runc)."
        fi
        echo
    done
    if [ -s "$T/throughput-cpu.tsv" ]; then
        echo "Where the CPU goes: CPU time (user + system) per good cycle. \`ctr run --rm\`: from cgroups the bench puts the"
        echo "clients, containerd and the krill daemon in for the run (what containerd spawns, shims, runc and krill's"
        echo "launcher, stays in containerd's: that minus containerd's own threads). CRI: from /proc, the Java client's"
        echo "JVM, containerd's own threads, its reaped children plus runc's shims (with the runc runs they reaped),"
        echo "krill's daemon. The guests themselves (each in its container's cgroup) are left out for both runtimes."
        echo "On $(nproc) cores, $(nproc) × 1000 ms / total is the most cycles per second the machine could do with nothing else running."
        echo
        echo "| Path | Runtime | Clients | client(s) | containerd | what containerd spawned | krill daemon | total | $(nproc) × 1000 ms / total |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
        awk -v np="$(nproc)" '{ printf "| %s | %s | %s | %s ms | %s ms | %s ms | %s ms | %s ms | %.0f cycles/s |\n", ($1 == "ctr" ? "`ctr run --rm`" : "CRI"), $2, $3, $4, $5, $6, $7, $8, ($8 > 0 ? np * 1000 / $8 : 0) }' "$T/throughput-cpu.tsv"
        echo
        awk -v np="$(nproc)" '$1 == "ctr" && $2 == "krill" && $3 == 4 { f = $4 + $5
            printf "Of krill'"'"'s `ctr run --rm` cycle at 4 clients, the `ctr` process and containerd alone take %.1f ms of CPU\n", f
            printf "(%.0f %% of it): with a runtime that cost nothing, %d cores could do at most %.0f cycles/s that way.\n\n", 100 * f / $8, np, np * 1000 / f }' \
            "$T/throughput-cpu.tsv"
    fi
    echo "- Each client loops for $secs s (no new cycle after that), all clients of one runtime at once, runc then"
    echo "  krill for each client count; cycles/s = good cycles / time from the first cycle's start to the last one's"
    echo "  end; p50/p99 (nearest rank) of the good cycles' wall times. A warm-up before: images unpacked into"
    echo "  each runtime's snapshots, krill's daemon running (its JVM start is not in these numbers, see h.)."
    echo "- **\`ctr run --rm\`**: on the bench's containerd, every cycle is one \`ctr run --rm --runtime R IMAGE ID\`"
    echo "  process (image resolution, snapshot, create, start, wait, output, delete) of a FROM-scratch hello: the"
    echo "  static \`hello-native\` under runc, \`hello.wasm\` under krill; an error is a non-zero exit or a wrong output."
    echo "- **CRI**: \`ThroughputBench\` (integration-tests), a Java client calling containerd 1.6's CRI plugin as"
    echo "  crictl would, on its own containerd (CNI bridge network) with the \`runc\` and \`krill\` handlers. Each"
    echo "  client runs one pod (RunPodSandbox once, not timed), then loops CreateContainer, StartContainer,"
    echo "  ContainerStatus every $TP_POLL_MS ms until the container has exited, RemoveContainer; an error is a failed"
    echo "  call or a non-zero exit code. The polling rounds each cycle up by up to $TP_POLL_MS ms, for both runtimes, and"
    echo "  costs client and containerd CPU in proportion to a cycle's wall time (one ContainerStatus call per poll)."
    echo "  krill runs from dist/ (\`make build\`) here, not the release tree."
    if awk -v a="${TP_LOAD0%% *}" -v b="${TP_LOAD1%% *}" -v c="$(nproc)" 'BEGIN { exit !(a > c / 2 || b > c / 2) }'; then
        echo "- **The machine was busy with other jobs during this run** (load average above): the clients, containerd,"
        echo "  the shims and the krill daemon share its $(nproc) cores with them, which lowers both runtimes' rates. The"
        echo "  figure after includes the bench's own load: up to ${TP_CLIENTS[-1]} clients and what they keep busy."
    fi
}

# splice_throughput_section FILE: puts $T/throughput-section.md in FILE in place of its throughput section
# (or before "## How it was measured", or at its end).
splice_throughput_section() {
    local file=$1
    [ -f "$file" ] || die "$file does not exist: run the whole bench first"
    awk -v new="$T/throughput-section.md" '
        function emit(l) { while ((getline l < new) > 0) print l; close(new); done = 1 }
        /^## Lifecycle throughput/ { emit(); skip = 1; next }
        skip && /^## / { skip = 0; print "" }
        !done && /^## How it was measured/ { emit(); print "" }
        !skip { print }
        END { if (!done) { print ""; emit() } }' "$file" >"$T/spliced.md"
    cp "$T/spliced.md" "$file"
}
