# Sourced by bench.sh: section i, the pure-Java engine (Chicory) next to Wasmtime and native, and the cost of one
# WASI host call. The daemon reads its engine from the config file bench.sh gives containerd's environment
# (KRILL_CONFIG); a daemon keeps its engine for life, so switching means: rewrite the file, stop the daemon by its
# pid, and let the next krill task start a new one. The Chicory rows therefore run after a.–e., in the same
# containerd and namespace, and the section switches back to Wasmtime when it is done.
#
#   set_engine NAME                  writes ENGINE_CONF: `engine = "NAME"` over the user's KRILL_CONFIG, if any
#   bench_engines RUNS CPU_RUNS WRITES WRITE_RUNS
#       sets I_CHICORY_HELLO_{MED,P90}, I_CHICORY_CPU_MED, I_CHICORY_SPEED, I_CHICORY_SPEED_NET, I_CPU_RUNC_MED,
#       I_WRITES, I_{RUNC,WASMTIME,CHICORY}_{ZERO,FULL}_MED, I_{RUNC,WASMTIME,CHICORY}_NS
#
# Uses bench.sh's T, ENGINE_CONF, USER_KRILL_CONFIG, KRILL, RUNC, images, ctr, run_once, daemon_pids, stats,
# now_us, note, die, and stop_krill_daemon (bench-cold-start.sh); A_KRILL_MED, D_RUNC_MED if a. and d. ran.

set_engine() {
    {
        echo "engine = \"$1\""
        [ -z "$USER_KRILL_CONFIG" ] || grep -v '^[[:space:]]*engine[[:space:]]*=' "$USER_KRILL_CONFIG"
    } >"$ENGINE_CONF"
}

# Switches the daemon to ENGINE and checks, by the new daemon's start line in its log, that it runs it.
switch_engine() {
    local engine=$1 pid
    set_engine "$engine"
    stop_krill_daemon
    run_once $KRILL $I_HELLO_W "engine-$engine" "$HELLO_OUT" >/dev/null
    pid=$(daemon_pids | head -1)
    [ -n "$pid" ] || die "no krill daemon after switching to $engine"
    find "$T/krill-run" -name 'daemon.log*' -type f -exec cat {} + 2>/dev/null \
        | grep -q "krill daemon $pid serving .*engine $engine)" \
        || die "the new krill daemon $pid does not say it runs engine $engine (logs under $T/krill-run)"
    note "krill daemon $pid runs engine $engine"
}

# log_once RUNTIME IMAGE ID N ARGS... -> wall time in ms of `ctr run --rm --log-uri file://...`: the shim writes the
# guest's stdout straight to a file (ctr copies nothing); checks the exit code and that the file has N bytes
log_once() {
    local rt=$1 image=$2 id=$3 n=$4 t0 t1 rc size
    shift 4
    rm -f "$T/log.out"
    t0=$(now_us)
    set +e
    ctr run --rm --log-uri "file://$T/log.out" --runtime "$rt" "$image" "$id" "$@" >"$T/ctr.out" 2>&1
    rc=$?
    set -e
    t1=$(now_us)
    [ $rc -eq 0 ] || { cat "$T/ctr.out" >&2; die "ctr run --rm --runtime $rt $image $id $*: exit code $rc"; }
    size=$(stat -c %s "$T/log.out" 2>/dev/null || echo 0)
    [ "$size" -eq "$n" ] || die "ctr run --rm --runtime $rt $image $id $*: $size bytes of stdout, expected $n"
    awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1000 }'
}

# writes_rows NAME RUNTIME IMAGE ENTRY WRITES RUNS: times of N = 0 and N = WRITES one-byte writes, interleaved
writes_rows() {
    local name=$1 rt=$2 image=$3 entry=$4 n=$5 runs=$6 i a b
    : >"$T/i-$name-0"; : >"$T/i-$name-n"
    log_once "$rt" "$image" "w-$name-warm" 0 "$entry" 0 >/dev/null
    for ((i = 1; i <= runs; i++)); do
        a=$(log_once "$rt" "$image" "w-$name-0-$i" 0 "$entry" 0); echo "$a" >>"$T/i-$name-0"
        b=$(log_once "$rt" "$image" "w-$name-n-$i" "$n" "$entry" "$n"); echo "$b" >>"$T/i-$name-n"
        note "$name run $i: 0 writes $a ms, $n writes $b ms"
    done
}

