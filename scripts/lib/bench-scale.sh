# Sourced by bench.sh: m. scale, many sleeping containers in one krill daemon, beside runc.
#
#   bench_scale N_KRILL N_RUNC    measures, prints, and writes $T/scale-section.md
#
# krill: the daemon's threads (by name, grouped) and RSS/PSS with 0, 100 and N_KRILL sleeping
# containers (`sleep.wasm 3600`, `ctr run -d --null-io`, $PAR in parallel), then the wall time to kill
# and delete them all through `ctr`, $PAR in parallel as the bench's cleanup does. runc: the same with
# N_RUNC static `sleep 3600` containers (a shim process and a container process each).
# Expects what bench.sh defines: ctr, CTR_BIN, SOCK, NS, PAR, T, KRILL, RUNC, I_SLEEP_W, I_SLEEP_N,
# I_HELLO_W, HELLO_OUT, run_once, daemon_pids, runc_shim_pids, rss_kb, pss_kb, now_us, mib, note, die.

# Each krill sleeper gets this memory limit (a sleeper needs a few pages), so that a thousand fit the daemon's
# budget for guests (the machine's memory) whatever KRILL_DEFAULT_MEMORY_LIMIT says.
SCALE_LIMIT=$((8 << 20))

# scale_start RUNTIME IMAGE PREFIX FROM TO [CTR RUN OPTIONS]: `ctr run -d` in parallel, then checks they all run
scale_start() {
    local rt=$1 image=$2 prefix=$3 from=$4 to=$5 t0 running
    shift 5
    t0=$(now_us)
    seq "$from" "$to" | xargs -P "$PAR" -I{} "$CTR_BIN" -a "$SOCK" -n "$NS" run -d --null-io --runtime "$rt" "$@" \
        "$image" "$prefix{}" >"$T/scale-xargs.log" 2>&1 || { tail "$T/scale-xargs.log" >&2; die "ctr run -d failed"; }
    running=$(ctr tasks ls | awk -v p="^$prefix" '$1 ~ p && $3 == "RUNNING"' | wc -l)
    [ "$running" -eq "$to" ] || die "$running of $to $prefix containers are running"
    note "started $prefix$from..$prefix$to ($rt) in $(awk -v d=$(($(now_us) - t0)) 'BEGIN { printf "%.1f", d / 1e6 }') s"
}

# scale_threads PID -> "name count" lines: the process's threads by name, numbers folded into #. A thread
# with a nice value is named with it: native threads that name themselves not get their creator's name,
# and Wasmtime's cache worker (one per Engine, so one per guest) lowers its priority.
scale_threads() {
    local t c
    for t in /proc/"$1"/task/*; do
        c=$(cat "$t/comm" 2>/dev/null) || continue
        printf '%s %s\n' "$c" "$(awk '{ sub(/^.*\) /, ""); print $17 }' "$t/stat" 2>/dev/null)"
    done | sed -E 's/^guest-[^ ]*/guest-<id>/; s/[0-9]+ ([-0-9]+)$/# \1/; s/ 0$//; s/ ([-0-9]+)$/ (nice \1)/; s/ /_/g' \
        | sort | uniq -c | awk '{ print $2, $1 }'
}
# cpu_s PID -> user + system CPU seconds of the process and its waited-for children so far
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13 + $14 + $15) / hz }' "/proc/$1/stat"; }
scale_nthreads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }

# scale_remove PREFIX -> prints "KILL_S DELETE_S RM_S": kill, delete the tasks, remove the containers
scale_remove() {
    local ids t0 t1 t2 t3 i
    ids=$(ctr tasks ls -q | grep "^$1" || true)
    t0=$(now_us)
    printf '%s\n' $ids | xargs -r -P "$PAR" -n 1 "$CTR_BIN" -a "$SOCK" -n "$NS" tasks kill -s SIGKILL >/dev/null 2>&1 || true
    for ((i = 0; i < 600; i++)); do   # until containerd has every exit
        [ -z "$(ctr tasks ls | awk -v p="^$1" '$1 ~ p && $3 != "STOPPED"')" ] && break
        sleep 0.05
    done
    t1=$(now_us)
    printf '%s\n' $ids | xargs -r -P "$PAR" -n 1 "$CTR_BIN" -a "$SOCK" -n "$NS" tasks rm >/dev/null 2>&1 || true
    t2=$(now_us)
    ctr containers ls -q | grep "^$1" | xargs -r -P "$PAR" -n 16 "$CTR_BIN" -a "$SOCK" -n "$NS" containers rm >/dev/null 2>&1 || true
    t3=$(now_us)
    [ -z "$(ctr tasks ls -q | grep "^$1")" ] || die "$1 tasks left after ctr tasks rm"
    [ -z "$(ctr containers ls -q | grep "^$1")" ] || die "$1 containers left after ctr containers rm"
    awk -v a=$t0 -v b=$t1 -v c=$t2 -v d=$t3 'BEGIN { printf "%.2f %.2f %.2f\n", (b - a) / 1e6, (c - b) / 1e6, (d - c) / 1e6 }'
}

