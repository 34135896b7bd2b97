(module
  ;; Sleeps one hour: poll_oneoff with a single relative CLOCK_MONOTONIC subscription.
  ;; Subscription at 0 (48 bytes): userdata@0, tag@8 = clock, clock id@16, timeout@24 (ns),
  ;; precision@32, flags@40 = 0 (relative). Event out at 64, nevents at 128.
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 3600000000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))
