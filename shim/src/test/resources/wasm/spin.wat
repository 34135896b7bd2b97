;; Never returns and never calls the host: only an epoch interrupt can stop it. The store makes
;; its memory page resident, so a positive memory stat shows the guest is in its entry function.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1))
    (loop (br 0))))
