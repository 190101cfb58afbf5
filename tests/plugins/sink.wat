(module
  (import "scry" "fs_write" (func $write (param i32 i32 i32 i32 i32) (result i32)))
  (import "scry" "fs_rename" (func $rename (param i32 i32 i32 i32) (result i32)))
  ;;PRELUDE
  (data (i32.const 16) "abi 1.0\nsink lines\n")
  (global $desc_len i32 (i32.const 19))
  (data (i32.const 1024) "records.tmp")
  (data (i32.const 1040) "records.bin")
  (data (i32.const 1056) "../escape.bin")
  (global $batches (mut i32) (i32.const 0))
  (func (export "scry_init") (param $p i32) (param $len i32) (result i32)
    (drop (call $write (i32.const 1024) (i32.const 11) (local.get $p) (local.get $len) (i32.const 0)))
    (i32.const 0))
  ;; Every batch appended to records.tmp (after the run description), the count as one byte
  ;; before it; also tries to write outside its directory.
  (func (export "scry_sink") (param $p i32) (param $len i32) (param $count i32) (result i32)
    (i32.store8 (i32.const 2048) (local.get $count))
    (drop (call $write (i32.const 1024) (i32.const 11) (i32.const 2048) (i32.const 1) (i32.const 1)))
    (drop (call $write (i32.const 1024) (i32.const 11) (local.get $p) (local.get $len) (i32.const 1)))
    (drop (call $write (i32.const 1056) (i32.const 13) (local.get $p) (local.get $len) (i32.const 0)))
    (i32.const 0))
  (func (export "scry_finish") (result i32)
    (call $rename (i32.const 1024) (i32.const 11) (i32.const 1040) (i32.const 11)))
)
