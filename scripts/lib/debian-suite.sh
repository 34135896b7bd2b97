# Sourced (POSIX sh): downloads packages of another Debian suite without installing them, so that a newer
# containerd or Go can be unpacked privately beside the machine's own.
#
#   debian_suite_download SUITE DESTDIR PACKAGE...   the .deb files into DESTDIR (apt-get download)
#
# The apt source is derived from the machine's own Debian entry, so no mirror host name is ever written into
# the repository. Security stanzas are dropped (sid has none). Expects a die() function.

# debian_suite_sources SUITE OUT: writes an apt sources file for SUITE.
debian_suite_sources() {
    _suite=$1 _out=$2
    _src=/etc/apt/sources.list.d/debian.sources
    if [ -f "$_src" ]; then
        awk -v suite="$_suite" '
            BEGIN { RS=""; ORS="\n\n" }
            /Suites:[^\n]*bookworm([ \t\n]|$)/ && !/-security/ {
                n = split($0, lines, "\n"); s = ""
                for (i = 1; i <= n; i++) {
                    if (lines[i] ~ /^Suites:/) lines[i] = "Suites: " suite
                    s = s lines[i] "\n"
                }
                printf "%s\n", s
            }' "$_src" > "$_out"
    elif [ -f /etc/apt/sources.list ]; then
        # Older one-line format: keep the main archive lines only.
        grep -E '^deb[[:space:]].*[[:space:]]bookworm[[:space:]]' /etc/apt/sources.list \
            | sed -E "s/[[:space:]]bookworm[[:space:]]/ $_suite /" > "${_out%.sources}.list"
        rm -f "$_out"
    fi
    [ -s "$_out" ] || [ -s "${_out%.sources}.list" ] || die "cannot derive an apt source for $_suite"
}

debian_suite_download() {
    _suite=$1 _dest=$2
    shift 2
    _d=$(mktemp -d)
    mkdir -p "$_d/src.d" "$_d/lists/partial" "$_d/archives/partial" "$_dest"
    debian_suite_sources "$_suite" "$_d/src.d/krill.sources"
    _o="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$_d/src.d -o Dir::State::Lists=$_d/lists -o Dir::Cache=$_d -o APT::Sandbox::User=root"
    # shellcheck disable=SC2086
    apt-get $_o -q update || { rm -rf "$_d"; die "apt-get update for $_suite failed"; }
    # shellcheck disable=SC2086
    (cd "$_dest" && apt-get $_o -q download "$@") || { rm -rf "$_d"; die "download of $* from $_suite failed"; }
    rm -rf "$_d"
}
