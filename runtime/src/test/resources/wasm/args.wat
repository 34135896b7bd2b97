;; Prints each of its arguments (argv[0] included) on a line of its own.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  ;; 0: argc; 4: size of the strings; 16..511: argv pointers; 512: iovec; 520: nwritten; 1024..: the strings
  (memory (export "memory") 1)
  (func (export "_start")
    (local $i i32) (local $p i32) (local $len i32) (local $argc i32)
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (drop (call $get (i32.const 16) (i32.const 1024)))
    (local.set $argc (i32.load (i32.const 0)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $argc)))
        (local.set $p (i32.load (i32.add (i32.const 16) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $len (i32.const 0))
        (block $end
          (loop $scan
            (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $len)))))
            (local.set $len (i32.add (local.get $len) (i32.const 1)))
            (br $scan)))
        ;; The terminating NUL becomes the newline.
        (i32.store8 (i32.add (local.get $p) (local.get $len)) (i32.const 10))
        (i32.store (i32.const 512) (local.get $p))
        (i32.store (i32.const 516) (i32.add (local.get $len) (i32.const 1)))
        (drop (call $write (i32.const 1) (i32.const 512) (i32.const 1) (i32.const 520)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
