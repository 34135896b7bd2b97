;; Divides by zero two calls deep, without any host call: the trap's cause must reach stderr.
(module
  (memory (export "memory") 1)
  (func $divide (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.div_s)
  (func (export "_start")
    i32.const 1
    i32.const 0
    call $divide
    drop))
