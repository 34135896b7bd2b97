# Sourced by bench.sh: section f, cold start. Every krill run here starts with no krill daemon for the
# namespace (the previous one is stopped by its pid first), so it pays for the JVM start, as the first wasm task
# of a namespace and every task after an idle exit does; every runc run starts a new shim anyway. Then
# `krill cri`: from its exec to its log line saying it serves (written once its socket listens).
#
#   bench_cold_start RUNS   sets F_{KRILL,RUNC}_{FIRST,TOTAL}_{MED,P90}, F_KRILL_CPU_MED, F_RATIO, F_CRI_MED,
#                           F_CRI_P90, F_CRI_CPU_MED, F_ARCHIVE
#
# Uses bench.sh's T, SOCK, KRILL, RUNC, KRILL_HOME, images, ctr, daemon_pids, cmdline, now_us, stats, note, die.

# Stops our containerd's krill daemon by its pid and waits until it is gone.
stop_krill_daemon() {
    local pid i
    for pid in $(daemon_pids); do kill "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 100; i++)); do [ -z "$(daemon_pids)" ] && return 0; sleep 0.05; done
    die "the krill daemon did not exit on SIGTERM"
}

# cold_once RUNTIME IMAGE ID EXPECTED -> "FIRST_MS TOTAL_MS": from exec of `ctr run --rm` to the first line of
# the guest's output, and to ctr's exit; fails loudly on a wrong output or exit code.
cold_once() {
    local t0 t2 res first_t out rc
    t0=$(now_us)
    res=$({ ctr run --rm --runtime "$1" "$2" "$3" 2>&1; echo "exit $?"; } | {
        IFS= read -r first; now_us; printf '%s\n' "$first"; cat; })
    t2=$(now_us)
    first_t=$(sed -n 1p <<<"$res")
    out=$(sed -n '2,$p' <<<"$res" | sed '$d')
    rc=$(tail -n 1 <<<"$res")
    if [ "$rc" != "exit 0" ] || [ "$out" != "$4" ]; then
        echo "bench: ctr run --rm --runtime $1 $2 $3: $rc, output:" >&2
        printf '%s\n' "$out" | head -20 >&2
        tail -n 20 "$T/containerd.log" >&2
        tail -n 20 "$T"/krill-run/shim/*/daemon.log >&2
        return 1
    fi
    awk -v a=$((first_t - t0)) -v b=$((t2 - t0)) 'BEGIN { printf "%.2f %.2f", a / 1000, b / 1000 }'
}

bench_cold_start() {
    local runs=$1 i k r pid log
    : >"$T/f-krill-first"; : >"$T/f-krill-total"; : >"$T/f-runc-first"; : >"$T/f-runc-total"; : >"$T/f-krill-cpu"
    for ((i = 1; i <= runs; i++)); do   # interleaved, so drift hits both runtimes alike
        stop_krill_daemon
        k=$(cold_once "$KRILL" "$I_HELLO_W" "cold-w$i" "$HELLO_OUT")
        # The new daemon's CPU time so far (user + system, all its threads): what its start and first task
        # cost, whatever else the machine is doing.
        pid=$(daemon_pids | head -1)
        c=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($14 + $15) * 1000 / hz }' "/proc/$pid/stat")
        r=$(cold_once "$RUNC" "$I_HELLO_N" "cold-n$i" "$HELLO_OUT")
        echo "${k% *}" >>"$T/f-krill-first"; echo "${k#* }" >>"$T/f-krill-total"; echo "$c" >>"$T/f-krill-cpu"
        echo "${r% *}" >>"$T/f-runc-first"; echo "${r#* }" >>"$T/f-runc-total"
        note "run $i: krill first output ${k% *} ms (ctr exits ${k#* } ms, daemon CPU $c ms), runc ${r% *} ms (${r#* } ms)"
    done
    pid=$(daemon_pids | head -1)
    [ -n "$pid" ] || die "no krill daemon after the cold runs"
    if [[ $(cmdline "$pid") == *-XX:AOTCache=* ]]; then
        F_ARCHIVE=$(cmdline "$pid" | sed -n 's/.*-XX:AOTCache=\([^ ]*\).*/\1/p')
        F_ARCHIVE="AOT cache ${F_ARCHIVE#"$KRILL_HOME"/}"
    else
        F_ARCHIVE="no AOT cache"
    fi
    note "daemon java: $(readlink "/proc/$pid/exe"), $F_ARCHIVE"
    read -r F_KRILL_FIRST_MED F_KRILL_FIRST_P90 _ < <(stats "$T/f-krill-first")
    read -r F_KRILL_TOTAL_MED F_KRILL_TOTAL_P90 _ < <(stats "$T/f-krill-total")
    read -r F_KRILL_CPU_MED _ < <(stats "$T/f-krill-cpu")
    read -r F_RUNC_FIRST_MED F_RUNC_FIRST_P90 _ < <(stats "$T/f-runc-first")
    read -r F_RUNC_TOTAL_MED F_RUNC_TOTAL_P90 _ < <(stats "$T/f-runc-total")
    F_RATIO=$(awk -v k="$F_KRILL_FIRST_MED" -v r="$F_RUNC_FIRST_MED" 'BEGIN { printf "%.2f", k / r }')
    note "krill cold, to first output: median $F_KRILL_FIRST_MED ms, p90 $F_KRILL_FIRST_P90 ms (ctr exits: $F_KRILL_TOTAL_MED / $F_KRILL_TOTAL_P90 ms), daemon CPU median $F_KRILL_CPU_MED ms"
    note "runc,       to first output: median $F_RUNC_FIRST_MED ms, p90 $F_RUNC_FIRST_P90 ms (ctr exits: $F_RUNC_TOTAL_MED / $F_RUNC_TOTAL_P90 ms)"
    note "krill/runc first-output median ratio: $F_RATIO (target: krill <= 250 ms and <= 2 x runc)"

    # krill cri: from the exec of `krill cri` to its "serving" line, a fresh root each run.
    : >"$T/f-cri"; : >"$T/f-cri-cpu"
    for ((i = 1; i <= runs; i++)); do
        local sock=$T/cri$i.sock t0 t1 cpid
        log=$T/cri$i.log
        : >"$log"
        t0=$(now_us)
        "$KRILL_HOME/bin/krill" cri --socket "$sock" --root "$T/cri-root$i" --cni-conf-dir "$T/no-cni" \
            >"$log" 2>&1 &
        cpid=$!
        until grep -q 'serving runtime.v1' "$log"; do
            kill -0 "$cpid" 2>/dev/null || { cat "$log" >&2; die "krill cri exited before serving"; }
            sleep 0.002
        done
        t1=$(now_us)
        c=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($14 + $15) * 1000 / hz }' "/proc/$cpid/stat")
        kill "$cpid"; wait "$cpid" 2>/dev/null || true
        rm -rf "$T/cri-root$i"
        echo "$c" >>"$T/f-cri-cpu"
        awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f\n", d / 1000 }' | tee -a "$T/f-cri" | sed "s/^/krill cri run $i: serving after /; s/\$/ ms (CPU $c ms)/"
    done
    read -r F_CRI_MED F_CRI_P90 _ < <(stats "$T/f-cri")
    read -r F_CRI_CPU_MED _ < <(stats "$T/f-cri-cpu")
    note "krill cri, process start to serving: median $F_CRI_MED ms, p90 $F_CRI_P90 ms, CPU median $F_CRI_CPU_MED ms"
}
