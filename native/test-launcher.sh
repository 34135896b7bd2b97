#!/bin/bash
# Exercises containerd-shim-krill-v1 against a fake "java" (a Python stand-in
# for io.krill.shim.Daemon), so no JVM or containerd is needed.
# Usage: test-launcher.sh [path/to/containerd-shim-krill-v1]  (KEEP_T=1 keeps its temp dir)
# Needs root (the socket lives in /run/containerd/s) and python3.
set -u

here=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$here/../dist/bin/containerd-shim-krill-v1}
PY=$(command -v python3) || { echo "FAIL: python3 is required" >&2; exit 1; }
[ -x "$BIN" ] || { echo "FAIL: $BIN is not built" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "FAIL: must run as root (socket dir /run/containerd/s)" >&2; exit 1; }

T=$(mktemp -d /tmp/krill-launcher-test.XXXXXX)
KH=$T/home
SHIM=$KH/bin/containerd-shim-krill-v1
NS=krilltest
# Unique per run so the socket hash never matches a real daemon.
TAG="$$-$(date +%s%N)"
ADDR1=/run/containerd/krill-test-$TAG-1.sock
ADDR2=/run/containerd/krill-test-$TAG-2.sock
ADDR3=/run/containerd/krill-test-$TAG-3.sock
ADDR4=/run/containerd/krill-test-$TAG-4.sock
ADDR5=/run/containerd/krill-test-$TAG-5.sock
ADDR6=/run/containerd/krill-test-$TAG-6.sock
ADDR7=/run/containerd/krill-test-$TAG-7.sock
made_run_containerd=0
made_sock_dir=0
[ -d /run/containerd ] || made_run_containerd=1
[ -d /run/containerd/s ] || made_sock_dir=1

hash() { printf '%s' "$1/$NS/krill" | sha256sum | cut -c1-64; }
H1=$(hash "$ADDR1"); H2=$(hash "$ADDR2"); H3=$(hash "$ADDR3"); H4=$(hash "$ADDR4"); H5=$(hash "$ADDR5"); H7=$(hash "$ADDR7")
# krill-isolated: one daemon per pod (sandbox id).
pod_hash() { printf '%s' "$ADDR6/$NS/krill-isolated/$1" | sha256sum | cut -c1-64; }
HA=$(pod_hash podA); HB=$(pod_hash podB); HS=$(pod_hash solo)
# A pod cgroup in the memory hierarchy, made as kubelet would, if this host lets us.
CG=krill-launcher-test-$TAG
CGDIR=/sys/fs/cgroup/memory/$CG
# A dead daemon's task cgroup in the cpu hierarchy (cgroup v1), as krill's daemon makes them.
CPUCG=/sys/fs/cgroup/cpu/$CG

cleanup() {
    if [ -f "$T/pids" ]; then
        while read -r pid; do
            kill "$pid" 2>/dev/null
        done <"$T/pids"
    fi
    for h in "$H1" "$H2" "$H3" "$H4" "$H5" "$HA" "$HB" "$HS"; do
        rm -f "/run/containerd/s/$h"
    done
    [ -n "${KEEP_T:-}" ] || rm -rf "$T"
    # A cgroup with members cannot be removed: give the killed fake daemons a moment.
    for _ in $(seq 50); do rmdir "$CGDIR/podA" 2>/dev/null; [ -d "$CGDIR/podA" ] || break; sleep 0.1; done
    rmdir "$CGDIR" 2>/dev/null
    [ -z "${cg_member:-}" ] || kill "$cg_member" 2>/dev/null
    for _ in $(seq 50); do rmdir "$CPUCG/t1" 2>/dev/null; [ -d "$CPUCG/t1" ] || break; sleep 0.1; done
    rmdir "$CPUCG" 2>/dev/null
    [ "$made_sock_dir" = 1 ] && rmdir /run/containerd/s 2>/dev/null
    [ "$made_run_containerd" = 1 ] && rmdir /run/containerd 2>/dev/null
    return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok:   $*"; }

mkdir -p "$KH/bin" "$KH/lib/native" "$T/run" "$T/emptypath"
cp "$BIN" "$SHIM"
# The daemon's class path lists these in byte order (not java's directory-order expansion of lib/*).
touch "$KH/lib/netty-b.jar" "$KH/lib/jackson.jar" "$KH/lib/netty-a_1.jar" "$KH/lib/notes.txt"
export KRILL_RUN_DIR=$T/run
export FAKE_LOG=$T/spawns.jsonl FAKE_PIDS=$T/pids FAKE_REQS=$T/requests.log
unset KRILL_JAVA JAVA_HOME KRILL_JAVA_OPTS NAMESPACE GRPC_ADDRESS
export TTRPC_ADDRESS=/run/containerd/krill-test-$TAG.ttrpc
# The launcher must strip these before the daemon sees them.
export JAVA_TOOL_OPTIONS=-Dshould.not.leak=1
export RUST_BACKTRACE=1   # the daemon gets RUST_LIB_BACKTRACE=0 all the same

# Builds DeleteResponse bytes / decodes them (varints parsed by hand).
cat >"$T/pb.py" <<'EOF'
import sys, time

def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)

def read_varint(b, i):
    v = shift = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            return v, i

def fields(b):
    i = 0
    while i < len(b):
        key, i = read_varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = read_varint(b, i)
        elif w == 2:
            n, i = read_varint(b, i)
            v = b[i:i + n]; i += n
        elif w == 1:
            v = b[i:i + 8]; i += 8
        elif w == 5:
            v = b[i:i + 4]; i += 4
        else:
            raise ValueError("bad wire type %d" % w)
        yield f, w, v

