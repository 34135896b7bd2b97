# Sourced by bench.sh: the two costs of krill's instance per request (WAGI) behind section k's rows.
#
#   http_instance_cost WARMUP RUNS   what a fresh instance costs: InstantiationBench (integration-tests) on
#                                    krill's own engine classes, wagi.wasm and hello.wasm compiled once, then per
#                                    request Program.instantiate up to the instance ready to run _start (the
#                                    guest's run not counted); sets K_INST_MED_ENGINE_MODULE, K_INST_P99_...
#   http_inflight_memory HOLD_MS     memory per request in flight: a WAGI container (real ctr, krill.io/wagi,
#                                    krill.io/wagi-concurrency 128) in a namespace of its own, so in a fresh krill
#                                    daemon, per engine; K = 1, 16, 64 requests to wagi.c's /sleep?ms=HOLD_MS held
#                                    at once; the daemon's RSS at the plateau (sampled until the first answer) minus just before; sets K_MEM_*
#
# Uses bench.sh's T, REPO, PROGS, MVN, CTR_BIN, SOCK, KRILL, daemon_pids, rss_kb, note and die.

HTTP_INFLIGHT=(1 16 64)

http_instance_cost() {
    local warmup=$1 runs=$2 e m med p99 min
    (cd "$REPO" && $MVN --no-transfer-progress test -pl integration-tests -DskipITs=false -Dtest=InstantiationBench \
        -Dkrill.bench.instantiate.modules="$PROGS/wagi.wasm,$PROGS/hello.wasm" \
        -Dkrill.bench.instantiate.warmup="$warmup" -Dkrill.bench.instantiate.runs="$runs" \
        -Dkrill.bench.instantiate.memoryLimit=$((32 << 20)) \
        -Dkrill.bench.instantiate.out="$T/k-instantiate.tsv" >"$T/k-instantiate.log" 2>&1) \
        || { tail -n 40 "$T/k-instantiate.log" >&2; die "the fresh-instance benchmark failed (InstantiationBench, log above)"; }
    while read -r e m _ med p99 min; do
        m=${m%.wasm}
        printf -v "K_INST_MED_${e}_$m" '%s' "$med"
        printf -v "K_INST_P99_${e}_$m" '%s' "$p99"
        note "fresh instance, $e, $m.wasm: median $med µs, p99 $p99 µs, min $min µs ($runs runs after $warmup)"
    done <"$T/k-instantiate.tsv"
}

# inflight_ctr NS ARGS...: ctr in a namespace of its own (its own krill daemon)
inflight_ctr() { local ns=$1; shift; "$CTR_BIN" -a "$SOCK" -n "$ns" "$@"; }

# inflight_remove NS ID: the container and its task gone
inflight_remove() {
    inflight_ctr "$1" task kill -s SIGKILL "$2" >/dev/null 2>&1 || true
    local i
    for ((i = 0; i < 50; i++)); do
        inflight_ctr "$1" task delete -f "$2" >/dev/null 2>&1 && break
        inflight_ctr "$1" task ls -q 2>/dev/null | grep -qx "$2" || break
        sleep 0.1
    done
    inflight_ctr "$1" containers delete "$2" >/dev/null 2>&1 || true
}