bench_scale() {
    local nk=$1 nr=$2 d n steps p g prev k_kill k_del k_rm floor t0
    declare -gA SC_RSS SC_PSS SC_THR SC_RRSS SC_RPSS SC_RTHR
    run_once "$KRILL" "$I_HELLO_W" scale-warm "$HELLO_OUT" >/dev/null
    d=$(daemon_pids | head -1)
    [ -n "$d" ] || die "no krill daemon after a hello run"
    [ -z "$(ctr tasks ls -q)" ] || die "tasks left before the scale test"
    steps=(0 100 "$nk")
    prev=0
    for n in "${steps[@]}"; do
        if [ "$n" -gt 0 ]; then
            scale_start "$KRILL" "$I_SLEEP_W" kz $((prev + 1)) "$n" --memory-limit "$SCALE_LIMIT"
            sleep 3
        fi
        [ "$(daemon_pids | head -1)" = "$d" ] || die "the krill daemon changed during the scale test"
        SC_RSS[$n]=$(rss_kb "$d"); SC_PSS[$n]=$(pss_kb "$d"); SC_THR[$n]=$(scale_nthreads "$d")
        scale_threads "$d" >"$T/scale-threads-$n"
        note "krill N=$n: daemon RSS $(mib ${SC_RSS[$n]}) MiB (PSS $(mib ${SC_PSS[$n]}) MiB), ${SC_THR[$n]} threads"
        prev=$n
    done
    SC_JAVA=$("$(readlink "/proc/$d/exe")" -version 2>&1 | head -1)
    local cd0 cc0
    cd0=$(cpu_s "$d") cc0=$(cpu_s "$CPID")
    read -r k_kill k_del k_rm < <(scale_remove kz)
    SC_K_KILL=$k_kill SC_K_DEL=$k_del SC_K_RM=$k_rm
    SC_K_DCPU=$(awk -v a="$(cpu_s "$d")" -v b="$cd0" 'BEGIN { printf "%.2f", a - b }')
    SC_K_CCPU=$(awk -v a="$(cpu_s "$CPID")" -v b="$cc0" 'BEGIN { printf "%.2f", a - b }')
    note "CPU during kill + delete + containers rm: krill daemon $SC_K_DCPU s, containerd $SC_K_CCPU s"
    SC_K_TOTAL=$(awk -v a=$k_kill -v b=$k_del 'BEGIN { printf "%.2f", a + b }')
    sleep 1
    SC_THR_AFTER=$(scale_nthreads "$d") SC_RSS_AFTER=$(rss_kb "$d")
    note "krill: killed $nk in $k_kill s, deleted their tasks in $k_del s (kill + delete $SC_K_TOTAL s), removed the containers in $k_rm s"
    note "krill after: ${SC_THR_AFTER} threads, RSS $(mib $SC_RSS_AFTER) MiB"
    # The ctr floor: as many `ctr version` as kill + delete run ctr processes, with the same parallelism.
    t0=$(now_us)
    seq 1 $((2 * nk)) | xargs -P "$PAR" -n 1 sh -c '"$0" -a "$1" version >/dev/null' "$CTR_BIN" "$SOCK" >/dev/null 2>&1 || true
    SC_FLOOR=$(awk -v d=$(($(now_us) - t0)) 'BEGIN { printf "%.2f", d / 1e6 }')
    note "floor: $((2 * nk)) \`ctr version\`, $PAR in parallel: $SC_FLOOR s"
    # Thread groups table.
    cat "$T"/scale-threads-* | awk '{ print $1 }' | sort -u >"$T/scale-names"
    : >"$T/scale-groups"
    while read -r g; do
        printf '%s' "$g" >>"$T/scale-groups"
        for n in "${steps[@]}"; do
            printf ' %s' "$(awk -v g="$g" '$1 == g { print $2; f = 1 } END { if (!f) print 0 }' "$T/scale-threads-$n")" >>"$T/scale-groups"
        done
        echo >>"$T/scale-groups"
    done <"$T/scale-names"
    sort -k4,4nr -k1,1 "$T/scale-groups" -o "$T/scale-groups"
    # runc
    SC_RRSS[0]=0 SC_RPSS[0]=0 SC_RTHR[0]=0
    scale_start "$RUNC" "$I_SLEEP_N" rz 1 "$nr"
    sleep 3
    p="$(runc_shim_pids) $(ctr tasks ls | awk 'NR > 1 && $1 ~ /^rz/ { print $2 }')"
    # shellcheck disable=SC2086
    SC_RRSS[$nr]=$(sum_kb rss_kb $p); SC_RPSS[$nr]=$(sum_kb pss_kb $p)
    # shellcheck disable=SC2086
    SC_RTHR[$nr]=$(for x in $p; do scale_nthreads "$x"; done | awk '{ s += $1 } END { print s + 0 }')
    note "runc N=$nr: RSS sum $(mib ${SC_RRSS[$nr]}) MiB (PSS sum $(mib ${SC_RPSS[$nr]}) MiB), ${SC_RTHR[$nr]} threads"
    cc0=$(cpu_s "$CPID")
    read -r k_kill k_del k_rm < <(scale_remove rz)
    SC_R_KILL=$k_kill SC_R_DEL=$k_del SC_R_RM=$k_rm
    SC_R_CCPU=$(awk -v a="$(cpu_s "$CPID")" -v b="$cc0" 'BEGIN { printf "%.2f", a - b }')
    SC_R_TOTAL=$(awk -v a=$k_kill -v b=$k_del 'BEGIN { printf "%.2f", a + b }')
    note "runc: killed $nr in $k_kill s, deleted their tasks in $k_del s (kill + delete $SC_R_TOTAL s), removed the containers in $k_rm s"
    scale_section "$nk" "$nr"
}

