# Sourced by bench.sh: section j, compiled modules shared by a daemon's tasks. Two measurements of the big
# generated module (scripts/lib/big-module.py, as in e.):
#   1. warm start: `ctr run --rm` to its output, the big module next to hello.wasm, interleaved, medians
#      (target: the big module within 10 ms of hello);
#   2. memory: the daemon's RSS and PSS with 100 replicas of the big module sleeping, next to one of them plus
#      100 sleeping hellos (sleep.wasm) (target: 100 big ≤ 1.1 × (1 big + 100 × a sleeping hello)). Each
#      half starts from a fresh daemon that has run one hello.
#
#   bench_modules FUNCTIONS RUNS REPLICAS     sets J_* (read by modules_section)
#   modules_section                           writes $T/modules-section.md
#   splice_modules_section FILE               puts it in FILE in place of its own section (or before
#                                             "## How it was measured", or at the end)
#
# Uses bench.sh's T, REPO, PROGS, KRILL, SOCK, NS, CTR_BIN, PAR, ctr, img, run_once, stats, rss_kb, pss_kb,
# daemon_pids, remove_all_containers, mib, note, die, HELLO_OUT, I_HELLO_W, I_SLEEP_W, DATE, CPU_MODEL,
# NPROC, LOAD_START; stop_krill_daemon (bench-cold-start.sh).

# j_sleepers IMAGE PREFIX FROM TO: `ctr run -d` of PREFIX<FROM..TO> in parallel, then checks PREFIX1..TO all run
j_sleepers() {
    local image=$1 prefix=$2 from=$3 to=$4 running
    seq "$from" "$to" | xargs -P $PAR -I{} "$CTR_BIN" -a "$SOCK" -n "$NS" run -d --null-io --runtime "$KRILL" \
        "$image" "$prefix{}" >"$T/j-xargs.log" 2>&1 || { tail "$T/j-xargs.log" >&2; die "ctr run -d failed"; }
    running=$(ctr tasks ls | awk -v p="^$prefix[0-9]+$" '$1 ~ p && $3 == "RUNNING"' | wc -l)
    [ "$running" -eq "$to" ] || die "$running of $to $prefix containers are running"
}

# j_fresh_daemon: stops the krill daemon, starts a new one with one hello, sets J_DAEMON
j_fresh_daemon() {
    [ -z "$(ctr tasks ls -q)" ] || die "tasks left before a memory measurement"
    stop_krill_daemon
    run_once "$KRILL" "$I_HELLO_W" "j-fresh-$RANDOM" "$HELLO_OUT" >/dev/null
    J_DAEMON=$(daemon_pids | head -1)
    [ -n "$J_DAEMON" ] || die "no krill daemon after a hello"
}

# j_mem NAME: RSS and PSS of the daemon (KiB) into J_RSS[NAME], J_PSS[NAME], after the guests settle
j_mem() {
    sleep 3
    [ "$(daemon_pids | head -1)" = "$J_DAEMON" ] || die "the krill daemon changed during the memory test"
    J_RSS[$1]=$(rss_kb "$J_DAEMON"); J_PSS[$1]=$(pss_kb "$J_DAEMON")
    note "$1: daemon RSS $(mib ${J_RSS[$1]}) MiB, PSS $(mib ${J_PSS[$1]}) MiB"
}