def encode(pid, status, sec, nanos):
    ts = (varint(1 << 3) + varint(sec) if sec else b"") + (varint(2 << 3) + varint(nanos) if nanos else b"")
    out = (varint(1 << 3) + varint(pid) if pid else b"") + (varint(2 << 3) + varint(status) if status else b"")
    return out + varint(3 << 3 | 2) + varint(len(ts)) + ts

if sys.argv[1] == "encode":
    sys.stdout.write(encode(*map(int, sys.argv[2:])).hex())
elif sys.argv[1] == "decode":
    d = {"pid": 0, "exit_status": 0, "seconds": 0, "nanos": 0, "has_exited_at": 0}
    for f, w, v in fields(open(sys.argv[2], "rb").read()):
        if f == 1 and w == 0: d["pid"] = v
        elif f == 2 and w == 0: d["exit_status"] = v
        elif f == 3 and w == 2:
            d["has_exited_at"] = 1
            for tf, tw, tv in fields(v):
                if tf == 1: d["seconds"] = tv
                elif tf == 2: d["nanos"] = tv
    print(" ".join("%s=%s" % kv for kv in d.items()))
EOF

# Fake java: records how it was launched, then serves the Cleanup ttrpc call.
cat >"$T/fake-java" <<EOF
#!$PY
import json, os, socket, struct, sys, time
sys.path.insert(0, "$T")
import pb

args = sys.argv[1:]
def flag(name):
    return args[args.index(name) + 1] if name in args else None

fds = {}
for fd in os.listdir("/proc/self/fd"):
    try:
        fds[fd] = os.readlink("/proc/self/fd/" + fd)
    except OSError:
        pass
# Under krill-isolated's seccomp filter: what a few calls answer (errno, 0 for success; x86_64 numbers).
calls = {}
if "-isolated" in args and os.uname().machine == "x86_64":
    import ctypes, errno as E
    libc = ctypes.CDLL(None, use_errno=True)
    def call(name, nr, *a):
        r = libc.syscall(nr, *[ctypes.c_long(x) for x in a])
        calls[name] = 0 if r >= 0 else ctypes.get_errno()
    call("ptrace", 101, 0, 0, 0, 0)                 # PTRACE_TRACEME
    call("keyctl", 250, 0, 0, 0, 0)
    call("bpf", 321, 0, 0, 0)
    call("unshare_user", 272, 0x10000000)           # CLONE_NEWUSER
    call("unshare_net", 272, 0x40000000)            # CLONE_NEWNET
    call("unshare_uts_ipc", 272, 0x04000000 | 0x08000000)
    call("setns_any", 308, 0, 0)                    # nstype 0: whatever the fd is
    call("setns_net_badfd", 308, -1, 0x40000000)    # allowed through: the kernel says EBADF
    call("clone3", 435, 0, 0)
    call("getpid", 39)
status = {}
for line in open("/proc/self/status"):
    k, _, v = line.partition(":")
    if k in ("Seccomp", "CapEff", "CapBnd", "CapInh", "NoNewPrivs"):
        status[k] = v.strip()
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps({"argv": sys.argv, "pid": os.getpid(), "sid": os.getsid(0),
                        "cwd": os.getcwd(), "fds": fds, "status": status, "calls": calls,
                        "cgroup": open("/proc/self/cgroup").read(),
                        "jto": os.environ.get("JAVA_TOOL_OPTIONS"),
                        "rlb": os.environ.get("RUST_LIB_BACKTRACE")}) + "\n")
with open(os.environ["FAKE_PIDS"], "a") as f:
    f.write("%d\n" % os.getpid())
print("fake daemon starting")
sys.stdout.flush()
time.sleep(float(os.environ.get("FAKE_DELAY", "0.3")))
if os.environ.get("FAKE_FAIL"):
    print("boom: fake JVM could not start", file=sys.stderr)
    sys.exit(3)

srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(flag("-socket"))
srv.listen(128)

def recv_exact(c, n):
    data = b""
    while len(data) < n:
        chunk = c.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data

while True:
    c, _ = srv.accept()
    c.settimeout(5)
    try:
        hdr = recv_exact(c, 10)
        if hdr is None:
            continue
        length, stream, typ, flags = struct.unpack(">IIBB", hdr)
        body = recv_exact(c, length)
        req = {f: v for f, w, v in pb.fields(body)}
        service, method = req.get(1, b"").decode(), req.get(2, b"").decode()
        rid = {f: v for f, w, v in pb.fields(req.get(3, b""))}.get(1, b"").decode()
        with open(os.environ["FAKE_REQS"], "a") as f:
            f.write("%s %s %s stream=%d type=%d\n" % (service, method, rid, stream, typ))
        if rid == "known":
            payload = bytes.fromhex(os.environ["FAKE_OK_HEX"])
            # A zero status code is omitted, like protobuf does; add an unknown field too.
            resp = pb.varint(2 << 3 | 2) + pb.varint(len(payload)) + payload + bytes([0x7a, 0x01, 0x41])
        else:
            msg = b"task not found"
            status = pb.varint(1 << 3) + pb.varint(5) + pb.varint(2 << 3 | 2) + pb.varint(len(msg)) + msg
            resp = pb.varint(1 << 3 | 2) + pb.varint(len(status)) + status
        # An unrelated frame first: the launcher must wait for its own stream.
        c.sendall(struct.pack(">IIBB", 0, 3, 2, 0))
        c.sendall(struct.pack(">IIBB", len(resp), stream, 2, 0) + resp)
    except Exception as e:
        print("fake daemon: %r" % e, file=sys.stderr)
    finally:
        c.close()
EOF
chmod +x "$T/fake-java"
export KRILL_JAVA=$T/fake-java
export FAKE_OK_HEX=$($PY "$T/pb.py" encode 4242 7 1700000000 5)

