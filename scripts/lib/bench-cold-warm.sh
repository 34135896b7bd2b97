# Sourced by bench.sh: section e, `ctr run --rm` of a multi-MB module, cold (Wasmtime compiles it) vs warm
# (Wasmtime's on-disk cache under KRILL_CACHE_DIR has it). The module is generated and compiled here, at bench
# time, with a fresh seed, so the first run is a cache miss whatever earlier runs left behind.
#
#   bench_cold_warm FUNCTIONS WARM_RUNS    sets E_SIZE_MIB E_COLD E_WARM_MED E_WARM_MIN E_WARM_MAX E_RATIO
#
# Uses bench.sh's T, REPO, KRILL and its img, run_once, stats, note and die.
bench_cold_warm() {
    local n=$1 warm=$2 i t
    command -v wat2wasm >/dev/null || die "wat2wasm not found: run 'make deps'"
    python3 "$REPO/scripts/lib/big-module.py" "$n" "$(date +%s%N | cut -c1-15)" >"$T/big.wat"
    wat2wasm "$T/big.wat" -o "$T/big.wasm" || die "wat2wasm could not compile the generated module"
    rm -f "$T/big.wat"
    E_SIZE_MIB=$(awk -v b="$(stat -c %s "$T/big.wasm")" 'BEGIN { printf "%.1f", b / 1048576 }')
    img bench/big-wasm "$T/i7.tar" /big.wasm -- "/big.wasm=$T/big.wasm"
    note "generated big.wasm: $n functions, $E_SIZE_MIB MiB"
    E_COLD=$(run_once "$KRILL" docker.io/bench/big-wasm:latest big-cold "big module ok")
    note "cold (compile): $E_COLD ms"
    : >"$T/e-warm"
    for ((i = 1; i <= warm; i++)); do
        t=$(run_once "$KRILL" docker.io/bench/big-wasm:latest "big-warm$i" "big module ok")
        echo "$t" >>"$T/e-warm"
        note "warm $i (cache hit): $t ms"
    done
    read -r E_WARM_MED _ E_WARM_MIN E_WARM_MAX _ < <(stats "$T/e-warm")
    E_RATIO=$(awk -v c="$E_COLD" -v w="$E_WARM_MED" 'BEGIN { printf "%.1f", c / w }')
    note "cold $E_COLD ms vs warm median $E_WARM_MED ms -> warm is $E_RATIO x faster (target >= 10)"
}