declare -A J_RSS J_PSS
bench_modules() {
    local n=$1 runs=$2 replicas=$3 seed i a b
    command -v wat2wasm >/dev/null || die "wat2wasm not found: run 'make deps'"
    seed=$(date +%s%N | cut -c1-15)
    python3 "$REPO/scripts/lib/big-module.py" "$n" "$seed" >"$T/j-big.wat"
    python3 "$REPO/scripts/lib/big-module.py" "$n" "$seed" 3600 >"$T/j-big-sleep.wat"
    wat2wasm "$T/j-big.wat" -o "$T/j-big.wasm" || die "wat2wasm could not compile the generated module"
    wat2wasm "$T/j-big-sleep.wat" -o "$T/j-big-sleep.wasm" || die "wat2wasm could not compile the sleeping module"
    rm -f "$T"/j-big*.wat
    J_SIZE_MIB=$(awk -v b="$(stat -c %s "$T/j-big.wasm")" 'BEGIN { printf "%.1f", b / 1048576 }')
    img bench/j-big "$T/j1.tar" /big.wasm -- "/big.wasm=$T/j-big.wasm"
    img bench/j-big-sleep "$T/j2.tar" /big.wasm -- "/big.wasm=$T/j-big-sleep.wasm"
    local big=docker.io/bench/j-big:latest sleeper=docker.io/bench/j-big-sleep:latest
    note "generated big.wasm: $n functions, $J_SIZE_MIB MiB (and its sleeping twin)"

    # 1. warm start, one daemon: the first run of each compiles (and is not counted)
    run_once "$KRILL" "$I_HELLO_W" j-hello-warm "$HELLO_OUT" >/dev/null
    J_COLD=$(run_once "$KRILL" "$big" j-big-cold "big module ok")
    note "big module, first run (compile): $J_COLD ms"
    : >"$T/j-hello"; : >"$T/j-big"
    for ((i = 1; i <= runs; i++)); do
        a=$(run_once "$KRILL" "$I_HELLO_W" "j-h$i" "$HELLO_OUT"); echo "$a" >>"$T/j-hello"
        b=$(run_once "$KRILL" "$big" "j-b$i" "big module ok"); echo "$b" >>"$T/j-big"
        note "run $i: hello $a ms, big $b ms"
    done
    read -r J_HELLO_MED J_HELLO_P90 J_HELLO_MIN J_HELLO_MAX _ < <(stats "$T/j-hello")
    read -r J_BIG_MED J_BIG_P90 J_BIG_MIN J_BIG_MAX _ < <(stats "$T/j-big")
    J_DIFF=$(awk -v b="$J_BIG_MED" -v h="$J_HELLO_MED" 'BEGIN { printf "%.1f", b - h }')
    J_START_MET=$(awk -v d="$J_DIFF" 'BEGIN { print (d <= 10) ? "met" : "missed" }')
    note "warm start medians: hello $J_HELLO_MED ms, big $J_BIG_MED ms (+$J_DIFF ms; target <= +10 ms: $J_START_MET)"
    # The sleeping twin is compiled once here, so the memory runs below load it from the disk cache.
    ctr run -d --null-io --runtime "$KRILL" "$sleeper" j-compile >/dev/null
    remove_all_containers

    # 2. memory
    j_fresh_daemon
    j_mem base-hellos
    j_sleepers "$I_SLEEP_W" j-sleep-h 1 "$replicas"
    j_mem "$replicas-hellos"
    remove_all_containers
    j_fresh_daemon
    j_mem base-big
    j_sleepers "$sleeper" j-sleep-b 1 1
    j_mem 1-big
    j_sleepers "$sleeper" j-sleep-b 2 "$replicas"
    j_mem "$replicas-big"
    remove_all_containers
    J_REPLICAS=$replicas
    # 1 big + N sleeping hellos, as one daemon would hold them: the 1-big daemon plus what N hellos added
    J_ONE_PLUS_RSS=$((${J_RSS[1-big]} + ${J_RSS[$replicas-hellos]} - ${J_RSS[base-hellos]}))
    J_ONE_PLUS_PSS=$((${J_PSS[1-big]} + ${J_PSS[$replicas-hellos]} - ${J_PSS[base-hellos]}))
    J_RATIO_RSS=$(awk -v a="${J_RSS[$replicas-big]}" -v b="$J_ONE_PLUS_RSS" 'BEGIN { printf "%.2f", a / b }')
    J_RATIO_PSS=$(awk -v a="${J_PSS[$replicas-big]}" -v b="$J_ONE_PLUS_PSS" 'BEGIN { printf "%.2f", a / b }')
    J_HELLO_PER=$(awk -v a="${J_RSS[$replicas-hellos]}" -v b="${J_RSS[base-hellos]}" -v n="$replicas" \
        'BEGIN { printf "%.0f", (a - b) / n }')
    J_BIG_PER=$(awk -v a="${J_RSS[$replicas-big]}" -v b="${J_RSS[1-big]}" -v n="$replicas" \
        'BEGIN { printf "%.0f", (a - b) / (n - 1) }')
    J_MEM_MET=$(awk -v r="$J_RATIO_RSS" 'BEGIN { print (r <= 1.1) ? "met" : "missed" }')
    note "$replicas big: RSS $(mib ${J_RSS[$replicas-big]}) MiB vs 1 big + $replicas hellos $(mib $J_ONE_PLUS_RSS) MiB" \
        "(x $J_RATIO_RSS, PSS x $J_RATIO_PSS; target <= 1.1: $J_MEM_MET)"
    note "per extra replica: big $J_BIG_PER KiB RSS, sleeping hello $J_HELLO_PER KiB RSS"
}

