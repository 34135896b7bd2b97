# Sourced by bench.sh: section f, CPU limits. Two spinning guests (spin.wasm, a busy loop) with CFS limits
# of 100m and 500m (`ctr run --cpu-quota 10000/50000 --cpu-period 100000`) run side by side for SECONDS;
# each one's CPU share is its cgroup's cpuacct.usage over that wall time, next to its limit.
#
#   bench_cpu_limits SECONDS    sets F_ENFORCED (yes/no) F_SHARE_100 F_SHARE_500 (percent of one core)
#
# Uses bench.sh's T, KRILL, PROGS, its img, ctr, note and die.
bench_cpu_limits() {
    local secs=$1 id q dir u0_1 u0_5 u1_1 u1_5 t0 t1
    F_ENFORCED=no F_SHARE_100=– F_SHARE_500=–
    img bench/spin-wasm "$T/i8.tar" /spin.wasm -- "/spin.wasm=$PROGS/spin.wasm"
    for q in 10000 50000; do
        ctr run -d --null-io --runtime "$KRILL" --cpu-quota $q --cpu-period 100000 \
            docker.io/bench/spin-wasm:latest "spin$q" >/dev/null || die "ctr run -d spin$q failed"
    done
    sleep 1
    # The cgroup of each container is the directory named after it in the cgroup v1 cpu hierarchy.
    cg() { find /sys/fs/cgroup/cpu -maxdepth 5 -type d -name "$1" 2>/dev/null | head -1; }
    usage() { cat "/sys/fs/cgroup/cpuacct/${1#/sys/fs/cgroup/cpu/}/cpuacct.usage"; }
    local d1 d5
    d1=$(cg spin10000) d5=$(cg spin50000)
    if [ -n "$d1" ] && [ -n "$d5" ]; then
        F_ENFORCED=yes
        note "cgroups: $d1 (quota $(cat "$d1/cpu.cfs_quota_us")), $d5 (quota $(cat "$d5/cpu.cfs_quota_us"))"
        u0_1=$(usage "$d1"); u0_5=$(usage "$d5"); t0=$(now_us)
        sleep "$secs"
        u1_1=$(usage "$d1"); u1_5=$(usage "$d5"); t1=$(now_us)
        F_SHARE_100=$(awk -v u=$((u1_1 - u0_1)) -v w=$((t1 - t0)) 'BEGIN { printf "%.1f", u / 10 / w }')
        F_SHARE_500=$(awk -v u=$((u1_5 - u0_5)) -v w=$((t1 - t0)) 'BEGIN { printf "%.1f", u / 10 / w }')
        note "over $secs s: limit 100m used $F_SHARE_100 % of a core, limit 500m used $F_SHARE_500 %"
    else
        note "no cgroup v1 cpu hierarchy with the containers' cgroups: CPU limits are not enforced on this host"
    fi
    for id in spin10000 spin50000; do
        ctr tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    sleep 1
    for id in spin10000 spin50000; do
        ctr tasks rm -f "$id" >/dev/null 2>&1 || true
        ctr containers rm "$id" >/dev/null 2>&1 || true
    done
    [ -z "$(cg spin10000)$(cg spin50000)" ] || die "CPU cgroups left after the spinning containers were removed"
}