spawns_for() { grep -c "/run/containerd/s/$1\"" "$FAKE_LOG" 2>/dev/null || true; }

# run_shim BUNDLE OUTPREFIX ARGS... : runs in BUNDLE (containerd's cwd) with a deadline.
run_shim() {
    local bundle=$1 out=$2
    shift 2
    (cd "$bundle" && printf 'bootstrap-params' | timeout 40 "$SHIM" "$@" >"$out.out" 2>"$out.err")
    echo $? >"$out.rc"
}
start_args() { echo -namespace "$NS" -address "$1" -publish-binary /usr/bin/containerd -id "$2"; }

# ---------------------------------------------------------------- -v
expected=$(printf 'containerd-shim-krill-v1:\n  Version: 0.1.0\n  Revision: krill\n  Go version: none (native launcher)\n')
if [ "$("$SHIM" -v)" = "$expected" ] && "$SHIM" -v >/dev/null; then pass "-v"; else fail "-v output: $("$SHIM" -v)"; fi

# ---------------------------------------------------------------- first start
B1=$T/bundles/b1; mkdir -p "$B1"
run_shim "$B1" "$T/s1" $(start_args "$ADDR1" c1) start
want="unix:///run/containerd/s/$H1"
if [ "$(cat "$T/s1.rc")" = 0 ] && [ "$(cat "$T/s1.out")" = "$want" ] && [ ! -s "$T/s1.err" ]; then
    pass "start prints $want, stderr empty"
else
    fail "start: rc=$(cat "$T/s1.rc") out=$(cat "$T/s1.out") err=$(cat "$T/s1.err")"
