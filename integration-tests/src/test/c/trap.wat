;; Traps immediately, without any host call, so the runtime's trap path is tested in isolation.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    unreachable))
