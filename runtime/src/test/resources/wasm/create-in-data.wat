;; path_open(fd 4 = the /data preopen, "new.txt", O_CREAT, rights fd_write) and proc_exit(errno):
;; exit 0 means the file could be created.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "new.txt")
  (func (export "_start")
    (call $proc_exit
      (call $path_open
        (i32.const 4)        ;; dirfd
        (i32.const 0)        ;; lookupflags
        (i32.const 16)       ;; path
        (i32.const 7)        ;; path length
        (i32.const 1)        ;; oflags: O_CREAT
        (i64.const 64)       ;; rights: fd_write
        (i64.const 0)        ;; inheriting rights
        (i32.const 0)        ;; fdflags
        (i32.const 32)))))   ;; where the new fd goes
