"""Writes the WAT of a WASI module with many distinct, non-trivial functions, for the bench's cold vs warm
start: compiling it takes Wasmtime seconds, loading it from the cache does not. The seed goes into every
constant, so each bench run compiles a module no cache has seen.

    python3 big-module.py FUNCTIONS SEED > big.wat            (prints "big module ok" when run)
    python3 big-module.py FUNCTIONS SEED SECONDS > big.wat    (prints it, then sleeps SECONDS: one WASI
                                                              poll_oneoff clock subscription, as sleep.wasm)
"""
import sys

n, seed = int(sys.argv[1]), int(sys.argv[2])
sleep_s = int(sys.argv[3]) if len(sys.argv) > 3 else 0
w = sys.stdout.write
w('(module\n')
w(' (type $t (func (param i32) (result i32)))\n')
w(' (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))\n')
if sleep_s:
    w(' (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))\n')
w(' (memory (export "memory") 1)\n')
w(' (data (i32.const 16) "big module ok\\n")\n')
w(f' (table {n} funcref)\n')
w(' (elem (i32.const 0) func ' + ' '.join(f'$f{i}' for i in range(n)) + ')\n')
for i in range(n):
    k = (i * 2654435761 + seed * 40503) & 0x7fffffff
    w(f' (func $f{i} (type $t) (local $y i32)\n')
    for s in range(24):
        a, b, r = (k >> (s % 20)) | 1, (k * (s + 3)) & 0xffff, s % 13 + 3
        # A data-dependent branch per step keeps the optimiser from folding the steps together.
        w(f'  local.get 0 i32.const {a} i32.mul i32.const {b} i32.add local.tee 0 i32.const {r} i32.shr_u'
          f' local.get 0 i32.xor local.set 0\n'
          f'  (if (i32.and (local.get 0) (i32.const {1 << (s % 16)}))'
          f' (then (local.set $y (i32.add (local.get $y) (i32.rotl (local.get 0) (i32.const {s + 1})))))'
          f' (else (local.set $y (i32.sub (local.get $y) (i32.const {b + s})))))\n')
    w('  local.get 0 local.get $y i32.xor)\n')
w(' (func (export "_start") (local $i i32) (local $acc i32)\n')
w('  (local.set $acc (i32.const 1))\n')
w(f'  (loop $l (local.set $acc (call_indirect (type $t) (i32.add (local.get $acc) (local.get $i)) (local.get $i)))\n')
w(f'   (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const {n}))))\n')
w('  (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 14))\n')
w('  (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))')
if sleep_s:
    # A 48-byte clock subscription at 64 (tag 0, CLOCK_MONOTONIC, relative timeout in ns), its event at 128.
    w(f'\n  (i64.store (i32.const 64) (i64.const 0)) (i32.store8 (i32.const 72) (i32.const 0))'
      f' (i32.store (i32.const 80) (i32.const 1)) (i64.store (i32.const 88) (i64.const {sleep_s * 1000000000}))'
      f' (i64.store (i32.const 96) (i64.const 0)) (i32.store16 (i32.const 104) (i32.const 0))\n'
      f'  (drop (call $poll (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 192)))')
w(')\n')
w(')\n')
