;; FNV-1a kernels for @hotswap/change-detector.
;; The caller copies bytes into linear memory at offset 0 (up to 64 KiB per call) and passes the
;; running hash in; the 64-bit result is returned and also left in the exported globals lo/hi
;; (its halves), so a caller can chain calls without making a BigInt.
(module
  (memory (export "memory") 1)
  (global $lo (export "lo") (mut i32) (i32.const 0))
  (global $hi (export "hi") (mut i32) (i32.const 0))

  ;; FNV-1a 64 over memory[0..len), starting from the hash (hi:lo).
  (func (export "fnv1a64") (param $len i32) (param $lo i32) (param $hi i32) (result i64)
    (local $h i64) (local $p i32) (local $end8 i32)
    (local.set $h (i64.or (i64.shl (i64.extend_i32_u (local.get $hi)) (i64.const 32))
                          (i64.extend_i32_u (local.get $lo))))
    (local.set $end8 (i32.and (local.get $len) (i32.const -8)))
    (block $done8
      (loop $eight
        (br_if $done8 (i32.ge_u (local.get $p) (local.get $end8)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u offset=0 (local.get $p))) (i64.const 0x100000001b3)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u offset=1 (local.get $p))) (i64.const 0x100000001b3)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u offset=2 (local.get $p))) (i64.const 0x100000001b3)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u offset=3 (local.get $p))) (i64.const 0x100000001b3)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u offset=4 (local.get $p))) (i64.const 0x100000001b3)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u offset=5 (local.get $p))) (i64.const 0x100000001b3)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u offset=6 (local.get $p))) (i64.const 0x100000001b3)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u offset=7 (local.get $p))) (i64.const 0x100000001b3)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $eight)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $p) (local.get $len)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u (local.get $p))) (i64.const 0x100000001b3)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $one)))
    (global.set $lo (i32.wrap_i64 (local.get $h)))
    (global.set $hi (i32.wrap_i64 (i64.shr_u (local.get $h) (i64.const 32))))
    (local.get $h))

  ;; FNV-1a 32 over memory[0..len), starting from hash h; the result is returned.
  (func (export "fnv1a32") (param $len i32) (param $h i32) (result i32)
    (local $p i32) (local $end4 i32)
    (local.set $end4 (i32.and (local.get $len) (i32.const -4)))
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $p) (local.get $end4)))
        (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u offset=0 (local.get $p))) (i32.const 0x01000193)))
        (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u offset=1 (local.get $p))) (i32.const 0x01000193)))
        (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u offset=2 (local.get $p))) (i32.const 0x01000193)))
        (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u offset=3 (local.get $p))) (i32.const 0x01000193)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $p) (local.get $len)))
        (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (local.get $p))) (i32.const 0x01000193)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $one)))
    (local.get $h)))
