(module
  (import "scry" "output" (func $output (param i32 i32)))
  ;;PRELUDE
  (data (i32.const 16) "abi 1.0\nsink args\n")
  (global $desc_len i32 (i32.const 18))
  (data (i32.const 1024) "P\n")
  (global $calls (mut i32) (i32.const 0))
  ;; The first batch prints "P"; the second fails (status 1, no message).
  (func (export "scry_sink") (param $p i32) (param $len i32) (param $count i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i32.gt_u (global.get $calls) (i32.const 1)) (then (return (i32.const 1))))
    (call $output (i32.const 1024) (i32.const 2))
    (i32.const 0))
)
