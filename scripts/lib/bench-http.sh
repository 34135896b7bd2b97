# Sourced by bench.sh: section k, HTTP from a container. The same C server (integration-tests/src/test/c/serve.c:
# one connection at a time, HTTP/1.1 answers with Connection: close) runs natively under runc and as a listening
# wasm guest under krill (krill.io/listen, on Wasmtime and on Chicory); beside them krill's instance-per-request
# shape (krill.io/wagi) runs wagi.c's echo, a fresh instance per request, on both engines; all with the host's
# network, loaded by wrk at 1, 16 and 64 connections on loopback. Beside them, serve.c's loop in plain Java on the
# JDK's socket channels with no wasm (bench/jdk-serve), on the daemon's Java, on the host: what a JVM's own socket
# calls cost, which a listening guest's host calls are. The listening guest's target (>= 0.8 x native at 16
# connections) is judged on the median of HTTP_ROUNDS alternating rounds of native, the guest on Chicory and the
# Java loop, as one row's ratio moves a lot between runs on a small machine.
#
#   bench_http SECONDS        writes $T/http-section.md; sets K_* per server and connection count
#   splice_http_section FILE  puts it in FILE in place of its own section (or before "How it was measured")
#
# Then the instance per request's two costs (bench-http-instance.sh): a fresh instance's, and memory per request
# in flight.
#
# Uses bench.sh's T, REPO, PROGS, KRILL, RUNC, ctr, img, now_us, mib, section, note and die.

HTTP_CONNS=(1 16 64)
HTTP_ROUNDS=${HTTP_ROUNDS:-3}

# to_ms VALUE-WITH-UNIT (wrk's 1.23ms, 456.00us, 1.01s) -> milliseconds
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
        else printf "nan" }'
}

# http_wait PORT [LINE]: until the server answers with LINE (default hello) as a line (30 s at most)
http_wait() {
    local i line=${2:-hello}
    for ((i = 0; i < 300; i++)); do
        curl -fsS -m 1 "http://127.0.0.1:$1/" 2>/dev/null | grep -q "^$line\$" && return 0
        sleep 0.1
    done
    return 1
}

# http_load NAME PORT SECONDS [BEFORE]: wrk at each connection count (running the command BEFORE, if given, before
# each); K_RPS_NAME_C, K_P50_NAME_C, K_P99_NAME_C, K_ERR_NAME_C
http_load() {
    local name=$1 port=$2 secs=$3 before=${4:-} c out rps p50 p99 err threads
    for c in "${HTTP_CONNS[@]}"; do
        [ -z "$before" ] || $before
        threads=$((c < 2 ? 1 : 2))
        out=$(wrk -t"$threads" -c"$c" -d"${secs}s" --latency "http://127.0.0.1:$port/" 2>&1) \
            || { printf '%s\n' "$out" >&2; die "wrk against $name failed"; }
        rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
        p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
        p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
        # connect/read/write/timeout errors and non-2xx answers
        err=$(awk '/Socket errors:/ { gsub(/,/, ""); s = $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }' <<<"$out")
        printf -v "K_RPS_${name}_$c" '%s' "$rps"
        printf -v "K_P50_${name}_$c" '%s' "$p50"
        printf -v "K_P99_${name}_$c" '%s' "$p99"
        printf -v "K_ERR_${name}_$c" '%s' "$err"
        note "$name, $c connections: $rps req/s, p50 $p50 ms, p99 $p99 ms, errors $err"
    done
}

# http_rps16 PORT SECONDS VAR: wrk at 16 connections against PORT; its requests/s in VAR
http_rps16() {
    local rps
    rps=$(wrk -t2 -c16 -d"${2}s" "http://127.0.0.1:$1/" 2>&1 | awk '/^Requests\/sec:/ { print $2 }')
    [ -n "$rps" ] || die "wrk against port $1 failed"
    printf -v "$3" '%s' "$rps"
}

