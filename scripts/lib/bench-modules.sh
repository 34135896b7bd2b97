# Sourced by bench.sh: section l, compiled modules shared by a daemon's tasks. Two measurements of the big
# generated module (scripts/lib/big-module.py, as in e.):
#   1. warm start: `ctr run --rm` to its output, the big module next to hello.wasm, interleaved, medians
#      (target: the big module within 10 ms of hello);
#   2. memory: the daemon's RSS and PSS with 100 replicas of the big module sleeping, next to one of them plus
#      100 sleeping hellos (sleep.wasm) (target: 100 big ≤ 1.1 × (1 big + 100 × a sleeping hello)). Each
#      half starts from a fresh daemon that has run one hello.
#
#   bench_modules FUNCTIONS RUNS REPLICAS     sets L_* (read by modules_section)
#   modules_section                           writes $T/modules-section.md
#   splice_modules_section FILE               puts it in FILE in place of its own section (or before
#                                             "## How it was measured", or at the end)
#
# Uses bench.sh's T, REPO, PROGS, KRILL, SOCK, NS, CTR_BIN, PAR, ctr, img, run_once, stats, rss_kb, pss_kb,
# daemon_pids, remove_all_containers, mib, note, die, HELLO_OUT, I_HELLO_W, I_SLEEP_W, DATE, CPU_MODEL,
# NPROC, LOAD_START; stop_krill_daemon (bench-cold-start.sh).

# l_sleepers IMAGE PREFIX FROM TO: `ctr run -d` of PREFIX<FROM..TO> in parallel, then checks PREFIX1..TO all run
l_sleepers() {
    local image=$1 prefix=$2 from=$3 to=$4 running
    seq "$from" "$to" | xargs -P $PAR -I{} "$CTR_BIN" -a "$SOCK" -n "$NS" run -d --null-io --runtime "$KRILL" \
        "$image" "$prefix{}" >"$T/l-xargs.log" 2>&1 || { tail "$T/l-xargs.log" >&2; die "ctr run -d failed"; }
    running=$(ctr tasks ls | awk -v p="^$prefix[0-9]+$" '$1 ~ p && $3 == "RUNNING"' | wc -l)
    [ "$running" -eq "$to" ] || die "$running of $to $prefix containers are running"
}

# l_fresh_daemon: stops the krill daemon, starts a new one with one hello, sets L_DAEMON
l_fresh_daemon() {
    [ -z "$(ctr tasks ls -q)" ] || die "tasks left before a memory measurement"
    stop_krill_daemon
    run_once "$KRILL" "$I_HELLO_W" "l-fresh-$RANDOM" "$HELLO_OUT" >/dev/null
    L_DAEMON=$(daemon_pids | head -1)
    [ -n "$L_DAEMON" ] || die "no krill daemon after a hello"
}

# l_mem NAME: RSS and PSS of the daemon (KiB) into L_RSS[NAME], L_PSS[NAME], after the guests settle
l_mem() {
    sleep 3
    [ "$(daemon_pids | head -1)" = "$L_DAEMON" ] || die "the krill daemon changed during the memory test"
    L_RSS[$1]=$(rss_kb "$L_DAEMON"); L_PSS[$1]=$(pss_kb "$L_DAEMON")
    note "$1: daemon RSS $(mib ${L_RSS[$1]}) MiB, PSS $(mib ${L_PSS[$1]}) MiB"
}

