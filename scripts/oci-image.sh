#!/usr/bin/env bash
# Builds a single-layer OCI image layout tarball with plain shell tools (bash, tar, gzip, sha256sum),
# ready for `ctr images import`. No registry, no docker, no buildkit.
#
#   scripts/oci-image.sh -n NAME[:TAG] -o OUT.tar [-e ENTRYPOINT]... [--env K=V]... [--user USER[:GROUP]]
#                        [--platform OS/ARCH[/VARIANT]] PATH_IN_ROOT=HOSTFILE...
#
# Example:
#   scripts/oci-image.sh -n hello-wasm -o hello.tar -e /hello.wasm /hello.wasm=target/hello.wasm
#   ctr images import hello.tar      # -> docker.io/library/hello-wasm:latest
#
# The output is deterministic: same inputs, same bytes (fixed mtime, root ownership, sorted entries,
# gzip without name/timestamp). Executables and .wasm files get mode 0755, other files 0644.
set -euo pipefail

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
die() { echo "oci-image: $*" >&2; exit 1; }

name="" out="" platform="" user=""
entrypoint=() env=() files=()
while [ $# -gt 0 ]; do
    case "$1" in
        -n|--name) [ $# -ge 2 ] || usage; name=$2; shift 2 ;;
        -o|--output) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
        -e|--entrypoint) [ $# -ge 2 ] || usage; entrypoint+=("$2"); shift 2 ;;
        --env) [ $# -ge 2 ] || usage; env+=("$2"); shift 2 ;;
        --platform) [ $# -ge 2 ] || usage; platform=$2; shift 2 ;;
        -u|--user) [ $# -ge 2 ] || usage; user=$2; shift 2 ;;
        -h|--help) usage ;;
        --) shift; files+=("$@"); break ;;
        -*) echo "oci-image: unknown option $1" >&2; usage ;;
        *) files+=("$1"); shift ;;
    esac
done
[ -n "$name" ] && [ -n "$out" ] && [ ${#files[@]} -gt 0 ] || usage
for t in tar gzip sha256sum; do command -v "$t" >/dev/null || die "$t not found"; done

# --- image reference: NAME[:TAG] -> full name as containerd/docker normalise it ---------------------
case "$name" in *@*) die "digest references are not supported: $name" ;; esac
repo=$name tag=latest
last=${name##*/}
if [[ $last == *:* ]]; then tag=${last##*:}; repo=${name%:*}; fi
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "invalid tag: $tag"
[[ $repo =~ ^[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$ ]] \
    || [[ $repo =~ ^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+$ ]] \
    || die "invalid image name: $repo"
first=${repo%%/*}
if [[ $repo == */* ]] && { [[ $first == *.* ]] || [[ $first == *:* ]] || [ "$first" = localhost ]; }; then
    full="$repo:$tag"                      # has a registry host
elif [[ $repo == */* ]]; then
    full="docker.io/$repo:$tag"
else
    full="docker.io/library/$repo:$tag"
fi

# --- platform -------------------------------------------------------------------------------------
if [ -z "$platform" ]; then
    case "$(uname -m)" in
        x86_64) platform=linux/amd64 ;;
        aarch64|arm64) platform=linux/arm64/v8 ;;
        *) platform="linux/$(uname -m)" ;;
    esac
fi
IFS=/ read -r p_os p_arch p_variant <<<"$platform"
[ -n "$p_os" ] && [ -n "$p_arch" ] || die "invalid platform: $platform (want OS/ARCH[/VARIANT])"

# --- JSON helpers ---------------------------------------------------------------------------------
json_str() { # escapes $1 as a JSON string literal
    local s=$1 o="" c i
    s=${s//\\/\\\\}; s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}; s=${s//$'\r'/\\r}
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        if [[ $c < ' ' ]]; then printf -v c '\\u%04x' "'$c"; fi
        o+=$c
    done
    printf '"%s"' "$o"
}
json_arr() { # JSON array of strings from the arguments
    local sep="" a
    printf '['
    for a in "$@"; do printf '%s' "$sep"; json_str "$a"; sep=,; done
    printf ']'
}

# --- staging --------------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/oci-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root blobs=$work/layout/blobs/sha256
mkdir -p "$root" "$blobs"

for spec in "${files[@]}"; do
    [[ $spec == *=* ]] || die "file argument must be PATH_IN_ROOT=HOSTFILE: $spec"
    dst=${spec%%=*} src=${spec#*=}
    dst=${dst#/}
    [ -n "$dst" ] && [[ $dst != *..* ]] || die "invalid path in root: $spec"
    [ -f "$src" ] || die "no such file: $src"
    mkdir -p "$root/$(dirname "$dst")"
    cp "$src" "$root/$dst"
    if [ -x "$src" ] || [[ $dst == *.wasm ]]; then chmod 0755 "$root/$dst"; else chmod 0644 "$root/$dst"; fi
done
find "$root" -type d -exec chmod 0755 {} +

TAR_DET=(--sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu)

# Layer: the top-level entries of the staged root, without a leading "./".
mapfile -t top < <(cd "$root" && LC_ALL=C ls -A)
tar "${TAR_DET[@]}" -C "$root" -cf "$work/layer.tar" -- "${top[@]}"
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 -c "$work/layer.tar" > "$work/layer.tar.gz"
layer_digest=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
layer_size=$(stat -c %s "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$blobs/$layer_digest"

# put_blob FILE -> prints "DIGEST SIZE" after moving FILE into blobs/
put_blob() {
    local d s
    d=$(sha256sum "$1" | cut -d' ' -f1); s=$(stat -c %s "$1")
    mv "$1" "$blobs/$d"
    echo "$d $s"
}

plat_json="\"architecture\":$(json_str "$p_arch"),\"os\":$(json_str "$p_os")"
[ -n "$p_variant" ] && plat_json+=",\"variant\":$(json_str "$p_variant")"

[ ${#env[@]} -gt 0 ] || env=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
cfg="{\"created\":\"1970-01-01T00:00:00Z\",$plat_json,\"config\":{\"Env\":$(json_arr "${env[@]}")"
[ ${#entrypoint[@]} -gt 0 ] && cfg+=",\"Entrypoint\":$(json_arr "${entrypoint[@]}")"
[ -n "$user" ] && cfg+=",\"User\":$(json_str "$user")"
cfg+="},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]}"
cfg+=",\"history\":[{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"scripts/oci-image.sh\"}]}"
printf '%s' "$cfg" > "$work/config.json"
read -r cfg_digest cfg_size < <(put_blob "$work/config.json")

manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\""
manifest+=",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cfg_digest\",\"size\":$cfg_size}"
manifest+=",\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$layer_digest\",\"size\":$layer_size}]}"
printf '%s' "$manifest" > "$work/manifest.json"
read -r man_digest man_size < <(put_blob "$work/manifest.json")

index="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{"
index+="\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$man_digest\",\"size\":$man_size"
index+=",\"platform\":{$plat_json}"
index+=",\"annotations\":{\"io.containerd.image.name\":$(json_str "$full"),\"org.opencontainers.image.ref.name\":$(json_str "$tag")}}]}"
printf '%s' "$index" > "$work/layout/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$work/layout/oci-layout"

mkdir -p "$(dirname "$out")"
tar "${TAR_DET[@]}" -C "$work/layout" -cf "$work/out.tar" oci-layout index.json blobs
mv "$work/out.tar" "$out"
echo "oci-image: $full -> $out (manifest sha256:$man_digest)" >&2
