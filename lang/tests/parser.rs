//! Parser tests: each program's tree, printed by `dump_ast`.
use scry_lang::dump::dump_ast;
fn ast(src: &str) -> String {
    let (p, d) = scry_lang::parse(src);
    assert!(d.is_empty(), "unexpected diagnostics: {d:?}");
    dump_ast(&p)
}

#[test]
fn precedence_arithmetic() {
    assert_eq!(
        ast(r#"k:f { $x = 1 + 2 * 3 - 4 / 5 % 6; }"#),
        r#"Program
 k:f
  =
   variable: $x
   binop: -
    binop: +
     int: 1
     binop: *
      int: 2
      int: 3
    binop: %
     binop: /
      int: 4
      int: 5
     int: 6
"#
    );
}

#[test]
fn precedence_full_c_table() {
    assert_eq!(
        ast(r#"k:f { $y = a << 1 >> 2 < 3 == 4 & 5 ^ 6 | 7 && 8 || 9; }"#),
        r#"Program
 k:f
  =
   variable: $y
   binop: ||
    binop: &&
     binop: |
      binop: ^
       binop: &
        binop: ==
         binop: <
          binop: >>
           binop: <<
            builtin: a
            int: 1
           int: 2
          int: 3
         int: 4
        int: 5
       int: 6
      int: 7
     int: 8
    int: 9
"#
    );
}

#[test]
fn ternary_is_right_associative() {
    assert_eq!(
        ast(r#"k:f { $z = c ? d : e ? f : g; }"#),
        r#"Program
 k:f
  =
   variable: $z
   ?:
    builtin: c
    builtin: d
    ?:
     builtin: e
     builtin: f
     builtin: g
"#
    );
}

#[test]
fn unary_and_casts() {
    assert_eq!(
        ast(
            r#"k:f { $a = -(uint8)x; $b = !~*p; $c = (struct task_struct *)curtask->parent->pid; }"#
        ),
        r#"Program
 k:f
  =
   variable: $a
   unop: -
    cast: uint8
     builtin: x
  =
   variable: $b
   unop: !
    unop: ~
     unop: *
      builtin: p
  =
   variable: $c
   cast: struct task_struct *
    ->pid
     ->parent
      builtin: curtask
"#
    );
}

#[test]
fn postfix_forms() {
    assert_eq!(
        ast(r#"k:f { @m[1,"a"]++; --$i; $t.0; args->x.y[2]; }"#),
        r#"Program
 k:f
  post ++
   map: @m
    int: 1
    string: "a"
  pre --
   variable: $i
  .0
   variable: $t
  []
   .y
    ->x
     builtin: args
   int: 2
"#
    );
}

#[test]
fn tuples_nest() {
    assert_eq!(
        ast(r#"k:f { @x = (1, (2, "s")); }"#),
        r#"Program
 k:f
  =
   map: @x
   tuple
    int: 1
    tuple
     int: 2
     string: "s"
"#
    );
}

#[test]
fn if_else_chain() {
    assert_eq!(
        ast(r#"BEGIN { if (a) { x(); } else if (b) { y(); } else { z(); } }"#),
        r#"Program
 BEGIN
  if
   builtin: a
   then
    call: x
   else
    if
     builtin: b
     then
      call: y
     else
      call: z
"#
    );
}

#[test]
fn loops_and_jumps() {
    assert_eq!(
        ast(
            r#"BEGIN { while ($i < 10) { if ($i == 5) { break; } $i++; continue; } unroll(3) { @a++ } return; }"#
        ),
        r#"Program
 BEGIN
  while
   binop: <
    variable: $i
    int: 10
   if
    binop: ==
     variable: $i
     int: 5
    then
     break
   post ++
    variable: $i
   continue
  unroll
   int: 3
   post ++
    map: @a
  return
"#
    );
}

#[test]
fn compound_assignment() {
    assert_eq!(
        ast(
            r#"i:s:1 { @x += 2; @x -= 1; @x *= 3; @x /= 4; @x %= 5; @x &= 6; @x |= 7; @x ^= 8; @x <<= 1; @x >>= 1; }"#
        ),
        r#"Program
 i:s:1
  +=
   map: @x
   int: 2
  -=
   map: @x
   int: 1
  *=
   map: @x
   int: 3
  /=
   map: @x
   int: 4
  %=
   map: @x
   int: 5
  &=
   map: @x
   int: 6
  |=
   map: @x
   int: 7
  ^=
   map: @x
   int: 8
  <<=
   map: @x
   int: 1
  >>=
   map: @x
   int: 1
"#
    );
}

#[test]
fn literals_and_params() {
    assert_eq!(
        ast("BEGIN { printf(\"%d %s\\n\", $1, str($2)); print($#); @ = 1_000 + 0x1F + 010 + 1e3 + 5ull; }"),
        r#"Program
 BEGIN
  call: printf
   string: "%d %s\n"
   param: $1
   call: str
    param: $2
  call: print
   param: $#
  =
   map: @
   binop: +
    binop: +
     binop: +
      binop: +
       int: 1000
       int: 31
      int: 8
     int: 1000
    int: 5
"#
    );
}

#[test]
fn attach_point_list() {
    assert_eq!(
        ast(
            r#"tracepoint:syscalls:sys_enter_openat, uprobe:/bin/bash:"readline", kprobe:f+0x10, BEGIN, { }"#
        ),
        r#"Program
 tracepoint:syscalls:sys_enter_openat, uprobe:/bin/bash:"readline", kprobe:f+0x10, BEGIN
"#
    );
}

#[test]
fn predicate() {
    assert_eq!(
        ast(r#"t:a:b /pid == 1 && comm == "x"/ { @[tid] = nsecs; }"#),
        r#"Program
 t:a:b
  predicate
   binop: &&
    binop: ==
     builtin: pid
     int: 1
    binop: ==
     builtin: comm
     string: "x"
  =
   map: @
    builtin: tid
   builtin: nsecs
"#
    );
}

#[test]
fn sizeof_and_pointer_casts() {
    assert_eq!(
        ast(
            r#"BEGIN { @s = sizeof(struct task_struct); @t = sizeof(comm); $p = (uint64 *)0; $q = (foo_t *)p; }"#
        ),
        r#"Program
 BEGIN
  =
   map: @s
   sizeof: struct task_struct
  =
   map: @t
   call: sizeof
    builtin: comm
  =
   variable: $p
   cast: uint64 *
    int: 0
  =
   variable: $q
   cast: foo_t *
    builtin: p
"#
    );
}

#[test]
fn string_escapes() {
    assert_eq!(
        ast("BEGIN { \"a\\x41\\101\\t\" ; }"),
        r#"Program
 BEGIN
  string: "aAA\t"
"#
    );
}

#[test]
fn comments_anywhere() {
    assert_eq!(
        ast("/* c */ BEGIN // line\n { /* in */ @x = 1; // end\n }"),
        r#"Program
 BEGIN
  =
   map: @x
   int: 1
"#
    );
}

#[test]
fn division_inside_predicate() {
    assert_eq!(
        ast(r#"i:s:1 /@a / 2 > 1/ { exit() }"#),
        r#"Program
 i:s:1
  predicate
   binop: >
    binop: /
     map: @a
     int: 2
    int: 1
  call: exit
"#
    );
}

#[test]
fn empty_block_and_semicolons() {
    assert_eq!(
        ast(r#"BEGIN { ;; } END {}"#),
        r#"Program
 BEGIN
 END
"#
    );
}

#[test]
fn define_substitution() {
    assert_eq!(
        ast("#define N 5\n#define MSG \"hi\"\nBEGIN { @x = N * 2; printf(MSG); }"),
        r#"Program
 BEGIN
  =
   map: @x
   binop: *
    int: 5
    int: 2
  call: printf
   string: "hi"
"#
    );
}

fn errors(src: &str) -> Vec<String> {
    scry_lang::parse(src)
        .1
        .into_iter()
        .map(|d| d.message)
        .collect()
}

#[test]
fn three_mistakes_give_three_errors() {
    let e = errors("BEGIN { printf(\"a\" } BEGIN { $x = ; } END { y(;; }");
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(
        e.iter().all(|m| m.starts_with("syntax error, unexpected")),
        "{e:?}"
    );
}

#[test]
fn missing_semicolon_is_reported_at_the_next_statement() {
    let (_, d) = scry_lang::parse("BEGIN { @a = 1 @b = 2 }");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].span.start, 15);
    assert!(d[0].message.contains("expecting"), "{}", d[0].message);
}

#[test]
fn empty_and_comment_only_programs_are_errors() {
    for src in ["", "   \n", "// nothing\n/* at all */"] {
        assert_eq!(errors(src), ["no probes: the program is empty"], "{src:?}");
    }
}

#[test]
fn unterminated_comment_and_string() {
    assert_eq!(errors("BEGIN { /* x }"), ["unterminated comment"]);
    assert!(errors("BEGIN { \"abc }").contains(&"unterminated string".to_string()));
}

#[test]
fn expression_ids_are_dense_and_unique() {
    let (p, _) = scry_lang::parse("BEGIN { @x[1, 2] = $y + (3 * 4); } END { print(@x); }");
    let mut ids = Vec::new();
    for probe in &p.probes {
        probe.walk_exprs(&mut |e| ids.push(e.id.0));
    }
    ids.sort();
    assert_eq!(ids, (0..p.expr_count).collect::<Vec<_>>());
}
