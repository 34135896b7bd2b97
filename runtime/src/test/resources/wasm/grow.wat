;; The text twin of WasmBytes.growBy100PagesModule: exit 0 when growing by 100 pages is refused.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $proc_exit (i32.ne (memory.grow (i32.const 100)) (i32.const -1)))))
