# Sourced by bench.sh: section j, the two pure-Java wasm engines side by side, outside krill: Chicory (krill's
# second engine) and GraalWasm with the Graal compiler, each on its own WASI, in a fresh JVM per engine, on the
# same programs as a.–e. and with cpu-native run directly for the speed ratio. bench/pure-java-engines holds the
# driver (its own Maven project: GraalWasm is never a dependency of krill). Needs a JDK 21 or newer (GraalWasm
# 25), taken from BENCH_JDK or the newest under /usr/lib/jvm.
#
#   bench_pure_java HELLO_RUNS CPU_RUNS     writes $T/pure-java-section.md; sets J_JDK
#   splice_pure_java_section FILE           puts it in FILE in place of its own section (or before "How it was measured")
#
# Uses bench.sh's T, REPO, PROGS, MVN, stats, now_us, note and die.

pure_java_jdk() {
    local j v
    for j in ${BENCH_JDK:-} $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
        j=${j%/}
        [ -x "$j/bin/javac" ] || continue
        v=$("$j/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
        [ "${v:-0}" -ge 21 ] && { echo "$j"; return 0; }
    done
    return 1
}

# pure_java_run NAME JAVA-OPTIONS... -- ARGS...: one engine in a fresh JVM; its key/value lines in $T/j-NAME,
# and the JVM's peak RSS (KiB) and CPU seconds as rss/cpu_s lines
pure_java_run() {
    local name=$1 opts=() d=$REPO/bench/pure-java-engines/target
    shift
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    /usr/bin/time -f 'rss	%M
cpu_s	%U %S' -o "$T/j-$name.time" "$J_JDK/bin/java" "${opts[@]}" \
        -cp "$d/krill-bench-pure-java-engines-0.jar:$d/chicory/*" io.krill.bench.PureJavaEngines "$@" \
        >"$T/j-$name" 2>"$T/j-$name.err" || { cat "$T/j-$name.err" >&2; die "pure-Java engine $name failed"; }
    awk -F'\t' '$1 == "cpu_s" { split($2, a, " "); printf "cpu_s\t%.2f\n", a[1] + a[2]; next } { print }' \
        "$T/j-$name.time" >>"$T/j-$name"
}

jv() { awk -F'\t' -v k="$2" '$1 == k { print $2 }' "$T/j-$1"; }   # jv NAME KEY

bench_pure_java() {
    local hruns=$1 cruns=$2 d=$REPO/bench/pure-java-engines i want chicory_version native_med
    J_JDK=$(pure_java_jdk) || die "section j needs a JDK 21 or newer (set BENCH_JDK)"
    chicory_version=$(sed -n 's:.*<chicory.version>\(.*\)</chicory.version>.*:\1:p' "$REPO/pom.xml")
    note "JDK for the pure-Java engines: $J_JDK ($("$J_JDK/bin/java" -version 2>&1 | head -1))"
    # shellcheck disable=SC2086
    JAVA_HOME=$J_JDK $MVN -f "$d/pom.xml" -Dchicory.version="$chicory_version" package \
        || die "cannot build bench/pure-java-engines"
    [ -f "$T/big.wasm" ] || {
        command -v wat2wasm >/dev/null || die "wat2wasm not found: run 'make deps'"
        python3 "$REPO/scripts/lib/big-module.py" 4000 1 >"$T/big.wat"
        wat2wasm "$T/big.wat" -o "$T/big.wasm" || die "wat2wasm could not compile the generated module"
    }
    local args=("$PROGS/hello.wasm" "$PROGS/cpu.wasm" "$T/big.wasm" "$hruns" "$cruns")
    pure_java_run chicory -- chicory "${args[@]}"
    note "chicory:   $(tr '\t\n' '= ' <"$T/j-chicory")"
    pure_java_run graalwasm -XX:+UnlockExperimentalVMOptions -XX:+EnableJVMCI \
        "--upgrade-module-path=$(ls "$d"/target/graal-compiler/compiler-*.jar)" \
        --module-path "$d/target/graal" --add-modules org.graalvm.polyglot --enable-native-access=ALL-UNNAMED \
        -- graalwasm "${args[@]}"
    note "graalwasm: $(tr '\t\n' '= ' <"$T/j-graalwasm")"
    want=$("$PROGS/cpu-native")
    for name in chicory graalwasm; do
        [ "$(jv $name cpu_out)" = "$want" ] || die "$name computed $(jv $name cpu_out), cpu-native $want"
    done
    : >"$T/j-native"
    for ((i = 1; i <= cruns; i++)); do
        local t0 t1
        t0=$(now_us); "$PROGS/cpu-native" >/dev/null; t1=$(now_us)
        awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f\n", d / 1000 }' >>"$T/j-native"
    done
    read -r native_med _ < <(stats "$T/j-native")
    note "cpu-native: median $native_med ms"
    local c=chicory g=graalwasm graal_version
    graal_version=$(sed -n 's:.*<graalwasm.version>\(.*\)</graalwasm.version>.*:\1:p' "$d/pom.xml")
    speed() { awk -v n="$native_med" -v w="$1" 'BEGIN { printf "%.2f", n / w }'; }
    {
        echo "## Pure-Java engines: Chicory and GraalWasm"
        echo
        echo "j. Each engine on its own WASI in a fresh JVM ($("$J_JDK/bin/java" -version 2>&1 | head -1)), outside krill"
        echo "(\`bench/pure-java-engines\`); cpu-native run directly in the same run. Times in ms."
        echo
        echo "| | Chicory $chicory_version (compiled to JVM bytecode) | GraalWasm $graal_version (Graal compiler via JVMCI) | native |"
        echo "|---|---:|---:|---:|"
        echo "| first hello in a fresh JVM: load, compile, instantiate, run | $(jv $c first) | $(jv $g first) | |"
        echo "| hello: a fresh instance of the compiled module, median of $hruns | $(jv $c hello) | $(jv $g hello) | |"
        echo "| cpu: median of $cruns after a warm-up run | $(jv $c cpu) | $(jv $g cpu) | $native_med |"
        echo "| speed = native time / engine time | $(speed "$(jv $c cpu)") | $(speed "$(jv $g cpu)") | 1.00 |"
        echo "| $(awk -v b="$(stat -c %s "$T/big.wasm")" 'BEGIN { printf "%.1f", b / 1048576 }') MiB module: load, compile, run once | $(jv $c big) | $(jv $g big) | |"
        echo "| JVM CPU time for all of the above (s) | $(jv $c cpu_s) | $(jv $g cpu_s) | |"
        echo "| JVM peak RSS | $(awk -v k="$(jv $c rss)" 'BEGIN { printf "%.1f MiB", k / 1024 }') | $(awk -v k="$(jv $g rss)" 'BEGIN { printf "%.1f MiB", k / 1024 }') | |"
        echo "| jars the engine needs | $(du -ch "$d"/target/chicory/*.jar | tail -1 | cut -f1) | $(du -ch "$d"/target/graal/*.jar "$d"/target/graal-compiler/*.jar | tail -1 | cut -f1) | |"
    } >"$T/pure-java-section.md"
}

splice_pure_java_section() {
    local file=$1
    [ -f "$file" ] || die "$file does not exist: run the whole bench first"
    awk -v new="$T/pure-java-section.md" '
        function emit(l) { while ((getline l < new) > 0) print l; close(new); done = 1 }
        /^## Pure-Java engines/ { emit(); skip = 1; next }
        skip && /^## / { skip = 0; print "" }
        !done && /^## How it was measured/ { emit(); print "" }
        !skip { print }
        END { if (!done) { print ""; emit() } }' "$file" >"$T/spliced.md"
    cp "$T/spliced.md" "$file"
}
