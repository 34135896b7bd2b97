#!/bin/sh
# Builds the release artifacts from a built dist/ (make build):
#   dist/krill-<version>-linux-<arch>.tar.gz   krill-<version>/{bin,lib,jre,etc,packaging}; packaging/systemd
#                                              holds krill@.service, which `krill install` puts in place
#   dist/krill_<version>_<debarch>.deb          the same tree under /opt/krill
# The Java runtime is made with jlink, holding only the modules krill uses, so a node needs no Java of
# its own. It comes from a JDK 25 or newer when the machine has one (KRILL_RUNTIME_JDK, else the newest
# under /usr/lib/jvm), for its ahead-of-time cache: lib/daemon.aot, written by a training run of the
# shim daemon (one hello-world task), which the launcher hands to the bundled java. Without one, from
# the build JDK, and no cache. The sources stay Java 17 either way. Nothing is downloaded.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIST=$ROOT/dist
VERSION=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' "$ROOT/pom.xml" | head -n1)
ARCH=$(uname -m)
case "$ARCH" in x86_64) DEBARCH=amd64 ;; aarch64) DEBARCH=arm64 ;; *) DEBARCH=$ARCH ;; esac
JAVA_HOME=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}
# major JDK_DIR: the feature version its release file names (0 if none)
major() { sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null | head -n1 | grep . || echo 0; }
RUNTIME_JDK=${KRILL_RUNTIME_JDK:-}
if [ -z "$RUNTIME_JDK" ]; then
    best=0
    for d in /usr/lib/jvm/*; do
        [ -x "$d/bin/jlink" ] && [ -x "$d/bin/java" ] || continue
        m=$(major "$d")
        if [ "$m" -ge 25 ] && [ "$m" -gt "$best" ]; then best=$m RUNTIME_JDK=$d; fi
    done
    RUNTIME_JDK=${RUNTIME_JDK:-$JAVA_HOME}
fi
RUNTIME_MAJOR=$(major "$RUNTIME_JDK")
STAGE=$ROOT/target/dist-stage
NAME=krill-$VERSION
TREE=$STAGE/$NAME

die() { echo "dist: $*" >&2; exit 1; }
[ -x "$DIST/bin/containerd-shim-krill-v1" ] && [ -f "$DIST/lib/native/libwasmtime_jni.so" ] \
    && [ -d "$DIST/lib/cli" ] || die "run make build first"
[ -x "$RUNTIME_JDK/bin/jlink" ] || die "$RUNTIME_JDK has no jlink (set KRILL_RUNTIME_JDK to a full JDK)"
[ "$RUNTIME_MAJOR" -ge 17 ] || die "$RUNTIME_JDK is not a JDK 17 or newer"
[ "$RUNTIME_MAJOR" -ge 24 ] || [ -d "$RUNTIME_JDK/jmods" ] || die "$RUNTIME_JDK has no jmods (jlink needs a full JDK)"

rm -rf "$STAGE"
mkdir -p "$TREE/etc" "$TREE/packaging"
cp -a "$DIST/bin" "$DIST/lib" "$TREE/"
cp "$ROOT/packaging/config.toml" "$TREE/etc/config.toml"
cp -a "$ROOT/packaging/runtimeclass.yaml" "$ROOT/packaging/kubernetes" "$ROOT/packaging/systemd" "$TREE/packaging/"

# The binding's jar carries natives for five platforms (~70 MB unpacked) as a fallback for when
# java.library.path lacks the library; the launcher always puts lib/native there, so none ship.
for jar in "$TREE"/lib/wasmtime-java-*.jar; do
    zip -q -d "$jar" '*.so' '*.dylib' '*.dll' >/dev/null
done
# The binding's release build keeps its debug info: 18 MB stripped to 11 MB.
strip --strip-unneeded "$TREE/lib/native/libwasmtime_jni.so"

# Modules: what jdeps finds, minus java.desktop and java.sql, which only Jackson's optional
# java.beans / java.sql.Date support reaches (guarded by Jackson, never used by krill's types);
# java.logging then has to be named, as java.sql brought it in.
found=$("$RUNTIME_JDK/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release 17 \
    --class-path "$TREE/lib/*:$TREE/lib/cli/*:$TREE/lib/cri/*" "$TREE"/lib/*.jar "$TREE"/lib/cli/*.jar \
    "$TREE"/lib/cri/*.jar 2>/dev/null | tail -n1)
# jdeps cannot see service providers: HTTPS (java.net.http) needs jdk.crypto.ec for the ECDHE key
# exchange nearly every registry offers, or handshakes fail at run time.
extra=java.logging
case ",$found," in *,java.net.http,*) extra="$extra,jdk.crypto.ec" ;; esac
modules=$(echo "$found,$extra" | tr ',' '\n' | grep -v -x -e java.desktop -e java.sql | sort -u | paste -sd, -)
echo "dist: jdeps: $found; bundling: $modules"
if [ "$RUNTIME_MAJOR" -ge 25 ]; then
    # Options every start of this runtime gets: JNI (Wasmtime, JNA) and sun.misc.Unsafe (protobuf, netty)
    # are allowed, as on Java 17, instead of a warning on the daemon's stderr.
    "$RUNTIME_JDK/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
        --compress=zip-6 --output "$TREE/jre" \
        --add-options="--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow"
else
    "$RUNTIME_JDK/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
        --compress=2 --output "$TREE/jre"
fi
echo "dist: Java runtime from $RUNTIME_JDK ($("$TREE/jre/bin/java" -version 2>&1 | head -n1))"
# Class data sharing archive for these modules: what the CLI's start maps.
"$TREE/jre/bin/java" -Xshare:dump >/dev/null

# The daemon's ahead-of-time cache (JDK 25: JEP 483, 514, 515): a training run under the flags and class
# path the launcher gives the daemon (native/launch.c: its jars in lib/ in byte order), which runs one
# task through the daemon's ttrpc service (io.krill.shim.AotTraining) and writes the cache as it exits.
# The cache holds no path of this tree: it serves the tree wherever it is unpacked.
if [ "$RUNTIME_MAJOR" -ge 25 ]; then
    scratch=$(mktemp -d /tmp/krill-aot.XXXXXX)
    : >"$scratch/config.toml"   # the defaults, whatever this machine's /etc/krill says
    cp=$(cd "$TREE/lib" && LC_ALL=C ls -- *.jar | sed "s|^|$TREE/lib/|" | paste -sd: -)
    if ! env -u JAVA_TOOL_OPTIONS -u JDK_JAVA_OPTIONS -u _JAVA_OPTIONS -u KRILL_LOG_LEVEL \
            KRILL_CACHE_DIR="$scratch/cache" KRILL_CONFIG="$scratch/config.toml" \
            "$TREE/jre/bin/java" -XX:+UseSerialGC -XX:-DontCompileHugeMethods -XX:+ExitOnOutOfMemoryError \
            -Xmx256m -XX:AOTCacheOutput="$TREE/lib/daemon.aot" -Xlog:aot=error,cds=error \
            -Djava.library.path="$TREE/lib/native" -Dkrill.home="$TREE" -cp "$cp" \
            io.krill.shim.AotTraining "$scratch/t" >"$scratch/log" 2>&1 || [ ! -s "$TREE/lib/daemon.aot" ]; then
        cat "$scratch/log" "$scratch/t/run/daemon.log" >&2 2>/dev/null
        rm -rf "$scratch"
        die "the daemon's AOT training run failed (its output is above)"
    fi
    # `krill cri`'s cache: its start, up to serving on its socket, through bin/krill (its flags and class
    # path for cri); SIGTERM then ends it, and the JVM writes the cache as it exits.
    env -u JAVA_TOOL_OPTIONS -u JDK_JAVA_OPTIONS -u _JAVA_OPTIONS -u KRILL_JAVA -u KRILL_LOG_LEVEL \
        KRILL_CONFIG="$scratch/config.toml" KRILL_RUN_DIR="$scratch" \
        KRILL_JAVA_OPTS="-XX:AOTCacheOutput=$TREE/lib/cri.aot -Xlog:aot=error,cds=error" \
        "$TREE/bin/krill" cri --socket "$scratch/cri.sock" --root "$scratch/cri" --cni-conf-dir "$scratch/no-cni" \
        >"$scratch/cri.log" 2>&1 &
    cri=$!
    i=0
    until grep -q 'serving runtime.v1' "$scratch/cri.log"; do
        if ! kill -0 "$cri" 2>/dev/null || [ $i -ge 600 ]; then
            kill "$cri" 2>/dev/null
            cat "$scratch/cri.log" >&2
            rm -rf "$scratch"
            die "krill cri's AOT training run did not serve (its output is above)"
        fi
        sleep 0.1
        i=$((i + 1))
    done
    kill -TERM "$cri"
    wait "$cri" || true
    [ -s "$TREE/lib/cri.aot" ] || { cat "$scratch/cri.log" >&2; rm -rf "$scratch"; die "krill cri wrote no AOT cache"; }
    rm -rf "$scratch"
    echo "dist: AOT caches: daemon $(du -h "$TREE/lib/daemon.aot" | cut -f1), krill cri $(du -h "$TREE/lib/cri.aot" | cut -f1)"
else
    echo "dist: $RUNTIME_JDK is Java $RUNTIME_MAJOR: no AOT cache for the daemon (its cold start needs a JDK 25 or newer)"
fi

rm -f "$DIST"/krill-*.tar.gz "$DIST"/krill_*.deb
TARBALL=$DIST/$NAME-linux-$ARCH.tar.gz
tar -C "$STAGE" --owner=0 --group=0 --numeric-owner -czf "$TARBALL" "$NAME"

DEBROOT=$STAGE/deb
mkdir -p "$DEBROOT/opt" "$DEBROOT/DEBIAN" "$DEBROOT/usr/bin"
cp -a "$TREE" "$DEBROOT/opt/krill"
ln -s ../../opt/krill/bin/krill "$DEBROOT/usr/bin/krill"
cat > "$DEBROOT/DEBIAN/control" <<CONTROL
Package: krill
Version: $VERSION
Architecture: $DEBARCH
Maintainer: krill developers <krill@localhost>
Section: admin
Priority: optional
Installed-Size: $(du -sk "$DEBROOT/opt" | cut -f1)
Description: WebAssembly runtime for containerd (with its own Java runtime)
 Installs krill under /opt/krill. Run "krill install" to put its shim on containerd's PATH and
 add the krill runtime to containerd's config, then restart containerd.
CONTROL
DEB=$DIST/krill_${VERSION}_$DEBARCH.deb
dpkg-deb --root-owner-group -Zxz --build "$DEBROOT" "$DEB" >/dev/null

echo "dist: $(du -h "$TARBALL" | cut -f1) $TARBALL"
echo "dist: $(du -h "$DEB" | cut -f1) $DEB"
echo "dist: unpacked $(du -sh "$TREE" | cut -f1) (jre $(du -sh "$TREE/jre" | cut -f1))"