fi
[[ "$want" =~ ^unix:///run/containerd/s/[0-9a-f]{64}$ ]] || fail "socket path format: $want"
if [ "$(cat "$B1/address" 2>/dev/null)" = "$want" ] && [ "$(wc -c <"$B1/address")" = "${#want}" ]; then
    pass "address file"
else
    fail "address file: $(cat "$B1/address" 2>&1)"
fi
[ "$(spawns_for "$H1")" = 1 ] && pass "one spawn" || fail "spawns after first start: $(spawns_for "$H1")"
ls "$B1"/.address.* >/dev/null 2>&1 && fail "temporary address file left behind"

# How the daemon was launched.
if $PY - "$FAKE_LOG" "$H1" "$KH" "$KRILL_RUN_DIR" "$ADDR1" "$TTRPC_ADDRESS" <<'EOF'; then pass "daemon argv/env/fds/session"; else fail "daemon launch details"; fi
import json, sys
log, h, kh, rundir, addr, ttrpc = sys.argv[1:]
rec = [json.loads(l) for l in open(log) if "/run/containerd/s/" + h in l][0]
a = rec["argv"]
def after(flag): return a[a.index(flag) + 1]
errs = []
if a[1:5] != ["-XX:+UseSerialGC", "-XX:-DontCompileHugeMethods", "-XX:+ExitOnOutOfMemoryError", "-Xshare:auto"]: errs.append("jvm flags %r" % a[1:5])
# A JVM crash log goes to the daemon's run dir, not its cwd (/) or /tmp.
if a[5] != "-XX:ErrorFile=%s/shim/%s/hs_err_pid%%p.log" % (rundir, h): errs.append("crash log flag %r" % a[5])
if a[6] != "-Xmx256m": errs.append("heap flag %r" % a[6])
import platform
if platform.machine() == "x86_64" and a[7] != "-XX:StackShadowPages=10": errs.append("stack shadow flag %r" % a[7])
for want in ["-Djava.library.path=%s/lib/native" % kh, "-Dkrill.home=%s" % kh, "io.krill.shim.Daemon"]:
    if want not in a: errs.append("missing " + want)
if after("-cp") != ":".join(kh + "/lib/" + j for j in ["jackson.jar", "netty-a_1.jar", "netty-b.jar"]): errs.append("cp " + after("-cp"))
if a.index("-cp") > a.index("io.krill.shim.Daemon"): errs.append("-cp after main class")
checks = {"-socket": "/run/containerd/s/" + h, "-namespace": "krilltest", "-address": addr,
          "-ttrpc-address": ttrpc, "-publish-binary": "/usr/bin/containerd",
          "-run-dir": rundir + "/shim/" + h}
for k, v in checks.items():
    if after(k) != v: errs.append("%s=%s" % (k, after(k)))
if "-debug" in a: errs.append("-debug without -debug")
if rec["jto"] is not None: errs.append("JAVA_TOOL_OPTIONS leaked")
if rec["rlb"] != "0": errs.append("RUST_LIB_BACKTRACE=%r, not 0: traps would capture backtraces" % rec["rlb"])
if rec["sid"] != rec["pid"]: errs.append("not a session leader")
if rec["cwd"] != "/": errs.append("cwd " + rec["cwd"])
fds = rec["fds"]
if fds.get("0") != "/dev/null": errs.append("stdin " + str(fds.get("0")))
for fd in ("1", "2"):
    if fds.get(fd) != rundir + "/shim/" + h + "/daemon.log": errs.append("fd %s -> %s" % (fd, fds.get(fd)))
for fd, target in fds.items():
    if target.endswith("/lock") or (int(fd) > 2 and ("pipe:" in target or "socket:" in target)):
        errs.append("leaked fd %s -> %s" % (fd, target))
if errs:
    print("  " + "; ".join(errs))
    sys.exit(1)
EOF
perm=$(stat -c %a "$KRILL_RUN_DIR/shim/$H1")
[ "$perm" = 700 ] && pass "run dir mode 0700" || fail "run dir mode $perm"
[ "$made_sock_dir" = 0 ] || { p=$(stat -c %a /run/containerd/s); [ "$p" = 711 ] && pass "socket dir mode 0711" || fail "socket dir mode $p"; }

# ---------------------------------------------------------------- reuse
B1b=$T/bundles/b1b; mkdir -p "$B1b"
run_shim "$B1b" "$T/s2" $(start_args "$ADDR1" c1b) start
if [ "$(cat "$T/s2.rc")" = 0 ] && [ "$(cat "$T/s2.out")" = "$want" ] && [ ! -s "$T/s2.err" ] && [ "$(spawns_for "$H1")" = 1 ]; then
    pass "second start reuses the daemon"
else
    fail "second start: rc=$(cat "$T/s2.rc") spawns=$(spawns_for "$H1") err=$(cat "$T/s2.err")"
fi
# Flag spellings: --flag, -flag=value, -bundle instead of cwd, unknown flags.
B1c=$T/bundles/b1c; mkdir -p "$B1c"
run_shim "$T" "$T/s3" --namespace="$NS" -address="$ADDR1" -publish-binary /x --id c1c -bundle "$B1c" -future-flag val -debug=false start
if [ "$(cat "$T/s3.rc")" = 0 ] && [ "$(cat "$B1c/address" 2>/dev/null)" = "$want" ] && [ ! -e "$T/address" ]; then
    pass "flag variants and -bundle"
else
    fail "flag variants: rc=$(cat "$T/s3.rc") err=$(cat "$T/s3.err")"
fi
t0=$(date +%s%N)
for _ in $(seq 20); do (cd "$B1b" && "$SHIM" $(start_args "$ADDR1" c1b) start </dev/null >/dev/null 2>&1); done
t1=$(date +%s%N)
avg_us=$(((t1 - t0) / 20000))
echo "info: warm start takes ${avg_us} us on average (incl. fork/exec of the shell loop)"
[ "$avg_us" -lt 100000 ] || fail "warm start too slow: ${avg_us} us"

# ---------------------------------------------------------------- concurrent starts
pids=()
for i in $(seq 10); do
    mkdir -p "$T/bundles/c$i"
    run_shim "$T/bundles/c$i" "$T/c$i" $(start_args "$ADDR2" "c$i") start &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
ok=1
for i in $(seq 10); do
    if [ "$(cat "$T/c$i.rc")" != 0 ] || [ "$(cat "$T/c$i.out")" != "unix:///run/containerd/s/$H2" ] || [ -s "$T/c$i.err" ]; then
        ok=0; echo "  start $i: rc=$(cat "$T/c$i.rc") out=$(cat "$T/c$i.out") err=$(cat "$T/c$i.err")"
    fi
done
[ "$ok" = 1 ] && [ "$(spawns_for "$H2")" = 1 ] && pass "10 concurrent starts, one spawn" \
    || fail "concurrent starts: spawns=$(spawns_for "$H2")"

# ---------------------------------------------------------------- java missing
B3=$T/bundles/b3; mkdir -p "$B3"
(cd "$B3" && timeout 20 env -u KRILL_JAVA -u JAVA_HOME PATH="$T/emptypath" "$SHIM" $(start_args "$ADDR3" c3) start </dev/null >"$T/m.out" 2>"$T/m.err"; echo $? >"$T/m.rc")
msg=$(cat "$T/m.out" "$T/m.err")
if [ "$(cat "$T/m.rc")" = 1 ] && [[ "$msg" == "krill: cannot start the krill daemon for namespace $NS: java not found"* ]] && [ "$(printf '%s\n' "$msg" | wc -l)" = 1 ]; then
    pass "java missing: $msg"
else
    fail "java missing: rc=$(cat "$T/m.rc") msg=$msg"
fi
(cd "$B3" && KRILL_JAVA=$T/nope timeout 20 "$SHIM" $(start_args "$ADDR3" c3) start </dev/null >"$T/m2.out" 2>&1; echo $? >"$T/m2.rc")
if [ "$(cat "$T/m2.rc")" = 1 ] && grep -q KRILL_JAVA "$T/m2.out"; then pass "bad KRILL_JAVA: $(cat "$T/m2.out")"; else fail "bad KRILL_JAVA: $(cat "$T/m2.out")"; fi
[ -e "$B3/address" ] && fail "address written although start failed"

# ---------------------------------------------------------------- daemon dies during startup
B4=$T/bundles/b4; mkdir -p "$B4"
(cd "$B4" && FAKE_FAIL=1 FAKE_DELAY=0 timeout 40 "$SHIM" $(start_args "$ADDR4" c4) start </dev/null >"$T/d.out" 2>"$T/d.err"; echo $? >"$T/d.rc")
msg=$(cat "$T/d.out" "$T/d.err")
if [ "$(cat "$T/d.rc")" = 1 ] && [[ "$msg" == *"exited with status 3"* ]] && [[ "$msg" == *"boom: fake JVM could not start"* ]] && [ "$(printf '%s\n' "$msg" | wc -l)" = 1 ]; then
    pass "daemon death reported with log tail"
else
    fail "daemon death: rc=$(cat "$T/d.rc") msg=$msg"
fi

# ---------------------------------------------------------------- delete
delete() { # BUNDLE PREFIX ADDR ID
    run_shim "$1" "$2" -namespace "$NS" -address "$3" -publish-binary /usr/bin/containerd -id "$4" -bundle "$1" delete
}
decode() { $PY "$T/pb.py" decode "$1"; }

D1=$T/bundles/d1; mkdir -p "$D1/rootfs"
printf 'pid=99\nstatus=running\n' >"$D1/krill.state"
delete "$D1" "$T/del1" "$ADDR1" known
if [ "$(cat "$T/del1.rc")" = 0 ] && [ "$(xxd -p "$T/del1.out" | tr -d '\n')" = "$FAKE_OK_HEX" ] && [ ! -s "$T/del1.err" ]; then
    pass "delete via daemon: $(decode "$T/del1.out")"
else
    fail "delete via daemon: rc=$(cat "$T/del1.rc") out=$(xxd -p "$T/del1.out") err=$(cat "$T/del1.err")"
fi
[ -e "$D1/krill.state" ] && fail "krill.state not removed"
grep -q "^krill.shim.v1.Shim Cleanup known stream=1 type=1$" "$FAKE_REQS" && pass "ttrpc request shape" || fail "request: $(cat "$FAKE_REQS")"

D2=$T/bundles/d2; mkdir -p "$D2"
printf 'pid=1234\nstatus=stopped\nexit_status=3\nexited_at=1700000123.000456789\n' >"$D2/krill.state"
delete "$D2" "$T/del2" "$ADDR1" unknown-to-daemon
r=$(decode "$T/del2.out")
[ "$(cat "$T/del2.rc")" = 0 ] && [ "$r" = "pid=1234 exit_status=3 seconds=1700000123 nanos=456789 has_exited_at=1" ] && [ ! -s "$T/del2.err" ] \
    && pass "delete, daemon says NOT_FOUND, stopped state: $r" || fail "delete NOT_FOUND: $r err=$(cat "$T/del2.err")"

# Stop the fake daemons; the ADDR1 socket file stays behind (stale).
while read -r pid; do kill "$pid" 2>/dev/null; done <"$T/pids"
for _ in $(seq 100); do
    alive=0
    # Zombies count as dead: PID 1 in some containers never reaps orphans.
    while read -r pid; do
        st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
        [ -n "$st" ] && [ "$st" != Z ] && alive=1
    done <"$T/pids"
    [ "$alive" = 0 ] && break
    sleep 0.05
done

D3=$T/bundles/d3; mkdir -p "$D3"
printf 'pid=1234\nstatus=stopped\nexit_status=3\nexited_at=1700000123.5\n' >"$D3/krill.state"
delete "$D3" "$T/del3" "$ADDR1" known
r=$(decode "$T/del3.out")
[ "$(cat "$T/del3.rc")" = 0 ] && [ "$r" = "pid=1234 exit_status=3 seconds=1700000123 nanos=500000000 has_exited_at=1" ] && [ ! -s "$T/del3.err" ] \
    && pass "delete, daemon gone (stale socket), stopped state: $r" || fail "delete stale: $r err=$(cat "$T/del3.err")"
[ -e "$D3/krill.state" ] && fail "krill.state not removed (no daemon)"

D4=$T/bundles/d4; mkdir -p "$D4"
now=$(date +%s)
delete "$D4" "$T/del4" "$ADDR3" c4
r=$(decode "$T/del4.out")
sec=$(sed -n 's/.*seconds=\([0-9]*\).*/\1/p' <<<"$r")
if [ "$(cat "$T/del4.rc")" = 0 ] && [[ "$r" == "pid=0 exit_status=137 "* ]] && [ $((sec - now)) -ge -2 ] && [ $((sec - now)) -le 5 ] && [ ! -s "$T/del4.err" ]; then
    pass "delete, no daemon, no state: $r"
else
    fail "delete no state: $r err=$(cat "$T/del4.err")"
fi

D5=$T/bundles/d5; mkdir -p "$D5"
printf 'pid=77\nstatus=running\n' >"$D5/krill.state"
(cd "$D5" && timeout 20 "$SHIM" -namespace "$NS" -address "$ADDR3" -id c5 delete </dev/null >"$T/del5.out" 2>"$T/del5.err"; echo $? >"$T/del5.rc")
r=$(decode "$T/del5.out")
[ "$(cat "$T/del5.rc")" = 0 ] && [[ "$r" == "pid=77 exit_status=137 "* ]] && [ ! -e "$D5/krill.state" ] \
    && pass "delete uses cwd as bundle, running state -> 137: $r" || fail "delete cwd bundle: $r"
delete "$D5" "$T/del6" "$ADDR3" c5
r=$(decode "$T/del6.out")
[ "$(cat "$T/del6.rc")" = 0 ] && [[ "$r" == "pid=0 exit_status=137 "* ]] && [ ! -s "$T/del6.err" ] \
    && pass "delete is idempotent: $r" || fail "second delete: $r err=$(cat "$T/del6.err")"

# Unmount of <bundle>/rootfs, if this environment lets us mount at all.
D7=$T/bundles/d7; mkdir -p "$D7/rootfs"
if mount -t tmpfs krill-test "$D7/rootfs" 2>/dev/null; then
    delete "$D7" "$T/del7" "$ADDR3" c7
    if mountpoint -q "$D7/rootfs"; then umount "$D7/rootfs"; fail "rootfs still mounted after delete"; else pass "delete unmounts rootfs"; fi
else
    echo "skip: cannot mount tmpfs here, rootfs unmount not tested"
fi

# ---------------------------------------------------------------- restart after the daemon died
B6=$T/bundles/b6; mkdir -p "$B6"
run_shim "$B6" "$T/s6" $(start_args "$ADDR1" c6) start
[ "$(cat "$T/s6.rc")" = 0 ] && [ "$(cat "$T/s6.out")" = "$want" ] && [ "$(spawns_for "$H1")" = 2 ] \
    && pass "start replaces a stale socket with a new daemon" || fail "restart: rc=$(cat "$T/s6.rc") spawns=$(spawns_for "$H1") err=$(cat "$T/s6.err")"

# ---------------------------------------------------------------- daemon (krill@.service)
dry=$("$SHIM" daemon --namespace "$NS" --address "$ADDR5" --dry-run)
[ "$(echo "$dry" | sed -n 's/^socket //p')" = "/run/containerd/s/$H5" ] \
    && [ "$(echo "$dry" | sed -n 's/^run dir //p')" = "$KRILL_RUN_DIR/shim/$H5" ] \
    && pass "daemon --dry-run names start's socket and run dir" || fail "daemon --dry-run: $dry"
"$SHIM" daemon --namespace "$NS" --adress "$ADDR5" >/dev/null 2>"$T/dm.err"
[ $? = 2 ] && grep -q "unknown option --adress" "$T/dm.err" && pass "daemon refuses an unknown option" \
    || fail "daemon with a misspelt option: $(cat "$T/dm.err")"
"$SHIM" daemon --namespace "$NS" --address "$ADDR5" </dev/null >/dev/null 2>&1 &
dpid=$!
for _ in $(seq 100); do [ -S "/run/containerd/s/$H5" ] && break; sleep 0.05; done
rec=$(grep "/run/containerd/s/$H5\"" "$FAKE_LOG" | tail -n1)
echo "$rec" | grep -q "\"pid\": $dpid," && echo "$rec" | grep -q '"-foreground", "-idle-timeout", "0"' \
    && echo "$rec" | grep -q '"jto": null' && pass "daemon execs the daemon in place, never idling" \
    || fail "daemon: pid $dpid, spawned: $rec"
B5=$T/bundles/b5; mkdir -p "$B5"
run_shim "$B5" "$T/s5" $(start_args "$ADDR5" c5) start
[ "$(cat "$T/s5.rc")" = 0 ] && [ "$(spawns_for "$H5")" = 1 ] && pass "start uses the foreground daemon" \
    || fail "start after daemon: rc=$(cat "$T/s5.rc") spawns=$(spawns_for "$H5") err=$(cat "$T/s5.err")"
kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null

# ---------------------------------------------------------------- the release's AOT cache
# Only the bundled java gets lib/daemon.aot (it wrote it), in place of -Xshare:auto.
mkdir -p "$KH/jre/bin" && cp "$T/fake-java" "$KH/jre/bin/java"
: >"$KH/lib/daemon.aot"
dry=$(env -u KRILL_JAVA "$SHIM" daemon --namespace "$NS" --address "$ADDR5" --dry-run | sed -n 's/^exec //p')
case " $dry " in
    *" $KH/jre/bin/java -XX:+UseSerialGC -XX:-DontCompileHugeMethods -XX:+ExitOnOutOfMemoryError -XX:AOTCache=$KH/lib/daemon.aot "*)
        case " $dry " in *" -Xshare:"*) fail "AOT cache beside -Xshare: $dry" ;; *) pass "bundled java gets the AOT cache" ;; esac ;;
    *) fail "bundled java without the AOT cache: $dry" ;;