# http_rounds SECONDS NATIVE-PORT GUEST-PORT JDK-PORT: HTTP_ROUNDS rounds of wrk at 16 connections against the
# three in turn; per round (arrays) K_ROUND_RPS_{N,C,J} and the guest's and the JDK loop's ratios to native
# K_ROUND_X_{C,J}; the ratios' medians K_ROUND_MEDIAN_{C,J} (from stats on thousandths, so unrounded to 3 places)
http_rounds() {
    local secs=$1 r n c j
    K_ROUND_RPS_N=() K_ROUND_RPS_C=() K_ROUND_RPS_J=() K_ROUND_X_C=() K_ROUND_X_J=()
    : >"$T/k-rounds-C"
    : >"$T/k-rounds-J"
    for ((r = 1; r <= HTTP_ROUNDS; r++)); do
        http_rps16 "$2" "$secs" n
        http_rps16 "$3" "$secs" c
        http_rps16 "$4" "$secs" j
        K_ROUND_RPS_N+=("$n") K_ROUND_RPS_C+=("$c") K_ROUND_RPS_J+=("$j")
        K_ROUND_X_C+=("$(awk -v k="$c" -v n="$n" 'BEGIN { printf "%.3f", k / n }')")
        K_ROUND_X_J+=("$(awk -v k="$j" -v n="$n" 'BEGIN { printf "%.3f", k / n }')")
        awk -v k="$c" -v n="$n" 'BEGIN { print 1000 * k / n }' >>"$T/k-rounds-C"
        awk -v k="$j" -v n="$n" 'BEGIN { print 1000 * k / n }' >>"$T/k-rounds-J"
        note "round $r at 16 connections: native $n, Chicory guest $c, JDK loop $j req/s"
    done
    K_ROUND_MEDIAN_C=$(stats "$T/k-rounds-C" | awk '{ print $1 / 1000 }')
    K_ROUND_MEDIAN_J=$(stats "$T/k-rounds-J" | awk '{ print $1 / 1000 }')
}

# The listening guest on Wasmtime, started afresh: on Wasmtime a guest may make some 400,000 WASI calls in one run
# (see HostCallBudget), about 100,000 requests of serve.c, so each row gets a new one, warmed up as the others.
start_listening_wasmtime() {
    if ctr task kill -s SIGKILL k-wasmtime >/dev/null 2>&1; then sleep 0.5; fi
    ctr task delete -f k-wasmtime >/dev/null 2>&1 || true
    ctr containers delete k-wasmtime >/dev/null 2>&1 || true
    ctr run -d --null-io --net-host --runtime "$KRILL" --annotation "krill.io/listen=tcp://127.0.0.1:$K_PORT_W" \
        --annotation krill.io/engine=wasmtime docker.io/bench/serve-wasm:latest k-wasmtime >/dev/null \
        || die "cannot start the listening guest on Wasmtime"
    http_wait "$K_PORT_W" || die "the listening guest (Wasmtime) does not answer on $K_PORT_W"
    [ "${1:-}" = cold ] || wrk -t1 -c4 -d1s "http://127.0.0.1:$K_PORT_W/" >/dev/null 2>&1 || true
}

