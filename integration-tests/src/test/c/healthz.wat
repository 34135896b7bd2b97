;; A module with a second entry point, for the `path#function` exec convention (exec probes).
;; _start fails on purpose, so a test can tell that #healthz really ran the other export.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; bytes 0..7 hold the iovec, 16..19 the count fd_write reports
  (data (i32.const 8) "ok\n")
  (func (export "healthz")
    (i32.store (i32.const 0) (i32.const 8))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))
  (func (export "_start")
    (call $proc_exit (i32.const 2))))