# inflight_one ENGINE PORT HOLD_MS: one engine's rows (K_MEM_IDLE_, K_MEM_PEAK_, K_MEM_PER_ ENGINE_K in KiB)
inflight_one() {
    local engine=$1 port=$2 hold=$3 ns=krill-bench-inflight-$1 id=k-inflight-$1 before pid k i s rss peak idle
    local ok bad clients starts p running code secs last first end
    inflight_ctr "$ns" images import "$T/k3.tar" >/dev/null || die "cannot import the WAGI image into $ns"
    before=" $(daemon_pids | tr '\n' ' ')"
    inflight_ctr "$ns" run -d --null-io --net-host --runtime "$KRILL" \
        --annotation "krill.io/wagi=tcp://127.0.0.1:$port" --annotation krill.io/wagi-concurrency=128 \
        --annotation krill.io/wagi-timeout=60s --annotation "krill.io/engine=$engine" \
        docker.io/bench/wagi:latest "$id" >/dev/null || die "cannot start the WAGI container on $engine in $ns"
    http_wait "$port" method=GET || die "the WAGI container ($engine, $ns) does not answer on $port"
    pid=""
    for p in $(daemon_pids); do [[ $before == *" $p "* ]] || pid=$p; done
    [ -n "$pid" ] || die "no krill daemon of its own for namespace $ns"
    # one request per path first (the route's code paths, a pool thread), then the JVM settles
    curl -fsS -m 10 "http://127.0.0.1:$port/sleep?ms=10" >/dev/null || die "/sleep?ms=10 failed on $engine"
    sleep 2
    for k in "${HTTP_INFLIGHT[@]}"; do
        idle=$(rss_kb "$pid")
        clients=() starts=()
        for ((i = 0; i < k; i++)); do
            starts+=("$(now_us)")
            curl -sS -m 60 -o "$T/k-inflight-$i.out" -w '%{http_code} %{time_total}\n' \
                "http://127.0.0.1:$port/sleep?ms=$hold" >"$T/k-inflight-$i.code" 2>&1 &
            clients+=($!)
        done
        # the plateau: the highest RSS, sampled every 0.1 s until the first request is answered
        peak=0 running=1
        while [ $running = 1 ]; do
            rss=$(rss_kb "$pid")
            if [ "$rss" -gt "$peak" ]; then peak=$rss; fi
            sleep 0.1
            for p in "${clients[@]}"; do kill -0 "$p" 2>/dev/null || { running=0; break; }; done
        done
        wait "${clients[@]}" || true
        ok=0 bad="" last=0 first=""
        for ((i = 0; i < k; i++)); do
            read -r code secs <"$T/k-inflight-$i.code" || true
            if [ "$code" = 200 ] && grep -qx 'path=/sleep' "$T/k-inflight-$i.out"; then
                ok=$((ok + 1))
            else
                bad="request $i: $(head -c 300 "$T/k-inflight-$i.code" "$T/k-inflight-$i.out" | tr '\n' ' ')"
                continue
            fi
            # in flight from its start to start + its time: the latest start and the earliest answer
            if [ "${starts[i]}" -gt "$last" ]; then last=${starts[i]}; fi
            end=$(awk -v s="${starts[i]}" -v t="$secs" 'BEGIN { printf "%.0f", s + t * 1e6 }')
            if [ -z "$first" ] || [ "$end" -lt "$first" ]; then first=$end; fi
        done
        [ "$ok" = "$k" ] || die "$engine, $k in flight: $((k - ok)) of $k requests failed ($bad)"
        # all K were in flight together: the last one sent before the first one was answered
        [ "$last" -lt "$first" ] \
            || die "$engine, $k in flight: the first answer came $(((last - first) / 1000)) ms before the last request was sent: they were not all in flight at once"
        printf -v "K_MEM_IDLE_${engine}_$k" '%s' "$idle"
        printf -v "K_MEM_PEAK_${engine}_$k" '%s' "$peak"
        printf -v "K_MEM_PER_${engine}_$k" '%s' "$(awk -v p="$peak" -v i="$idle" -v k="$k" 'BEGIN { printf "%.0f", (p - i) / k }')"
        note "$engine, $k in flight: daemon RSS $idle KiB idle, $peak KiB at the plateau, $(awk -v p="$peak" -v i="$idle" -v k="$k" 'BEGIN { printf "%.0f", (p - i) / k }') KiB per request (all $k in flight together for $(((first - last) / 1000)) ms)"
        sleep 2
    done
    inflight_remove "$ns" "$id"
    inflight_ctr "$ns" images rm docker.io/bench/wagi:latest >/dev/null 2>&1 || true
    inflight_cgroups_remove
}

# the per-namespace cgroups krill made for these namespaces (bench.sh's cleanup calls it too)
inflight_cgroups_remove() {
    local d
    for d in /sys/fs/cgroup/krill-bench-inflight-* /sys/fs/cgroup/*/krill-bench-inflight-*; do
        [ -d "$d" ] || continue
        find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    return 0
}

http_inflight_memory() {
    local hold=$1
    inflight_one wasmtime 18085 "$hold"
    inflight_one chicory 18086 "$hold"
}
