(module
  (import "scry" "output" (func $output (param i32 i32)))
  ;;PRELUDE
  (data (i32.const 16) "abi 1.0\nformatter bars(hist)\n")
  (global $desc_len i32 (i32.const 29))
  (data (i32.const 1024) "hist @")
  (data (i32.const 1040) ": buckets ")
  ;; "hist @NAME: buckets N\n" for a map of one entry without keys (N < 10).
  (func (export "scry_format") (param $item i32) (param $p i32) (param $len i32) (result i64)
    (local $n i32) (local $o i32)
    (local.set $n (i32.load (local.get $p)))
    (memory.copy (i32.const 8192) (i32.const 1024) (i32.const 6))
    (memory.copy (i32.const 8198) (i32.add (local.get $p) (i32.const 4)) (local.get $n))
    (local.set $o (i32.add (i32.const 8198) (local.get $n)))
    (memory.copy (local.get $o) (i32.const 1040) (i32.const 10))
    ;; name, kind u8, u32 entries, u32 key parts (0), u32 buckets
    (i32.store8 (i32.add (local.get $o) (i32.const 10))
      (i32.add (i32.const 48)
        (i32.load (i32.add (local.get $p) (i32.add (local.get $n) (i32.const 13))))))
    (i32.store8 (i32.add (local.get $o) (i32.const 11)) (i32.const 10))
    (i64.or (i64.const 8192)
      (i64.shl (i64.extend_i32_u (i32.sub (i32.add (local.get $o) (i32.const 12)) (i32.const 8192))) (i64.const 32))))
)
