;; A wasm plugin: every exported function is part of its API. hotswap_save_state and
;; hotswap_load_state carry the running total across a reload. Built into
;; examples/plugins/adder.wasm by `pnpm run build` (scripts/build-examples.mjs, with wabt).
(module
  (global $total (mut i32) (i32.const 0))
  (func (export "add") (param $a i32) (param $b i32) (result i32)
    local.get $a
    local.get $b
    i32.add)
  (func (export "mul") (param $a i32) (param $b i32) (result i32)
    local.get $a
    local.get $b
    i32.mul)
  (func (export "accumulate") (param $n i32) (result i32)
    global.get $total
    local.get $n
    i32.add
    global.set $total
    global.get $total)
  (func (export "total") (result i32)
    global.get $total)
  (func (export "hotswap_save_state") (result i32)
    global.get $total)
  (func (export "hotswap_load_state") (param $n i32)
    local.get $n
    global.set $total))