esac
dry=$("$SHIM" daemon --namespace "$NS" --address "$ADDR5" --dry-run | sed -n 's/^exec //p')
case " $dry " in
    *" -XX:AOTCache="*) fail "KRILL_JAVA given the bundled runtime's AOT cache: $dry" ;;
    *" -Xshare:auto "*) pass "another java gets no AOT cache" ;;
    *) fail "another java: $dry" ;;
esac
rm "$KH/lib/daemon.aot"
dry=$(env -u KRILL_JAVA "$SHIM" daemon --namespace "$NS" --address "$ADDR5" --dry-run | sed -n 's/^exec //p')
case " $dry " in
    *" -XX:AOTCache="*) fail "AOT cache flag without the file: $dry" ;;
    *" -Xshare:auto "*) pass "no AOT cache file, no flag" ;;
    *) fail "without the AOT cache: $dry" ;;
esac
# ---------------------------------------------------------------- krill-isolated
ISO=$KH/bin/containerd-shim-krill-isolated-v1
ln -s containerd-shim-krill-v1 "$ISO"
[ "$("$ISO" -v | head -n1)" = "containerd-shim-krill-isolated-v1:" ] && pass "isolated -v names the isolated shim" \
    || fail "isolated -v: $("$ISO" -v)"
cg_ok=0
mkdir -p "$CGDIR/podA" 2>/dev/null && cg_ok=1
# iso_bundle POD CONTAINER: a config.json as containerd's CRI writes it (sandbox-id, cgroupsPath).
iso_bundle() {
    mkdir -p "$T/bundles/$2"
    printf '{"ociVersion":"1.0.2","process":{"args":["/pause"],"env":["X=\\"io.kubernetes.cri.sandbox-id\\""]},\n "annotations": {"io.kubernetes.cri.container-type":"container",\n  "io.kubernetes.cri.sandbox-id" : "%s"},\n "linux":{"cgroupsPath":"/%s/%s/%s"}}\n' \
        "$1" "$CG" "$1" "$2" >"$T/bundles/$2/config.json"
}
iso_start() { # CONTAINER PREFIX
    (cd "$T/bundles/$1" && printf 'params' | timeout 40 "$ISO" $(start_args "$ADDR6" "$1") start >"$2.out" 2>"$2.err"; echo $? >"$2.rc")
}
iso_bundle podA podA; iso_bundle podA appA; iso_bundle podB podB
iso_start podA "$T/i1"; iso_start appA "$T/i2"; iso_start podB "$T/i3"
if [ "$(cat "$T/i1.rc" "$T/i2.rc" "$T/i3.rc" | tr -d '\n')" = 000 ] \
    && [ "$(cat "$T/i1.out")" = "unix:///run/containerd/s/$HA" ] && [ "$(cat "$T/i2.out")" = "unix:///run/containerd/s/$HA" ] \
    && [ "$(cat "$T/i3.out")" = "unix:///run/containerd/s/$HB" ] && [ "$(spawns_for "$HA")" = 1 ] && [ "$(spawns_for "$HB")" = 1 ]; then
    pass "isolated: a daemon per pod, a pod's containers share it"