declare -A L_RSS L_PSS
bench_modules() {
    local n=$1 runs=$2 replicas=$3 seed i a b
    command -v wat2wasm >/dev/null || die "wat2wasm not found: run 'make deps'"
    seed=$(date +%s%N | cut -c1-15)
    python3 "$REPO/scripts/lib/big-module.py" "$n" "$seed" >"$T/l-big.wat"
    python3 "$REPO/scripts/lib/big-module.py" "$n" "$seed" 3600 >"$T/l-big-sleep.wat"
    wat2wasm "$T/l-big.wat" -o "$T/l-big.wasm" || die "wat2wasm could not compile the generated module"
    wat2wasm "$T/l-big-sleep.wat" -o "$T/l-big-sleep.wasm" || die "wat2wasm could not compile the sleeping module"
    rm -f "$T"/l-big*.wat
    L_SIZE_MIB=$(awk -v b="$(stat -c %s "$T/l-big.wasm")" 'BEGIN { printf "%.1f", b / 1048576 }')
    img bench/l-big "$T/l1.tar" /big.wasm -- "/big.wasm=$T/l-big.wasm"
    img bench/l-big-sleep "$T/l2.tar" /big.wasm -- "/big.wasm=$T/l-big-sleep.wasm"
    local big=docker.io/bench/l-big:latest sleeper=docker.io/bench/l-big-sleep:latest
    note "generated big.wasm: $n functions, $L_SIZE_MIB MiB (and its sleeping twin)"

    # 1. warm start, one daemon: the first run of each compiles (and is not counted)
    run_once "$KRILL" "$I_HELLO_W" l-hello-warm "$HELLO_OUT" >/dev/null
    L_COLD=$(run_once "$KRILL" "$big" l-big-cold "big module ok")
    note "big module, first run (compile): $L_COLD ms"
    : >"$T/l-hello"; : >"$T/l-big"
    for ((i = 1; i <= runs; i++)); do
        a=$(run_once "$KRILL" "$I_HELLO_W" "l-h$i" "$HELLO_OUT"); echo "$a" >>"$T/l-hello"
        b=$(run_once "$KRILL" "$big" "l-b$i" "big module ok"); echo "$b" >>"$T/l-big"
        note "run $i: hello $a ms, big $b ms"
    done
    read -r L_HELLO_MED L_HELLO_P90 L_HELLO_MIN L_HELLO_MAX _ < <(stats "$T/l-hello")
    read -r L_BIG_MED L_BIG_P90 L_BIG_MIN L_BIG_MAX _ < <(stats "$T/l-big")
    L_DIFF=$(awk -v b="$L_BIG_MED" -v h="$L_HELLO_MED" 'BEGIN { printf "%.1f", b - h }')
    L_START_MET=$(awk -v d="$L_DIFF" 'BEGIN { print (d <= 10) ? "met" : "missed" }')
    note "warm start medians: hello $L_HELLO_MED ms, big $L_BIG_MED ms (+$L_DIFF ms; target <= +10 ms: $L_START_MET)"
    # The sleeping twin is compiled once here, so the memory runs below load it from the disk cache.
    ctr run -d --null-io --runtime "$KRILL" "$sleeper" l-compile >/dev/null
    remove_all_containers

    # 2. memory
    l_fresh_daemon
    l_mem base-hellos
    l_sleepers "$I_SLEEP_W" l-sleep-h 1 "$replicas"
    l_mem "$replicas-hellos"
    remove_all_containers
    l_fresh_daemon
    l_mem base-big
    l_sleepers "$sleeper" l-sleep-b 1 1
    l_mem 1-big
    l_sleepers "$sleeper" l-sleep-b 2 "$replicas"
    l_mem "$replicas-big"
    remove_all_containers
    L_REPLICAS=$replicas
    # 1 big + N sleeping hellos, as one daemon would hold them: the 1-big daemon plus what N hellos added
    L_ONE_PLUS_RSS=$((${L_RSS[1-big]} + ${L_RSS[$replicas-hellos]} - ${L_RSS[base-hellos]}))
    L_ONE_PLUS_PSS=$((${L_PSS[1-big]} + ${L_PSS[$replicas-hellos]} - ${L_PSS[base-hellos]}))
    L_RATIO_RSS=$(awk -v a="${L_RSS[$replicas-big]}" -v b="$L_ONE_PLUS_RSS" 'BEGIN { printf "%.2f", a / b }')
    L_RATIO_PSS=$(awk -v a="${L_PSS[$replicas-big]}" -v b="$L_ONE_PLUS_PSS" 'BEGIN { printf "%.2f", a / b }')
    L_HELLO_PER=$(awk -v a="${L_RSS[$replicas-hellos]}" -v b="${L_RSS[base-hellos]}" -v n="$replicas" \
        'BEGIN { printf "%.0f", (a - b) / n }')
    L_BIG_PER=$(awk -v a="${L_RSS[$replicas-big]}" -v b="${L_RSS[1-big]}" -v n="$replicas" \
        'BEGIN { printf "%.0f", (a - b) / (n - 1) }')
    L_MEM_MET=$(awk -v r="$L_RATIO_RSS" 'BEGIN { print (r <= 1.1) ? "met" : "missed" }')
    note "$replicas big: RSS $(mib ${L_RSS[$replicas-big]}) MiB vs 1 big + $replicas hellos $(mib $L_ONE_PLUS_RSS) MiB" \
        "(x $L_RATIO_RSS, PSS x $L_RATIO_PSS; target <= 1.1: $L_MEM_MET)"
    note "per extra replica: big $L_BIG_PER KiB RSS, sleeping hello $L_HELLO_PER KiB RSS"
}

