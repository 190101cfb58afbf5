  ;; Shared by the test fixtures (tests/plugins.rs pastes it into each module): a memory, a
  ;; bump allocator that starts over at every hook, the descriptor at offset 16.
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 16384))
  (func (export "scry_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.const 16384))
    (local.get $p))
  (func (export "scry_plugin") (result i64)
    (i64.or (i64.const 16) (i64.shl (i64.extend_i32_u (global.get $desc_len)) (i64.const 32))))