else
    fail "isolated starts: rc=$(cat "$T/i1.rc" "$T/i2.rc" "$T/i3.rc") out=$(cat "$T/i1.out" "$T/i2.out" "$T/i3.out") err=$(cat "$T/i1.err" "$T/i2.err" "$T/i3.err") spawns=$(spawns_for "$HA")/$(spawns_for "$HB")"
fi
if $PY - "$FAKE_LOG" "$HA" "$CG" "$cg_ok" <<'EOF'; then pass "isolated daemon: confined, -isolated flag, pod cgroup"; else fail "isolated daemon launch"; fi
import json, sys
log, h, cg, cg_ok = sys.argv[1:]
rec = [json.loads(l) for l in open(log) if "/run/containerd/s/" + h in l][0]
a, st = rec["argv"], rec["status"]
errs = []
if a[a.index("-isolated") + 1] != "podA": errs.append("argv %r" % a)
# CAP_DAC_OVERRIDE (1) and CAP_SYS_ADMIN (21), and nothing else, not even in the bounding set.
for k, v in {"Seccomp": "2", "NoNewPrivs": "1", "CapEff": "0000000000200002",
             "CapBnd": "0000000000200002", "CapInh": "0000000000000000"}.items():
    if st.get(k) != v: errs.append("%s: %s" % (k, st.get(k)))