scale_section() {
    local nk=$1 nr=$2 per per_pss marg thr_met mem_met del_met load
    per=$(awk -v a=${SC_RSS[$nk]} -v b=${SC_RSS[0]} -v n=$nk 'BEGIN { printf "%.0f", (a - b) / n }')
    per_pss=$(awk -v a=${SC_PSS[$nk]} -v b=${SC_PSS[0]} -v n=$nk 'BEGIN { printf "%.0f", (a - b) / n }')
    marg=$(awk -v a=${SC_RSS[$nk]} -v b=${SC_RSS[100]} -v n=$((nk - 100)) 'BEGIN { printf "%.0f", (a - b) / n }')
    thr_met=$(awk -v v=${SC_THR[$nk]} 'BEGIN { print (v <= 1100) ? "met" : "missed" }')
    mem_met=$(awk -v v=$per 'BEGIN { print (v <= 512) ? "met" : "missed" }')
    del_met=$(awk -v v=$SC_K_TOTAL 'BEGIN { print (v <= 5) ? "met" : "missed" }')
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    {
        echo "## Scale: $nk sleeping containers in one daemon"
        echo
        echo "Generated by \`scripts/bench.sh\` (section m, or \`--scale-only\`) on $(date -u '+%Y-%m-%d %H:%M UTC'),"
        echo "$(nproc) × $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), load average $load at the end;"
        echo "krill's Java: $SC_JAVA."
        echo
        echo "| | runc (native) | krill (wasm) | Target | |"
        echo "|---|---:|---:|---|---|"
        echo "| threads, 0 sleeping containers | 0 | ${SC_THR[0]} | | |"
        echo "| threads, 100 sleeping containers | | ${SC_THR[100]} | | |"
        echo "| threads, $nk sleeping containers (runc: $nr) | ${SC_RTHR[$nr]} | ${SC_THR[$nk]} | krill ≤ 1,100 at 1,000 | $thr_met |"
        echo "| memory, 0 / 100 / $nk sleeping containers | | $(mib ${SC_RSS[0]}) / $(mib ${SC_RSS[100]}) / $(mib ${SC_RSS[$nk]}) MiB | | |"
        echo "| memory per extra sleeping container, (RSS(N) − RSS(0)) / N | $(awk -v a=${SC_RRSS[$nr]} -v n=$nr 'BEGIN { printf "%.0f", a / n }') KiB (PSS $(awk -v a=${SC_RPSS[$nr]} -v n=$nr 'BEGIN { printf "%.0f", a / n }') KiB), N = $nr | $per KiB (PSS $per_pss KiB), N = $nk | krill ≤ 512 KiB at 1,000 | $mem_met |"
        echo "| memory per extra sleeping container from 100 to $nk, RSS | | $marg KiB | | |"
        echo "| kill + delete of all (ctr, $PAR in parallel) | $SC_R_TOTAL s ($nr) | $SC_K_TOTAL s ($nk) | krill ≤ 5 s at 1,000 | $del_met |"
        echo "| of which kill, until every exit is in containerd | $SC_R_KILL s | $SC_K_KILL s | | |"
        echo "| then \`ctr containers rm\` of all (16 per ctr) | $SC_R_RM s | $SC_K_RM s | | |"
        echo "| floor: $((2 * nk)) \`ctr version\`, $PAR in parallel | | $SC_FLOOR s | | |"
        echo "| CPU time of the krill daemon during kill, delete and \`containers rm\` | (no daemon) | $SC_K_DCPU s | | |"
        echo "| CPU time of containerd during the same | $SC_R_CCPU s | $SC_K_CCPU s | | |"
        echo
        echo "krill daemon threads by name (numbers folded into #), most numerous first:"
        echo
        echo "| thread | 0 | 100 | $nk |"
        echo "|---|---:|---:|---:|"
        awk '{ printf "| `%s` | %s | %s | %s |\n", $1, $2, $3, $4 }' "$T/scale-groups" | sed 's/_/ /g'
        echo
        echo "- \`ctr run -d --null-io\` of \`sleep.wasm 3600\` (krill, one daemon) and a static \`sleep 3600\` (runc), $PAR"
        echo "  in parallel, 3 s to settle, then each figure; krill's with \`--memory-limit $SCALE_LIMIT\` (8 MiB)"
        echo "  so that $nk guests fit the daemon's memory budget for guests on this machine. krill: threads and VmRSS/PSS of the daemon process; per"
        echo "  container, its growth over the warm daemon with no task. runc: threads, RSS and PSS summed over every"
        echo "  \`containerd-shim-runc-v2\` of this containerd and every container process."
        [ "$nr" -lt "$nk" ] && echo "  runc ran $nr containers, not $nk: on this $(nproc)-core machine a thousand Go shims would not fit the time budget."
        echo "- Kill + delete: \`ctr tasks kill -s SIGKILL\` of each, $PAR ctr processes at a time, until \`ctr tasks ls\`"
        echo "  shows every task stopped; then \`ctr tasks rm\` of each, $PAR at a time. Each is a new \`ctr\` process, so"
        echo "  the floor row is what $((2 * nk)) ctr processes cost on this machine with no runtime work at all."
        echo "- Threads by name come from \`/proc/PID/task/*/comm\`; a native thread that does not name itself carries"
        echo "  the name of the thread that made it, and one with a nice value says so: \`ttrpc-handler-# (nice 3)\` are"
        echo "  Wasmtime's compiled-module cache workers. Each guest has its own Wasmtime \`Engine\` (so that a kill can"
        echo "  bump the epoch of that guest alone), each Engine is made from a \`Config\` that loads the cache"
        echo "  configuration, and Wasmtime 7 starts one worker thread per loaded configuration, alive as long as the"
        echo "  Engine; wasmtime-java 0.19 consumes the \`Config\` in \`new Engine(config)\`, so one cannot be shared."
        echo "  That is the second thread per guest."
        echo "- CPU time: user + system of the daemon and of containerd with their waited-for children (\`/proc/PID/stat\`)"
        echo "  over the kill, the delete and \`containers rm\`: containerd's includes the shim binary's \`delete\` it runs"
        echo "  after each task (and, for runc, \`runc\` itself run by the shims is not in it)."
        echo "- After the kill + delete the daemon was back to ${SC_THR_AFTER} threads (RSS $(mib $SC_RSS_AFTER) MiB)."
        if awk -v a="${load%% *}" -v c="$(nproc)" 'BEGIN { exit !(a > c / 2) }'; then
            echo "- **The machine was busy with other jobs during this run** (load average above): the times, the"
            echo "  kill + delete most, are inflated by it; the ctr floor row, measured in the same run, shows how much."
        fi
    } >"$T/scale-section.md"
    cat "$T/scale-section.md"
}

# splice_scale_section FILE: puts $T/scale-section.md in FILE in place of its scale section (or before
# "How it was measured", or at its end).
splice_scale_section() {
    local file=$1
    [ -f "$file" ] || die "$file does not exist: run the whole bench first"
    awk -v new="$T/scale-section.md" '
        function emit(l) { while ((getline l < new) > 0) print l; close(new); done = 1 }
        /^## Scale: / { emit(); skip = 1; next }
        skip && /^## / { skip = 0; print "" }
        !done && /^## How it was measured/ { emit(); print "" }
        !skip { print }
        END { if (!done) { print ""; emit() } }' "$file" >"$T/scale-spliced.md"
    cp "$T/scale-spliced.md" "$file"
}
