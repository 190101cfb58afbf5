(module
  (import "scry" "log" (func $log (param i32 i32)))
  (import "scry" "error" (func $error (param i32 i32)))
  ;;PRELUDE
  (data (i32.const 16) "abi 1.0\nfn double(i64) -> i64\nfn greet(str) -> str\nfn spin(u64) -> u64\nfn boom(u64) -> u64\nfn bomb(u64) -> u64\nfn refuse(u64) -> u64\nfn explain(u64) -> u64\nfn stamp(i64) -> i64\n")
  (global $desc_len i32 (i32.const 177))
  ;; scry_call invocations so far (stamp shows it: batching is visible).
  (global $calls (mut i64) (i64.const 0))
  (data (i32.const 1024) "hi, no thanks")
  (data (i32.const 1040) "it fell over")
  ;; Results at 8192.
  (func (export "scry_call") (param $item i32) (param $p i32) (param $len i32) (param $count i32) (result i64)
    (local $i i32) (local $n i32) (local $o i32)
    (global.set $calls (i64.add (global.get $calls) (i64.const 1)))
    ;; double: count i64s
    (if (i32.eq (local.get $item) (i32.const 0)) (then
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (i64.store (i32.add (i32.const 8192) (i32.shl (local.get $i) (i32.const 3)))
          (i64.mul (i64.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 3)))) (i64.const 2)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
      (return (i64.or (i64.const 8192) (i64.shl (i64.extend_i32_u (i32.shl (local.get $count) (i32.const 3))) (i64.const 32))))))
    ;; greet: count strs in, "hi, " + each out
    (if (i32.eq (local.get $item) (i32.const 1)) (then
      (local.set $o (i32.const 8192))
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $n (i32.load (local.get $p)))
        (i32.store (local.get $o) (i32.add (local.get $n) (i32.const 4)))
        (memory.copy (i32.add (local.get $o) (i32.const 4)) (i32.const 1024) (i32.const 4))
        (memory.copy (i32.add (local.get $o) (i32.const 8)) (i32.add (local.get $p) (i32.const 4)) (local.get $n))
        (local.set $p (i32.add (local.get $p) (i32.add (local.get $n) (i32.const 4))))
        (local.set $o (i32.add (local.get $o) (i32.add (local.get $n) (i32.const 8))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
      (return (i64.or (i64.const 8192) (i64.shl (i64.extend_i32_u (i32.sub (local.get $o) (i32.const 8192))) (i64.const 32))))))
    ;; stamp: each i64 plus 1000 times the number of this scry_call (1, 2, ...)
    (if (i32.eq (local.get $item) (i32.const 7)) (then
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (i64.store (i32.add (i32.const 8192) (i32.shl (local.get $i) (i32.const 3)))
          (i64.add (i64.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 3))))
            (i64.mul (global.get $calls) (i64.const 1000))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
      (return (i64.or (i64.const 8192) (i64.shl (i64.extend_i32_u (i32.shl (local.get $count) (i32.const 3))) (i64.const 32))))))
    ;; spin: never returns
    (if (i32.eq (local.get $item) (i32.const 2)) (then (loop $forever (br $forever))))
    ;; boom: traps
    (if (i32.eq (local.get $item) (i32.const 3)) (then unreachable))
    ;; bomb: grows memory until it cannot
    (if (i32.eq (local.get $item) (i32.const 4)) (then
      (loop $more (drop (memory.grow (i32.const 64))) (br $more))))
    ;; explain: a message, then a trap (as a Rust guest's panic handler does)
    (if (i32.eq (local.get $item) (i32.const 6)) (then
      (call $error (i32.const 1040) (i32.const 12))
      unreachable))
    ;; refuse: the error slice with a message
    (call $error (i32.const 1028) (i32.const 9))
    (i64.const 0xFFFFFFFF00000000))
)