if cg_ok == "1" and (":memory:/%s/podA\n" % cg) not in rec["cgroup"]: errs.append("cgroup " + rec["cgroup"])
import errno as E, os
want = {"ptrace": E.EPERM, "keyctl": E.EPERM, "bpf": E.EPERM, "unshare_user": E.EPERM,
        "unshare_net": E.EPERM, "unshare_uts_ipc": 0, "setns_any": E.EPERM,
        "setns_net_badfd": E.EBADF, "clone3": E.ENOSYS, "getpid": 0}
for k, v in want.items() if os.uname().machine == "x86_64" else []:
    if rec["calls"].get(k) != v: errs.append("%s -> %s, expected %s" % (k, rec["calls"].get(k), v))
if errs:
    print("  " + "; ".join(errs))
    sys.exit(1)
EOF
[ "$cg_ok" = 1 ] || echo "skip: cannot create a memory cgroup here, pod cgroup not tested"
# A pod cgroup the daemon cannot join (a cpuset without CPUs refuses members), and one whose
# memory limit the JVM cannot live in: start fails, naming the pod and what to do.
CPUSET=/sys/fs/cgroup/cpuset/$CG
if [ "$cg_ok" = 1 ] && mkdir -p "$CPUSET/podC" 2>/dev/null; then
    mkdir -p "$T/bundles/appC"
    printf '{"annotations":{"io.kubernetes.cri.sandbox-id":"podC"},"linux":{"cgroupsPath":"/%s/podC/appC"}}\n' "$CG" >"$T/bundles/appC/config.json"
    iso_start appC "$T/i6"
    msg=$(cat "$T/i6.err")
    [ "$(cat "$T/i6.rc")" = 1 ] && [[ "$msg" == "krill: cannot start the krill daemon for pod podC (namespace $NS): the launcher could not place"* ]] \
        && [[ "$msg" == *"cannot move the daemon into $CPUSET/podC/cgroup.procs"* ]] \
        && pass "isolated: a pod cgroup it cannot join fails the start, saying why" || fail "unjoinable pod cgroup: rc=$(cat "$T/i6.rc") $msg"
    rmdir "$CPUSET/podC" "$CPUSET" 2>/dev/null
    rm -f "/run/containerd/s/$(pod_hash podC)"
fi
if [ "$cg_ok" = 1 ] && mkdir -p "$CGDIR/podD" && echo 0 >"$CGDIR/podD/memory.limit_in_bytes"; then
    mkdir -p "$T/bundles/appD"
    printf '{"annotations":{"io.kubernetes.cri.sandbox-id":"podD"},"linux":{"cgroupsPath":"/%s/podD/appD"}}\n' "$CG" >"$T/bundles/appD/config.json"
    iso_start appD "$T/i7"
    msg=$(cat "$T/i7.err")
    [ "$(cat "$T/i7.rc")" = 1 ] && [[ "$msg" == *"was killed by signal 9"*"counts against the pod's memory limit"* ]] \
        && pass "isolated: a pod memory limit too small for the JVM is named" || fail "pod memory limit 0: rc=$(cat "$T/i7.rc") $msg"
    for _ in $(seq 50); do rmdir "$CGDIR/podD" 2>/dev/null && break; sleep 0.1; done
    rm -f "/run/containerd/s/$(pod_hash podD)"
fi

# A pod's delete asks the pod's daemon.
printf 'pid=5\nstatus=running\n' >"$T/bundles/appA/krill.state"
(timeout 40 "$ISO" -namespace "$NS" -address "$ADDR6" -id appA -bundle "$T/bundles/appA" delete </dev/null >"$T/idel.out" 2>"$T/idel.err"; echo $? >"$T/idel.rc")
[ "$(cat "$T/idel.rc")" = 0 ] && [ ! -s "$T/idel.err" ] && grep -q "^krill.shim.v1.Shim Cleanup appA " "$FAKE_REQS" \
    && pass "isolated delete asks the pod's daemon" || fail "isolated delete: err=$(cat "$T/idel.err") reqs=$(cat "$FAKE_REQS")"
