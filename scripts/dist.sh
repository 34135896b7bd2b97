#!/bin/sh
# Builds the release artifacts from a built dist/ (make build):
#   dist/krill-<version>-linux-<arch>.tar.gz   krill-<version>/{bin,lib,jre,etc,packaging}; packaging/systemd
#                                              holds krill@.service, which `krill install` puts in place
#   dist/krill_<version>_<debarch>.deb          the same tree under /opt/krill
# The Java runtime is made with jlink from the build JDK, holding only the modules krill uses, so a
# node needs no Java of its own. Nothing is downloaded.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIST=$ROOT/dist
VERSION=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' "$ROOT/pom.xml" | head -n1)
ARCH=$(uname -m)
case "$ARCH" in x86_64) DEBARCH=amd64 ;; aarch64) DEBARCH=arm64 ;; *) DEBARCH=$ARCH ;; esac
JAVA_HOME=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}
STAGE=$ROOT/target/dist-stage
NAME=krill-$VERSION
TREE=$STAGE/$NAME

die() { echo "dist: $*" >&2; exit 1; }
[ -x "$DIST/bin/containerd-shim-krill-v1" ] && [ -f "$DIST/lib/native/libwasmtime_jni.so" ] \
    && [ -d "$DIST/lib/cli" ] || die "run make build first"
[ -d "$JAVA_HOME/jmods" ] || die "$JAVA_HOME has no jmods (jlink needs a full JDK)"

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
found=$("$JAVA_HOME/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release 17 \
    --class-path "$TREE/lib/*:$TREE/lib/cli/*:$TREE/lib/cri/*" "$TREE"/lib/*.jar "$TREE"/lib/cli/*.jar \
    "$TREE"/lib/cri/*.jar 2>/dev/null | tail -n1)
# jdeps cannot see service providers: HTTPS (java.net.http) needs jdk.crypto.ec for the ECDHE key
# exchange nearly every registry offers, or handshakes fail at run time.
extra=java.logging
case ",$found," in *,java.net.http,*) extra="$extra,jdk.crypto.ec" ;; esac
modules=$(echo "$found,$extra" | tr ',' '\n' | grep -v -x -e java.desktop -e java.sql | sort -u | paste -sd, -)
echo "dist: jdeps: $found; bundling: $modules"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
    --compress=2 --output "$TREE/jre"
# Class data sharing archive for these modules: the daemon's cold start is on a container's path.
"$TREE/jre/bin/java" -Xshare:dump >/dev/null

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
