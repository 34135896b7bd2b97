# Sourced by demo.sh, bench.sh and wasi-conformance.sh: starts a private containerd (CRI off) with krill on its PATH.
#
#   start_private_containerd DIR SOCKET IDLE_SECONDS CONTAINERD CTR [BIN_DIR]
#
# BIN_DIR holds the krill shim launcher (default: the checkout's dist/bin).
# Everything lives under DIR; sets CPID to containerd's pid. The caller stops it by that pid.
# Expects REPO (the checkout) and a die() function.
start_private_containerd() {
    local dir=$1 sock=$2 idle=$3 containerd=$4 ctr=$5 bin=${6:-$REPO/dist/bin} i
    mkdir -p "$dir/root" "$dir/state"
    cat >"$dir/config.toml" <<EOT
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
EOT
    PATH="$bin:$PATH" KRILL_RUN_DIR="$dir/krill-run" KRILL_CACHE_DIR="$dir/cache" \
        KRILL_IDLE_TIMEOUT="$idle" "$containerd" --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
    CPID=$!
    for ((i = 0; i < 100; i++)); do
        "$ctr" -a "$sock" version >/dev/null 2>&1 && return 0
        kill -0 "$CPID" 2>/dev/null || { cat "$dir/containerd.log" >&2; die "containerd exited"; }
        sleep 0.1
    done
    die "containerd did not come up (log: $dir/containerd.log)"
}
