;; A listening guest: takes connections from the socket krill preopened as fd 3 (the annotation
;; krill.io/listen), reads a request line, answers "HTTP/1.0 200 OK" with "hello", closes, and
;; takes the next connection, forever.
(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv"
    (func $sock_recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func $sock_send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_shutdown" (func $sock_shutdown (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: accepted fd; 8: byte count; 12: roflags; 16: request iovec; 24: response iovec
  (data (i32.const 256) "HTTP/1.0 200 OK\r\n\r\nhello\n")
  (func $line_end (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $scan
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.eq (i32.load8_u (i32.add (i32.const 1024) (local.get $i))) (i32.const 10))
          (then (return (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (i32.const 0))
  (func (export "_start")
    (local $fd i32)
    (local $err i32)
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.const 4096))
    (i32.store (i32.const 24) (i32.const 256))
    (i32.store (i32.const 28) (i32.const 25))
    (loop $serve
      (local.set $err (call $sock_accept (i32.const 3) (i32.const 0) (i32.const 0)))
      (if (local.get $err) (then (call $proc_exit (i32.const 1))))
      (local.set $fd (i32.load (i32.const 0)))
      ;; read until a newline or the end of the stream
      (block $read
        (loop $more
          (br_if $read
            (call $sock_recv (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 0)
              (i32.const 8) (i32.const 12)))
          (br_if $read (i32.eqz (i32.load (i32.const 8))))
          (br_if $read (call $line_end (i32.load (i32.const 8))))
          (br $more)))
      (drop (call $sock_send (local.get $fd) (i32.const 24) (i32.const 1) (i32.const 0) (i32.const 8)))
      (drop (call $sock_shutdown (local.get $fd) (i32.const 2)))
      (drop (call $fd_close (local.get $fd)))
      (br $serve))))
