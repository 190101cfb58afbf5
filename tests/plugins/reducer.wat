(module
  ;;PRELUDE
  (data (i32.const 16) "abi 1.0\nreducer sum(i64)\n")
  (global $desc_len i32 (i32.const 25))
  ;; 1 in the weighted variant (tests/plugins.rs): each update carries a u64 weight.
  (global $weighted i32 (i32.const 0))
  (data (i32.const 1024) "sum=")
  ;; The sum of key k of map m at 32768 + (m * 256 + k) * 8.
  (func $slot (param $map i32) (param $key i32) (result i32)
    (i32.add (i32.const 32768) (i32.shl (i32.add (i32.shl (local.get $map) (i32.const 8)) (local.get $key)) (i32.const 3))))
  (func (export "scry_reduce") (param $item i32) (param $map i32) (param $p i32) (param $len i32) (param $count i32) (result i32)
    (local $i i32) (local $at i32) (local $s i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
      ;; An update is u32 key, i64 value (+ u64 weight): 12 or 20 bytes; sum += value * weight.
      (local.set $at (i32.add (local.get $p) (i32.mul (local.get $i)
        (i32.add (i32.const 12) (i32.shl (global.get $weighted) (i32.const 3))))))
      (local.set $s (call $slot (local.get $map) (i32.load (local.get $at))))
      (i64.store (local.get $s) (i64.add (i64.load (local.get $s))
        (i64.mul (i64.load (i32.add (local.get $at) (i32.const 4)))
          (select (i64.load (i32.add (local.get $at) (i32.const 12))) (i64.const 1) (global.get $weighted)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.const 0))
  ;; N >= 0 written backwards from 9100.
  (func (export "scry_render") (param $item i32) (param $map i32) (param $key i32) (param $format i32) (result i64)
    (local $v i64) (local $o i32)
    (local.set $v (i64.load (call $slot (local.get $map) (local.get $key))))
    (local.set $o (i32.const 9100))
    (loop $digit
      (local.set $o (i32.sub (local.get $o) (i32.const 1)))
      (i32.store8 (local.get $o) (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $v) (i64.const 0))))
    ;; Text: "sum=N"; JSON (format 1): N.
    (if (i32.eqz (local.get $format)) (then
      (local.set $o (i32.sub (local.get $o) (i32.const 4)))
      (memory.copy (local.get $o) (i32.const 1024) (i32.const 4))))
    (i64.or (i64.extend_i32_u (local.get $o))
      (i64.shl (i64.extend_i32_u (i32.sub (i32.const 9100) (local.get $o))) (i64.const 32))))
  (func (export "scry_reset") (param $item i32) (param $map i32) (param $key i32) (param $mode i32) (result i32)
    (if (i32.eq (local.get $key) (i32.const -1))
      (then (memory.fill (call $slot (local.get $map) (i32.const 0)) (i32.const 0) (i32.const 2048)))
      (else (i64.store (call $slot (local.get $map) (local.get $key)) (i64.const 0))))
    (i32.const 0))
)