modules_section() {
    local r=$J_REPLICAS
    {
        echo "## Compiled modules shared by a daemon's tasks"
        echo
        echo "Generated by \`scripts/bench.sh\` (section j, or \`--modules-only\`) on $DATE,"
        echo "$NPROC × $CPU_MODEL, load average $LOAD_START before and $(cut -d' ' -f1-3 /proc/loadavg) after."
        echo
        echo "| Measurement | krill | Target | Met? |"
        echo "|---|---:|---|---|"
        echo "| warm \`ctr run --rm\` to output, hello.wasm, median (p90, min–max) of $(wc -l <"$T/j-hello") | $J_HELLO_MED ms ($J_HELLO_P90, $J_HELLO_MIN–$J_HELLO_MAX) | | |"
        echo "| same, the $J_SIZE_MIB MiB module (first run, compiling: $J_COLD ms) | $J_BIG_MED ms ($J_BIG_P90, $J_BIG_MIN–$J_BIG_MAX) | ≤ hello + 10 ms | $J_START_MET (+$J_DIFF ms) |"
        echo "| daemon, fresh, one hello run: RSS (PSS) | $(mib ${J_RSS[base-hellos]}) MiB ($(mib ${J_PSS[base-hellos]})) | | |"
        echo "| same + $r sleeping hellos | $(mib ${J_RSS[$r-hellos]}) MiB ($(mib ${J_PSS[$r-hellos]})), $J_HELLO_PER KiB RSS each | | |"
        echo "| fresh daemon + 1 big module sleeping | $(mib ${J_RSS[1-big]}) MiB ($(mib ${J_PSS[1-big]})) | | |"
        echo "| 1 big + $r × a sleeping hello (the two rows above, added) | $(mib $J_ONE_PLUS_RSS) MiB ($(mib $J_ONE_PLUS_PSS)) | | |"
        echo "| fresh daemon + $r replicas of the big module sleeping | $(mib ${J_RSS[$r-big]}) MiB ($(mib ${J_PSS[$r-big]})), $J_BIG_PER KiB RSS each | ≤ 1.1 × the row above | $J_MEM_MET (× $J_RATIO_RSS; PSS × $J_RATIO_PSS) |"
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
        awk -v l="${LOAD_START%% *}" 'BEGIN { exit !(l > 1.0) }' \
            && echo "- **The machine was busy with other jobs during this run** (load average above): the start times are" \
            && echo "  inflated and spread; the memory rows do not depend on it."
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
        END { if (!done) { print ""; emit() } }' "$file" >"$T/j-spliced.md"
    cp "$T/j-spliced.md" "$file"
}