# A pod's daemon that died: delete detaches the private mount copies it left, and the sandbox's
# delete removes its socket.
apid=$($PY -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "/run/containerd/s/"+sys.argv[2] in l][0]["pid"])' "$FAKE_LOG" "$HA")
kill "$apid"
for _ in $(seq 100); do st=$(awk '{print $3}' "/proc/$apid/stat" 2>/dev/null); [ -z "$st" ] || [ "$st" = Z ] && break; sleep 0.05; done
copy=$KRILL_RUN_DIR/shim/$HA/mounts/appA/0
mkdir -p "$copy"
mounted=0
mount -t tmpfs krill-test "$copy" 2>/dev/null && mounted=1
# containerd runs delete the moment its connection to a SIGKILLed daemon drops, when the dying
# daemon's socket may still accept: a listener that resets the one connection it takes, then
# closes, stands for that moment.
rm -f "/run/containerd/s/$HA"
$PY -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
c, _ = s.accept()
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close(); s.close()' "/run/containerd/s/$HA" &
dying=$!
for _ in $(seq 100); do [ -S "/run/containerd/s/$HA" ] && break; sleep 0.05; done
(timeout 40 "$ISO" -namespace "$NS" -address "$ADDR6" -id appA -bundle "$T/bundles/appA" delete </dev/null >"$T/idel2.out" 2>"$T/idel2.err"; echo $? >"$T/idel2.rc")
wait "$dying"
if [ "$(cat "$T/idel2.rc")" = 0 ] && [ ! -e "$KRILL_RUN_DIR/shim/$HA/mounts/appA" ] && [ -S "/run/containerd/s/$HA" ]; then
    pass "isolated delete, daemon dying then dead: private mount copies released (mounted: $mounted), socket kept"
else
    mountpoint -q "$copy" && umount "$copy"
    fail "dead pod daemon, container delete: rc=$(cat "$T/idel2.rc") err=$(cat "$T/idel2.err") $(ls -R "$KRILL_RUN_DIR/shim/$HA/mounts")"
fi
(timeout 40 "$ISO" -namespace "$NS" -address "$ADDR6" -id podA -bundle "$T/bundles/podA" delete </dev/null >"$T/idel3.out" 2>"$T/idel3.err"; echo $? >"$T/idel3.rc")
[ "$(cat "$T/idel3.rc")" = 0 ] && [ ! -e "/run/containerd/s/$HA" ] && [ -e "$KRILL_RUN_DIR/shim/$HA/daemon.log" ] \
    && pass "isolated delete of the sandbox, daemon dead: socket removed, log kept" \
    || fail "dead pod daemon, sandbox delete: rc=$(cat "$T/idel3.rc") err=$(cat "$T/idel3.err")"

# Without the annotation (ctr run), a container is a pod of its own.
mkdir -p "$T/bundles/solo" && echo '{"ociVersion":"1.0.2"}' >"$T/bundles/solo/config.json"
iso_start solo "$T/i4"
[ "$(cat "$T/i4.rc")" = 0 ] && [ "$(cat "$T/i4.out")" = "unix:///run/containerd/s/$HS" ] \
    && pass "isolated: a container without a sandbox id gets its own daemon" || fail "solo: $(cat "$T/i4.out" "$T/i4.err")"
mkdir -p "$T/bundles/bad" && echo '{"annotations":{"io.kubernetes.cri.sandbox-id":"../x"}}' >"$T/bundles/bad/config.json"
iso_start bad "$T/i5"
[ "$(cat "$T/i5.rc")" = 1 ] && grep -q "container bad: neither its io.kubernetes.cri.sandbox-id" "$T/i5.err" \
    && pass "isolated: refuses a sandbox id that is no id" || fail "bad sandbox id: rc=$(cat "$T/i5.rc") $(cat "$T/i5.err")"
"$ISO" daemon --namespace "$NS" --address "$ADDR6" >/dev/null 2>"$T/idm.err"
[ $? = 2 ] && grep -q "one daemon per pod" "$T/idm.err" && pass "isolated: no daemon subcommand" || fail "isolated daemon: $(cat "$T/idm.err")"

# ---------------------------------------------------------------- a dead daemon's task cgroups
# containerd runs delete as soon as it sees a killed daemon's connection close, which can be before
# the killed guest threads have left the task's cgroup: delete waits for them (a few seconds at
# most) and then removes it.
if [ -f /sys/fs/cgroup/cpu/tasks ] && mkdir -p "$CPUCG/t1" 2>/dev/null; then
    mkdir -p "$KRILL_RUN_DIR/shim/$H7" "$T/bundles/t1"
    echo "$CPUCG/t1" >"$KRILL_RUN_DIR/shim/$H7/cgroups"
    sleep 30 &
    cg_member=$!
    echo "$cg_member" >"$CPUCG/t1/cgroup.procs"
    (sleep 0.5; kill "$cg_member") &
    delete "$T/bundles/t1" "$T/cgdel" "$ADDR7" t1
    wait "$cg_member" 2>/dev/null
    if [ "$(cat "$T/cgdel.rc")" = 0 ] && [ ! -d "$CPUCG/t1" ] && [ ! -s "$T/cgdel.err" ]; then
        pass "delete, daemon dead: the task's cgroup goes once its last thread has left it"
    else
        fail "dead daemon's task cgroup: rc=$(cat "$T/cgdel.rc") left=$([ -d "$CPUCG/t1" ] && echo yes || echo no) err=$(cat "$T/cgdel.err")"
    fi
else
    echo "skip: no cgroup v1 cpu hierarchy to write to here, a dead daemon's task cgroups not tested"
fi

if [ "$failures" = 0 ]; then
    echo "all launcher tests passed"
    exit 0
fi
echo "$failures launcher test(s) failed"
exit 1