bench_http() {
    local secs=$1 port_n=18080 port_w=18081 port_c=18082 port_gw=18083 port_gc=18084 port_j=18085 c load0 load1
    K_PORT_W=$port_w
    load0=$(cut -d' ' -f1-3 /proc/loadavg)
    command -v wrk >/dev/null || {
        note "installing wrk for the HTTP benchmark"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; } \
            || die "cannot install wrk"
    }
    for f in serve.wasm serve-native wagi.wasm; do [ -f "$PROGS/$f" ] || die "missing $PROGS/$f"; done
    img bench/serve-native "$T/k1.tar" /serve -- "/serve=$PROGS/serve-native"
    img bench/serve-wasm "$T/k2.tar" /serve.wasm -- "/serve.wasm=$PROGS/serve.wasm"
    img bench/wagi "$T/k3.tar" /wagi.wasm -- "/wagi.wasm=$PROGS/wagi.wasm"
    ctr run -d --null-io --net-host --runtime "$RUNC" docker.io/bench/serve-native:latest k-native /serve "$port_n" \
        >/dev/null || die "cannot start the native server under runc"
    start_listening_wasmtime
    ctr run -d --null-io --net-host --runtime "$KRILL" --annotation "krill.io/listen=tcp://127.0.0.1:$port_c" \
        --annotation krill.io/engine=chicory docker.io/bench/serve-wasm:latest k-chicory >/dev/null \
        || die "cannot start the listening guest on Chicory"
    ctr run -d --null-io --net-host --runtime "$KRILL" --annotation "krill.io/wagi=tcp://127.0.0.1:$port_gw" \
        --annotation krill.io/engine=wasmtime docker.io/bench/wagi:latest k-wagi-wasmtime >/dev/null || die "cannot start the WAGI container on Wasmtime"
    ctr run -d --null-io --net-host --runtime "$KRILL" --annotation "krill.io/wagi=tcp://127.0.0.1:$port_gc" \
        --annotation krill.io/engine=chicory docker.io/bench/wagi:latest k-wagi-chicory >/dev/null \
        || die "cannot start the WAGI container on Chicory"
    # the same loop in plain Java on the JDK's channels, no wasm, on the daemon's Java runtime with its collector
    local java
    java=$(readlink "/proc/$(daemon_pids | head -1)/exe") || die "no krill daemon for the HTTP benchmark"
    mkdir -p "$T/jdk-serve"
    javac --release 17 -d "$T/jdk-serve" "$REPO/bench/jdk-serve/ServeJdk.java" || die "cannot compile bench/jdk-serve"
    "$java" -XX:+UseSerialGC -Xmx64m -cp "$T/jdk-serve" ServeJdk "$port_j" >"$T/jdk-serve.log" 2>&1 &
    K_JDK_PID=$!
    K_JAVA=$("$java" -version 2>&1 | sed -n '1s/.*version "\([^"]*\)".*/\1/p')
    http_wait $port_n || die "the native server does not answer on $port_n"
    http_wait $port_j || { cat "$T/jdk-serve.log" >&2; die "the JDK loop does not answer on $port_j"; }
    http_wait $port_w || die "the listening guest (Wasmtime) does not answer on $port_w"
    http_wait $port_c || die "the listening guest (Chicory) does not answer on $port_c"
    http_wait $port_gw method=GET || die "the WAGI container (Wasmtime) does not answer on $port_gw"
    http_wait $port_gc method=GET || die "the WAGI container (Chicory) does not answer on $port_gc"
    # a warm-up each (the JIT compiles a Chicory guest's code as it runs), not counted
    for p in $port_n $port_w $port_c $port_gw $port_gc $port_j; do wrk -t2 -c16 -d5s "http://127.0.0.1:$p/" >/dev/null 2>&1 || true; done
    http_load native $port_n "$secs"
    # at most 5 s a row: at 7,000 requests/s a 10 s row would pass the guest's WASI call budget
    K_SECS_W=$((secs < 5 ? secs : 5))
    http_load wasmtime $port_w "$K_SECS_W" start_listening_wasmtime
    # Gone before the other rows: the JNI handles its WASI calls left (see HostCallBudget) are scanned at
    # every garbage collection of the daemon, which would lengthen every other container's pauses.
    ctr task kill -s SIGKILL k-wasmtime >/dev/null 2>&1 && sleep 0.5
    ctr task delete -f k-wasmtime >/dev/null 2>&1 || true
    ctr containers delete k-wasmtime >/dev/null 2>&1 || true
    http_load chicory $port_c "$secs"
    http_load jdk $port_j "$secs"
    http_load wagiw $port_gw "$secs"
    http_load wagic $port_gc "$secs"
    http_rounds "$secs" $port_n $port_c $port_j
    kill "$K_JDK_PID"
    wait "$K_JDK_PID" 2>/dev/null || true
    K_JDK_PID=
    for id in k-native k-wasmtime k-chicory k-wagi-wasmtime k-wagi-chicory; do
        ctr task kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    sleep 1
    for id in k-native k-wasmtime k-chicory k-wagi-wasmtime k-wagi-chicory; do
        ctr task delete -f "$id" >/dev/null 2>&1 || true
        ctr containers delete "$id" >/dev/null 2>&1 || true
    done
    section "k. the instance per request: a fresh instance's cost, memory per request in flight"
    http_instance_cost "$HTTP_INST_WARMUP" "$HTTP_INST_RUNS"
    http_inflight_memory "$HTTP_HOLD_MS"
    load1=$(cut -d' ' -f1-3 /proc/loadavg)
    local r16n=$K_RPS_native_16
    K_RATIO_W=$(awk -v k="$K_RPS_wasmtime_16" -v n="$r16n" 'BEGIN { printf "%.3f", k / n }')
    K_RATIO_C=$(awk -v k="$K_RPS_chicory_16" -v n="$r16n" 'BEGIN { printf "%.3f", k / n }')
    K_RATIO_J=$(awk -v k="$K_RPS_jdk_16" -v n="$r16n" 'BEGIN { printf "%.3f", k / n }')
    # the listening guest's target (>= 0.8 x native at 16 connections): Chicory's median over the rounds (from
    # the requests/s themselves: a ratio shown rounded up to 0.8 is not 0.8), or Wasmtime's row
    K_MET=$(awk -v w="$K_RPS_wasmtime_16" -v n="$r16n" -v c="$K_ROUND_MEDIAN_C" \
        'BEGIN { print (w >= 0.8 * n || c >= 0.8) ? "met" : "missed" }')
    # the instance-per-request targets: >= 5,000 req/s with p99 <= 10 ms at 16 connections, >= 0.5 x native
    local best=wagiw
    awk -v a="$K_RPS_wagic_16" -v b="$K_RPS_wagiw_16" 'BEGIN { exit !(a > b) }' && best=wagic
    local brps=K_RPS_${best}_16 bp99=K_P99_${best}_16
    K_RATIO_G=$(awk -v k="${!brps}" -v n="$r16n" 'BEGIN { printf "%.3f", k / n }')
    K_MET_G=$(awk -v r="${!brps}" -v p="${!bp99}" -v n="$r16n" \
        'BEGIN { print (r >= 5000 && p <= 10 && r >= 0.5 * n) ? "met" : "missed" }')
    K_BEST_G=$([ $best = wagic ] && echo Chicory || echo Wasmtime)
    {
        echo "## HTTP from a container"
        echo
        echo "k. The same one-connection-at-a-time C server (\`serve.c\`, Connection: close) natively under runc and as a"
        echo "krill listening guest (\`krill.io/listen\`); krill's instance-per-request shape (\`krill.io/wagi\`) running"
        echo "\`wagi.c\`'s echo, a fresh instance per request; host network, \`wrk --latency\` for ${secs} s per row on loopback,"
        echo "after 5 s of wrk at 16 connections against each server, not counted. Each row names its engine by annotation."
        echo "The listening guest on Wasmtime is started afresh for each row, which lasts ${K_SECS_W} s: a Wasmtime guest may make"
        echo "about 400,000 WASI calls in one run (see docs/reliability.md; \`serve.c\` makes 5 a request), which is why"
        echo "listening guests run on Chicory by default;"
        echo "it is removed after its rows, as the JNI handles its calls left lengthen every garbage collection of the daemon."
        echo
        echo "| Server | Connections | Requests/s | p50 | p99 | Errors |"
        echo "|---|---:|---:|---:|---:|---:|"
        for name in native wasmtime chicory jdk wagiw wagic; do
            for c in "${HTTP_CONNS[@]}"; do
                local rps p50 p99 err label
                rps=K_RPS_${name}_$c p50=K_P50_${name}_$c p99=K_P99_${name}_$c err=K_ERR_${name}_$c
                case $name in
                    native) label="native (runc)" ;;
                    wasmtime) label="krill listening guest, Wasmtime" ;;
                    chicory) label="krill listening guest, Chicory" ;;
                    jdk) label="JDK socket loop, no wasm (host)" ;;
                    wagiw) label="krill WAGI, instance per request, Wasmtime" ;;
                    wagic) label="krill WAGI, instance per request, Chicory" ;;
                esac
                echo "| $label | $c | ${!rps} | ${!p50} ms | ${!p99} ms | ${!err} |"
            done
        done
        echo
        echo "The JDK socket loop (\`bench/jdk-serve\`) is \`serve.c\`'s loop in plain Java on the JDK's socket channels,"
        echo "making the host calls krill's WASI layer makes for the guest, with no wasm, on the daemon's Java ($K_JAVA), on"
        echo "the host: what the JVM's own socket calls cost, which are a listening guest's."
        echo
        echo "Listening guest at 16 connections, in the rows above: $K_RATIO_W × native's requests/s on Wasmtime, $K_RATIO_C × on"
        echo "Chicory; the JDK loop $K_RATIO_J ×. Then $HTTP_ROUNDS rounds of ${secs} s at 16 connections, native, the guest on Chicory"
        echo "and the JDK loop in turn, as one row's ratio moves a lot between runs here:"
        echo
        echo "| Round | Native, requests/s | Chicory guest | × native | JDK loop | × native |"
        echo "|---:|---:|---:|---:|---:|---:|"
        local i
        for ((i = 0; i < HTTP_ROUNDS; i++)); do
            echo "| $((i + 1)) | ${K_ROUND_RPS_N[i]} | ${K_ROUND_RPS_C[i]} | ${K_ROUND_X_C[i]} | ${K_ROUND_RPS_J[i]} | ${K_ROUND_X_J[i]} |"
        done
        echo
        echo "Median over the rounds: the Chicory guest $(printf '%.3f' "$K_ROUND_MEDIAN_C") × native, the JDK loop"
        echo "$(printf '%.3f' "$K_ROUND_MEDIAN_J") × (target ≥ 0.8 for the listening guest, on Chicory's median or Wasmtime's row: $K_MET)."
        echo "Instance per request at 16 connections, the faster engine ($K_BEST_G):"
        echo "${!brps} requests/s, p99 ${!bp99} ms, $K_RATIO_G × native (target ≥ 5,000 req/s, p99 ≤ 10 ms and ≥ 0.5 × native:"
        echo "$K_MET_G)."
        echo
        echo "What a fresh instance costs, per request: \`InstantiationBench\` (integration-tests) on krill's own engine"
        echo "classes, each module compiled once as a WAGI route is, then on one thread, as a request's pool thread does,"
        echo "\`Program.instantiate\` with a CGI environment, \`run\`, \`close\`; timed from \`instantiate\` to the"
        echo "instance ready to call \`_start\` (\`Guest.readyNanos\`; the guest's own run and the close not counted);"
        echo "$HTTP_INST_RUNS requests after $HTTP_INST_WARMUP not counted."
        echo
        echo "| Engine | Module | Instantiation per request, median | p99 |"
        echo "|---|---|---:|---:|"
        for e in wasmtime chicory; do
            for m in wagi hello; do
                local med=K_INST_MED_${e}_$m p99=K_INST_P99_${e}_$m
                echo "| $([ $e = wasmtime ] && echo Wasmtime || echo Chicory) | $m.wasm | ${!med} µs | ${!p99} µs |"
            done
        done
        echo
        echo "Memory per request in flight: a WAGI container of \`wagi.wasm\` (\`krill.io/wagi-concurrency: 128\`) in a"
        echo "containerd namespace of its own, so a krill daemon of its own, per engine; K requests to \`/sleep?ms=$HTTP_HOLD_MS\`"
        echo "(each instance waits in a WASI clock poll) sent at once and held; the daemon's RSS (it has no memory cgroup of"
        echo "its own) at the plateau (the highest of samples every 0.1 s until the first answer; every request was sent before"
        echo "the first answer came) minus its RSS just before, divided by K. Both engines keep an instance's linear memory"
        echo "outside the Java heap, so RSS counts the pages it touched; what else an instance holds is on the heap."
        echo
        echo "| Engine | In flight (K) | Daemon RSS before | At the plateau | Per request in flight |"
        echo "|---|---:|---:|---:|---:|"
        for e in wasmtime chicory; do
            for c in "${HTTP_INFLIGHT[@]}"; do
                local idle=K_MEM_IDLE_${e}_$c peak=K_MEM_PEAK_${e}_$c per=K_MEM_PER_${e}_$c
                echo "| $([ $e = wasmtime ] && echo Wasmtime || echo Chicory) | $c | $(mib "${!idle}") MiB | $(mib "${!peak}") MiB | ${!per} KiB |"
            done
        done
        echo
        echo "Load average $load0 before this section and $load1 after."
        # the load before: wrk and the servers load both cores themselves, so the load after is always high
        if awk -v a="${load0%% *}" 'BEGIN { exit !(a > 1.0) }'; then
            echo "**The machine was busy with other jobs during this run** (1-minute load above 1 on $(nproc) cores): wrk," \
                "the servers and the other jobs shared the cores, so the requests/s are low and the tails long; the" \
                "ratios to native, the instantiation medians and the memory rows are the figures to read."
        fi
    } >"$T/http-section.md"
}

splice_http_section() {
    local file=$1
    [ -f "$file" ] || die "$file does not exist: run the whole bench first"
    awk -v new="$T/http-section.md" '
        function emit(l) { while ((getline l < new) > 0) print l; close(new); done = 1 }
        /^## HTTP from a container/ { emit(); skip = 1; next }
        skip && /^## / { skip = 0; print "" }
        !done && /^## How it was measured/ { emit(); print "" }
        !skip { print }
        END { if (!done) { print ""; emit() } }' "$file" >"$T/spliced.md"
    cp "$T/spliced.md" "$file"
}