modules_section() {
    local r=$L_REPLICAS
    {
        echo "## Compiled modules shared by a daemon's tasks"
        echo
        echo "Generated by \`scripts/bench.sh\` (section l, or \`--modules-only\`) on $DATE,"
        echo "$NPROC × $CPU_MODEL, load average $LOAD_START before and $(cut -d' ' -f1-3 /proc/loadavg) after."
        echo
        echo "| Measurement | krill | Target | Met? |"
        echo "|---|---:|---|---|"
        echo "| warm \`ctr run --rm\` to output, hello.wasm, median (p90, min–max) of $(wc -l <"$T/l-hello") | $L_HELLO_MED ms ($L_HELLO_P90, $L_HELLO_MIN–$L_HELLO_MAX) | | |"
        echo "| same, the $L_SIZE_MIB MiB module (first run, compiling: $L_COLD ms) | $L_BIG_MED ms ($L_BIG_P90, $L_BIG_MIN–$L_BIG_MAX) | ≤ hello + 10 ms | $L_START_MET (+$L_DIFF ms) |"
        echo "| daemon, fresh, one hello run: RSS (PSS) | $(mib ${L_RSS[base-hellos]}) MiB ($(mib ${L_PSS[base-hellos]})) | | |"
        echo "| same + $r sleeping hellos | $(mib ${L_RSS[$r-hellos]}) MiB ($(mib ${L_PSS[$r-hellos]})), $L_HELLO_PER KiB RSS each | | |"
        echo "| fresh daemon + 1 big module sleeping | $(mib ${L_RSS[1-big]}) MiB ($(mib ${L_PSS[1-big]})) | | |"
        echo "| 1 big + $r × a sleeping hello (the two rows above, added) | $(mib $L_ONE_PLUS_RSS) MiB ($(mib $L_ONE_PLUS_PSS)) | | |"
        echo "| fresh daemon + $r replicas of the big module sleeping | $(mib ${L_RSS[$r-big]}) MiB ($(mib ${L_PSS[$r-big]})), $L_BIG_PER KiB RSS each | ≤ 1.1 × the row above | $L_MEM_MET (× $L_RATIO_RSS; PSS × $L_RATIO_PSS) |"
        echo
        echo "- The big module is \`scripts/lib/big-module.py\`'s (4000 functions, as in e.), with a fresh seed; its"
        echo "  sleeping twin (same seed, \`SECONDS\` = 3600) prints, then sleeps in one \`poll_oneoff\`. The warm runs"
        echo "  interleave hello and the big module in one daemon, after one run of each; each memory half starts from"
        echo "  a daemon stopped and started again by one hello, and reads its \`VmRSS\` and \`smaps_rollup\` PSS 3 s after"
        echo "  \`ctr run -d\` of the last replica."
        echo "- Wasmtime (wasmtime-java 0.19) gives each guest its own \`Engine\`: a kill bumps that engine's epoch,"
        echo "  and the binding has no other way to stop one running guest (no fuel, no epoch callback, a Store locked"
        echo "  for the whole of a call). A Wasmtime \`Module\` belongs to one \`Engine\`, so replicas cannot share"
        echo "  compiled code in memory; what the daemon shares is Wasmtime's serialized artifact (kept in memory,"
        echo "  \`module_cache_entries\` / \`module_cache_memory\`), which each guest's engine decompresses and maps"
        echo "  privately. That is the per-replica cost of the big module above."
        if awk -v l="${LOAD_START%% *}" 'BEGIN { exit !(l > 1.0) }'; then
            echo "- **The machine was busy with other jobs during this run** (load average above): the start times are"
            echo "  inflated and spread; the memory rows do not depend on it."
        fi
    } >"$T/modules-section.md"
}

splice_modules_section() {
    local file=$1
    [ -f "$file" ] || die "$file does not exist: run the whole bench first"
    awk -v new="$T/modules-section.md" '
        function emit(l) { while ((getline l < new) > 0) print l; close(new); done = 1 }
        /^## Compiled modules shared/ { emit(); skip = 1; next }
        skip && /^## / { skip = 0; print "" }
        !done && /^## How it was measured/ { emit(); print "" }
        !skip { print }
        END { if (!done) { print ""; emit() } }' "$file" >"$T/l-spliced.md"
    cp "$T/l-spliced.md" "$file"
}