bench_engines() {
    local runs=$1 cpu_runs=$2 n=$3 wruns=$4 i a name z f
    I_WRITES=$n
    # host-call overhead on the default engine first (the daemon a.–e. used)
    writes_rows runc $RUNC "$I_WRITES_N" /writes "$n" "$wruns"
    writes_rows wasmtime $KRILL "$I_WRITES_W" /writes.wasm "$n" "$wruns"
    if [ -z "${D_RUNC_MED:-}" ]; then   # d. did not run (--engines-only)
        : >"$T/i-cpu-runc"
        for ((i = 1; i <= cpu_runs; i++)); do run_once $RUNC $I_CPU_N icn$i "$CPU_OUT" >>"$T/i-cpu-runc"; echo >>"$T/i-cpu-runc"; done
        read -r I_CPU_RUNC_MED _ < <(stats "$T/i-cpu-runc")
    else
        I_CPU_RUNC_MED=$D_RUNC_MED
    fi

    switch_engine chicory
    for ((i = 1; i <= WARMUP; i++)); do run_once $KRILL $I_HELLO_W ich-warm$i "$HELLO_OUT" >/dev/null; done
    : >"$T/i-hello"
    for ((i = 1; i <= runs; i++)); do run_once $KRILL $I_HELLO_W ich$i "$HELLO_OUT" >>"$T/i-hello"; echo >>"$T/i-hello"; done
    read -r I_CHICORY_HELLO_MED I_CHICORY_HELLO_P90 _ < <(stats "$T/i-hello")
    note "chicory hello: median $I_CHICORY_HELLO_MED ms, p90 $I_CHICORY_HELLO_P90 ms (n=$runs)"
    a=$(run_once $KRILL $I_CPU_W icw-warm "$CPU_OUT")
    note "chicory cpu warm-up (compiles the module): $a ms"
    : >"$T/i-cpu"
    for ((i = 1; i <= cpu_runs; i++)); do
        a=$(run_once $KRILL $I_CPU_W icw$i "$CPU_OUT"); echo "$a" >>"$T/i-cpu"
        note "chicory cpu run $i: $a ms"
    done
    read -r I_CHICORY_CPU_MED _ < <(stats "$T/i-cpu")
    I_CHICORY_SPEED=$(awk -v n="$I_CPU_RUNC_MED" -v w="$I_CHICORY_CPU_MED" 'BEGIN { printf "%.2f", n / w }')
    I_CHICORY_SPEED_NET=nan
    if [ -n "${A_RUNC_MED:-}" ]; then
        I_CHICORY_SPEED_NET=$(awk -v n="$I_CPU_RUNC_MED" -v w="$I_CHICORY_CPU_MED" -v hn="$A_RUNC_MED" \
            -v hw="$I_CHICORY_HELLO_MED" 'BEGIN { printf "%.2f", (n - hn) / (w - hw) }')
    fi
    note "chicory cpu: median $I_CHICORY_CPU_MED ms vs runc $I_CPU_RUNC_MED ms -> native/chicory = $I_CHICORY_SPEED (compute only, estimate: $I_CHICORY_SPEED_NET)"
    writes_rows chicory $KRILL "$I_WRITES_W" /writes.wasm "$n" "$wruns"

    switch_engine wasmtime   # h. and later sections run on the default engine again

    for name in runc wasmtime chicory; do
        read -r z _ < <(stats "$T/i-$name-0")
        read -r f _ < <(stats "$T/i-$name-n")
        printf -v "I_${name^^}_ZERO_MED" '%s' "$z"
        printf -v "I_${name^^}_FULL_MED" '%s' "$f"
        printf -v "I_${name^^}_NS" '%s' "$(awk -v z="$z" -v f="$f" -v n="$n" 'BEGIN { printf "%.0f", (f - z) * 1e6 / n }')"
    done
    note "host calls ($n one-byte writes, median of $wruns, minus the same program with 0 writes):"
    note "  runc $I_RUNC_FULL_MED - $I_RUNC_ZERO_MED ms -> $I_RUNC_NS ns per write(2)"
    note "  krill/wasmtime $I_WASMTIME_FULL_MED - $I_WASMTIME_ZERO_MED ms -> $I_WASMTIME_NS ns per fd_write"
    note "  krill/chicory $I_CHICORY_FULL_MED - $I_CHICORY_ZERO_MED ms -> $I_CHICORY_NS ns per fd_write"
}
