(module
  (import "scry" "output" (func $output (param i32 i32)))
  ;;PRELUDE
  (data (i32.const 16) "abi 1.0\nsink args\n")
  (global $desc_len i32 (i32.const 18))
  ;; Every batch written to scry's output as it came.
  (func (export "scry_sink") (param $p i32) (param $len i32) (param $count i32) (result i32)
    (call $output (local.get $p) (local.get $len))
    (i32.const 0))
)
