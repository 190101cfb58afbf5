//! The parser (chumsky over the lexer's tokens): tokens to a [`Program`], with error recovery
//! so that one run reports every syntax error.

use chumsky::input::ValueInput;
use chumsky::pratt::{infix, left, postfix, prefix, right};
use chumsky::prelude::*;

use crate::ast::*;
use crate::diag::Diagnostic;
use crate::lexer;
use crate::span::Span;
use crate::token::{BinOp, Tok};

type Extra<'t> = extra::Err<Rich<'t, Tok, SimpleSpan>>;

/// Parses a program. Always returns a tree (with [`ExprKind::Error`] where it recovered) and
/// every lexical and syntax error found.
pub fn parse(src: &str) -> (Program, Vec<Diagnostic>) {
    parse_with(src, &lexer::HeaderMacros::new())
}

/// Parses a program whose `#include`s brought the constants `headers` (`headers::read`).
pub fn parse_with(src: &str, headers: &lexer::HeaderMacros) -> (Program, Vec<Diagnostic>) {
    let lexed = lexer::lex_with(src, headers);
    let mut diags = lexed.diagnostics;
    if lexed.aborted {
        return (
            Program {
                preamble: lexed.preamble,
                ..Program::default()
            },
            diags,
        );
    }
    let eoi: SimpleSpan = (src.len()..src.len()).into();
    let tokens: Vec<(Tok, SimpleSpan)> = lexed
        .tokens
        .into_iter()
        .map(|(t, s)| (t, s.into()))
        .collect();
    let input = tokens.as_slice().map(eoi, |(t, s)| (t, s));
    let (probes, errors) = program_parser().parse(input).into_output_errors();
    // After an unterminated string or comment, an unexpected end of file is no news; nor is a
    // syntax error later on the line of a lexical error (the lexer dropped what it could not read).
    let unterminated = diags.iter().any(|d| d.message.starts_with("unterminated"));
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(src.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |at: usize| line_starts.partition_point(|&s| s <= at);
    let lex_error_lines: std::collections::HashSet<usize> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| line_of(d.span.start))
        .collect();
    let follows_lex_error = |at: usize| lex_error_lines.contains(&line_of(at));
    let errors: Vec<_> = errors
        .into_iter()
        .filter(|e| !(unterminated && e.found().is_none()))
        .filter(|e| !follows_lex_error(e.span().start))
        .collect();
    diags.extend(
        one_error_per_mistake(errors, &tokens)
            .into_iter()
            .map(syntax_error),
    );
    let mut program = Program {
        preamble: lexed.preamble,
        probes: probes.unwrap_or_default(),
        expr_count: 0,
    };
    if let Some(span) = too_deep(&program) {
        diags.push(
            Diagnostic::error(
                span,
                format!("program nested too deeply (more than {MAX_EXPR_DEPTH} levels)"),
            )
            .with_hint("split the expression into several statements using $variables"),
        );
        program.probes.clear();
        return (program, diags);
    }
    number_exprs(&mut program);
    if program.probes.is_empty() && !crate::diag::has_errors(&diags) {
        diags.push(
            Diagnostic::error(Span::new(0, src.len()), "no probes: the program is empty")
                .with_hint(
                    "a program is one or more probe blocks, e.g. BEGIN { printf(\"hello\\n\"); }",
                ),
        );
    }
    (program, diags)
}

/// Recovery can report one mistake twice: where the statement stopped making sense and where
/// the parser finally gave up. Keeps the later of two errors in the same statement, unless the
/// first is at a token that starts a new statement (a missing `;`).
fn one_error_per_mistake<'a>(
    mut errors: Vec<Rich<'a, Tok, SimpleSpan>>,
    tokens: &[(Tok, SimpleSpan)],
) -> Vec<Rich<'a, Tok, SimpleSpan>> {
    errors.sort_by_key(|e| (e.span().start, e.span().end));
    errors.dedup_by(|b, a| a.span() == b.span() && a.found() == b.found());
    // Positions of the tokens that end or open statements, in order (tokens are in order).
    let separators: Vec<usize> = tokens
        .iter()
        .filter(|(t, _)| matches!(t, Tok::Semi | Tok::LBrace | Tok::RBrace))
        .map(|(_, s)| s.start)
        .collect();
    let separated = |from: usize, to: usize| {
        let first = separators.partition_point(|&p| p < from);
        separators.get(first).is_some_and(|&p| p < to)
    };
    let starts_statement = |t: Option<&Tok>| {
        matches!(
            t,
            Some(
                Tok::Var(_)
                    | Tok::Map(_)
                    | Tok::Ident(_)
                    | Tok::If
                    | Tok::While
                    | Tok::Unroll
                    | Tok::Break
                    | Tok::Continue
                    | Tok::Return
                    | Tok::Inc
                    | Tok::Dec
            )
        )
    };
    let mut kept: Vec<Rich<'a, Tok, SimpleSpan>> = Vec::new();
    for e in errors {
        if let Some(prev) = kept.last() {
            let same_statement = !separated(prev.span().start, e.span().start);
            if same_statement && !starts_statement(prev.found()) {
                kept.pop();
            }
        }
        kept.push(e);
    }
    kept
}

/// Turns a chumsky error into a bison-like `syntax error, unexpected X, expecting Y`.
fn syntax_error(e: Rich<'_, Tok, SimpleSpan>) -> Diagnostic {
    let span: Span = (*e.span()).into();
    let found = match e.found() {
        Some(t) => t.to_string(),
        None => "end of file".to_string(),
    };
    let mut expected: Vec<String> = e
        .expected()
        .map(|p| match p {
            chumsky::error::RichPattern::Token(t) => t.to_string(),
            chumsky::error::RichPattern::Label(l) => l.to_string(),
            chumsky::error::RichPattern::EndOfInput => "end of file".to_string(),
            other => other.to_string(),
        })
        .filter(|x| x != "something else")
        .collect();
    expected.sort();
    expected.dedup();
    if expected.iter().any(|x| STRUCTURAL.contains(&x.as_str())) {
        // After a whole expression every operator could follow: name what ends it instead.
        expected.retain(|x| STRUCTURAL.contains(&x.as_str()));
    }
    let mut msg = format!("syntax error, unexpected {found}");
    if !expected.is_empty() && expected.len() <= 6 {
        msg.push_str(", expecting ");
        msg.push_str(&expected.join(" or "));
    }
    let d = Diagnostic::error(span, msg);
    match e.found() {
        Some(Tok::AttachPoint(_)) | None => d,
        Some(Tok::Assign) => {
            d.with_hint("assignment is a statement: it cannot be used inside an expression")
        }
        _ if expected.iter().any(|x| x == ";") => d.with_hint("statements are separated by ';'"),
        _ => d,
    }
}

/// Tokens worth naming in "expecting ..." when the full list is too long to read.
const STRUCTURAL: &[&str] = &[";", "}", ")", "]", ",", "{", ":", "end of file"];

fn mk(kind: ExprKind, span: SimpleSpan) -> Expr {
    Expr {
        id: ExprId(0),
        kind,
        span: span.into(),
    }
}

fn program_parser<'t, I>() -> impl Parser<'t, I, Vec<Probe>, Extra<'t>>
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
{
    let expr = expr_parser().boxed();
    let block = block_parser(expr.clone()).boxed();

    let attach =
        select! { Tok::AttachPoint(text) = e => AttachPoint { text, span: Span::from(e.span()) } }
            .labelled("attach point");
    let attach_list = attach
        .separated_by(just(Tok::Comma))
        .allow_trailing()
        .at_least(1)
        .collect::<Vec<_>>();
    let predicate = expr
        .clone()
        .delimited_by(just(Tok::PredStart), just(Tok::PredEnd))
        .labelled("predicate");

    let probe = attach_list.then(predicate.or_not()).then(block).map_with(
        |((attach_points, predicate), body), e| Probe {
            attach_points,
            predicate,
            body,
            span: Span::from(e.span()),
        },
    );

    // A probe that fails to parse is skipped up to the end of its block.
    let recover_probe = any()
        .and_is(just(Tok::RBrace).not())
        .repeated()
        .then(just(Tok::RBrace))
        .ignored();
    probe
        .map(Some)
        .recover_with(via_parser(recover_probe.map(|_| None)))
        .repeated()
        .collect::<Vec<_>>()
        .map(|ps| ps.into_iter().flatten().collect())
        .then_ignore(end())
}

fn block_parser<'t, I>(
    expr: impl Parser<'t, I, Expr, Extra<'t>> + Clone + 't,
) -> impl Parser<'t, I, Block, Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
{
    recursive(|block| {
        let assign_op = select! {
            Tok::Assign => None,
            Tok::OpAssign(op) => Some(op),
        };
        let simple = expr
            .clone()
            .then(assign_op.then(expr.clone()).or_not())
            .map(|(lhs, rest)| match rest {
                None => StmtKind::Expr(lhs),
                Some((op, value)) => StmtKind::Assign {
                    target: lhs,
                    op,
                    value,
                },
            })
            .or(just(Tok::Break).to(StmtKind::Break))
            .or(just(Tok::Continue).to(StmtKind::Continue))
            .or(just(Tok::Return).to(StmtKind::Return));

        let cond = expr
            .clone()
            .delimited_by(just(Tok::LParen), just(Tok::RParen));
        let if_stmt = recursive(|if_stmt| {
            just(Tok::If)
                .ignore_then(cond.clone())
                .then(block.clone())
                .then(
                    just(Tok::Else)
                        .ignore_then(
                            if_stmt.map_with(|s: Stmt, e: &mut chumsky::input::MapExtra<'t, '_, I, Extra<'t>>| Block {
                                stmts: vec![s],
                                span: Span::from(e.span()),
                            })
                            .or(block.clone()),
                        )
                        .or_not(),
                )
                .map_with(|((cond, then), otherwise), e| Stmt {
                    kind: StmtKind::If { cond, then, otherwise },
                    span: Span::from(e.span()),
                })
        });
        let while_stmt = just(Tok::While)
            .ignore_then(cond.clone())
            .then(block.clone())
            .map(|(cond, body)| StmtKind::While { cond, body });
        let unroll_stmt = just(Tok::Unroll)
            .ignore_then(cond)
            .then(block.clone())
            .map(|(count, body)| StmtKind::Unroll { count, body });
        let compound = if_stmt
            .or(while_stmt.or(unroll_stmt).map_with(|kind, e| Stmt {
                kind,
                span: Span::from(e.span()),
            }))
            .then_ignore(just(Tok::Semi).repeated());

        // A missing `;` is reported and the statement kept, so the next one still parses.
        let terminator = just(Tok::Semi)
            .repeated()
            .at_least(1)
            .ignored()
            .or(just(Tok::RBrace).rewind().ignored())
            .recover_with(via_parser(empty()));
        let simple_stmt = simple
            .map_with(|kind, e| Stmt {
                kind,
                span: Span::from(e.span()),
            })
            .then_ignore(terminator);

        // A statement that does not parse is skipped up to its `;` or the block's `}`, over
        // any nested blocks.
        let balanced = recursive(|balanced| {
            let block = just(Tok::LBrace)
                .then(balanced.or(just(Tok::Semi).ignored()).repeated())
                .then(just(Tok::RBrace))
                .ignored();
            block.or(any()
                .and_is(one_of([Tok::Semi, Tok::LBrace, Tok::RBrace]).not())
                .ignored())
        });
        let skip_stmt = balanced
            .repeated()
            .at_least(1)
            .then(
                just(Tok::Semi)
                    .ignored()
                    .or(just(Tok::RBrace).rewind().ignored()),
            )
            .map_with(|_, e| Stmt {
                kind: StmtKind::Expr(mk(ExprKind::Error, e.span())),
                span: Span::from(e.span()),
            });
        let stmt = compound.or(simple_stmt).recover_with(via_parser(skip_stmt));

        just(Tok::Semi)
            .repeated()
            .ignore_then(stmt.repeated().collect::<Vec<_>>())
            .delimited_by(just(Tok::LBrace), just(Tok::RBrace))
            .map_with(|stmts, e| Block {
                stmts,
                span: Span::from(e.span()),
            })
            .recover_with(via_parser(nested_delimiters(
                Tok::LBrace,
                Tok::RBrace,
                [(Tok::LParen, Tok::RParen), (Tok::LBracket, Tok::RBracket)],
                |span: SimpleSpan| Block {
                    stmts: Vec::new(),
                    span: span.into(),
                },
            )))
    })
}

fn expr_parser<'t, I>() -> impl Parser<'t, I, Expr, Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
{
    recursive(|expr| {
        let args = expr
            .clone()
            .separated_by(just(Tok::Comma))
            .collect::<Vec<_>>()
            .delimited_by(just(Tok::LParen), just(Tok::RParen));

        let ident = select! { Tok::Ident(s) => s };
        let type_name = type_parser();

        let sizeof_type = just(Tok::Ident("sizeof".into()))
            .ignore_then(
                type_name
                    .clone()
                    .delimited_by(just(Tok::LParen), just(Tok::RParen)),
            )
            .map_with(|ty, e| mk(ExprKind::SizeofType(ty), e.span()));

        let call = ident
            .map_with(|name, e| (name, Span::from(e.span())))
            .then(args.clone())
            .map_with(|((name, name_span), args), e| {
                mk(
                    ExprKind::Call {
                        name,
                        name_span,
                        args,
                    },
                    e.span(),
                )
            });

        // A map's keys are parsed as a postfix `[...]` (see `post`): parsing them here too
        // would make every failed key list parse twice, exponentially in the nesting.
        let map = select! { Tok::Map(name) => name }.map_with(|name, e| {
            mk(
                ExprKind::Map {
                    name,
                    keys: Vec::new(),
                },
                e.span(),
            )
        });

        let paren = expr
            .clone()
            .separated_by(just(Tok::Comma))
            .at_least(1)
            .collect::<Vec<_>>()
            .delimited_by(just(Tok::LParen), just(Tok::RParen))
            .map_with(|mut items: Vec<Expr>, e| {
                if items.len() == 1 {
                    let mut inner = items.pop().unwrap();
                    inner.span = Span::from(e.span());
                    inner
                } else {
                    mk(ExprKind::Tuple(items), e.span())
                }
            })
            .recover_with(via_parser(nested_delimiters(
                Tok::LParen,
                Tok::RParen,
                [(Tok::LBracket, Tok::RBracket), (Tok::LBrace, Tok::RBrace)],
                |span| mk(ExprKind::Error, span),
            )));

        let literal = select! {
            Tok::Int(n) => ExprKind::Int(n),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Var(v) => ExprKind::Var(v),
            Tok::Param(n) => ExprKind::Param(n),
            Tok::ParamCount => ExprKind::ParamCount,
        }
        .map_with(|k, e| mk(k, e.span()));

        let atom = choice((
            literal,
            sizeof_type,
            call,
            ident.map_with(|s, e| mk(ExprKind::Ident(s), e.span())),
            map,
            paren,
        ))
        .labelled("expression")
        // Garbage with many unclosed brackets would otherwise be re-parsed on every way back
        // out, doubling the time per level: remember each position's answer.
        .memoized()
        .boxed();

        let cast = type_name.delimited_by(just(Tok::LParen), just(Tok::RParen));
        let unary_op = select! {
            Tok::Op(BinOp::Sub) => UnOp::Neg,
            Tok::Bang => UnOp::Not,
            Tok::Tilde => UnOp::BitNot,
            Tok::Op(BinOp::Mul) => UnOp::Deref,
        };
        let incdec = select! { Tok::Inc => true, Tok::Dec => false };

        enum Post {
            Field(String, bool),
            TupleIndex(u64),
            Index(Vec<Expr>),
            IncDec(bool),
        }
        let field_name = select! { Tok::Ident(s) => s }.labelled("field name");
        let post = choice((
            just(Tok::Dot)
                .ignore_then(select! { Tok::Int(n) => n })
                .map(Post::TupleIndex),
            just(Tok::Dot)
                .ignore_then(field_name)
                .map(|f| Post::Field(f, false)),
            just(Tok::Arrow)
                .ignore_then(field_name)
                .map(|f| Post::Field(f, true)),
            expr.clone()
                .separated_by(just(Tok::Comma))
                .at_least(1)
                .collect::<Vec<_>>()
                .delimited_by(just(Tok::LBracket), just(Tok::RBracket))
                .map(Post::Index),
            incdec.map(Post::IncDec),
        ));

        let level = |ops: &'static [BinOp]| {
            select! { Tok::Op(op) => op }.try_map(move |op, span| {
                if ops.contains(&op) {
                    Ok(op)
                } else {
                    Err(Rich::custom(span, ""))
                }
            })
        };
        let bin = |lhs: Expr,
                   op: BinOp,
                   rhs: Expr,
                   e: &mut chumsky::input::MapExtra<'t, '_, I, Extra<'t>>| {
            mk(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                e.span(),
            )
        };
        let ternary_mid = just(Tok::Question)
            .ignore_then(expr.clone())
            .then_ignore(just(Tok::Colon));

        atom.pratt((
            infix(right(1), ternary_mid, |c: Expr, t: Expr, o: Expr, e| {
                mk(
                    ExprKind::Ternary {
                        cond: Box::new(c),
                        then: Box::new(t),
                        otherwise: Box::new(o),
                    },
                    e.span(),
                )
            }),
            infix(left(2), level(&[BinOp::Or]), bin),
            infix(left(3), level(&[BinOp::And]), bin),
            infix(left(4), level(&[BinOp::BitOr]), bin),
            infix(left(5), level(&[BinOp::BitXor]), bin),
            infix(left(6), level(&[BinOp::BitAnd]), bin),
            infix(left(7), level(&[BinOp::Eq, BinOp::Ne]), bin),
            infix(
                left(8),
                level(&[BinOp::Lt, BinOp::Le, BinOp::Gt, BinOp::Ge]),
                bin,
            ),
            infix(left(9), level(&[BinOp::Shl, BinOp::Shr]), bin),
            infix(left(10), level(&[BinOp::Add, BinOp::Sub]), bin),
            infix(left(11), level(&[BinOp::Mul, BinOp::Div, BinOp::Mod]), bin),
            prefix(12, cast, |ty, operand: Expr, e| {
                mk(
                    ExprKind::Cast {
                        ty,
                        operand: Box::new(operand),
                    },
                    e.span(),
                )
            }),
            prefix(13, unary_op, |op, operand: Expr, e| {
                mk(
                    ExprKind::Unary {
                        op,
                        operand: Box::new(operand),
                    },
                    e.span(),
                )
            }),
            prefix(13, incdec, |increment, target: Expr, e| {
                mk(
                    ExprKind::IncDec {
                        target: Box::new(target),
                        increment,
                        prefix: true,
                    },
                    e.span(),
                )
            }),
            postfix(14, post, |base: Expr, p: Post, e| {
                // `@m[k1, k2]`: the first brackets after a map name hold its keys.
                let base = match (base, p) {
                    (
                        Expr {
                            kind: ExprKind::Map { name, keys },
                            ..
                        },
                        Post::Index(index),
                    ) if keys.is_empty() => {
                        return mk(ExprKind::Map { name, keys: index }, e.span());
                    }
                    (base, p) => (Box::new(base), p),
                };
                let (base, p) = base;
                let kind = match p {
                    Post::Field(field, arrow) => ExprKind::Field { base, field, arrow },
                    Post::TupleIndex(index) => ExprKind::TupleIndex { base, index },
                    Post::Index(mut index) => {
                        // `a[i, j]` is no array index: the checker reports the tuple.
                        let index = if index.len() == 1 {
                            index.pop().unwrap_or_else(|| mk(ExprKind::Error, e.span()))
                        } else {
                            let span = index[0].span.to(index[index.len() - 1].span);
                            mk(ExprKind::Tuple(index), span.into())
                        };
                        ExprKind::Index {
                            base,
                            index: Box::new(index),
                        }
                    }
                    Post::IncDec(increment) => ExprKind::IncDec {
                        target: base,
                        increment,
                        prefix: false,
                    },
                };
                mk(kind, e.span())
            }),
        ))
        .labelled("expression")
        .memoized()
    })
}

/// A type in a cast or `sizeof`: an integer type name or `struct/union/enum X`, then `*`s.
fn type_parser<'t, I>() -> impl Parser<'t, I, TypeName, Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
{
    let ident = select! { Tok::Ident(s) => s };
    let int_ty = select! { Tok::Ident(s) => s }.try_map(|s, span| match int_type_name(&s) {
        Some((bits, signed)) => Ok(BaseType::Int { bits, signed }),
        None => Err(Rich::custom(span, format!("'{s}' is not a type"))),
    });
    let tagged = choice((
        just(Tok::Struct).ignore_then(ident).map(BaseType::Struct),
        just(Tok::Union).ignore_then(ident).map(BaseType::Union),
        just(Tok::Enum).ignore_then(ident).map(BaseType::Enum),
    ));
    // A named (typedef) type is recognisable with a `*` after it, `(foo_t *)p`, or when an
    // operand follows the parenthesis, `(float)1`, which no parenthesised expression allows.
    let named_ptr = ident
        .map(BaseType::Named)
        .then(just(Tok::Op(BinOp::Mul)).repeated().at_least(1).count());
    let operand_start = select! {
        Tok::Int(_) => (), Tok::Str(_) => (), Tok::Ident(_) => (), Tok::Var(_) => (),
        Tok::Map(_) => (), Tok::Param(_) => (), Tok::LParen => (),
    };
    let named_bare = ident
        .map(BaseType::Named)
        .then_ignore(just(Tok::RParen).then(operand_start).rewind())
        .map(|b| (b, 0usize));
    let base = int_ty
        .or(tagged)
        .then(just(Tok::Op(BinOp::Mul)).repeated().count());
    base.or(named_ptr)
        .or(named_bare)
        .map_with(|(base, depth), e| TypeName {
            base,
            pointer_depth: depth.min(u8::MAX as usize) as u8,
            span: Span::from(e.span()),
        })
        .labelled("type")
}

/// Deepest nesting of expressions and blocks accepted: every later pass recurses over them.
pub const MAX_EXPR_DEPTH: usize = 512;

/// The span of an expression or block nested deeper than [`MAX_EXPR_DEPTH`] (a long
/// `else if` chain nests too), found without recursion.
fn too_deep(program: &Program) -> Option<Span> {
    enum Node<'a> {
        Block(&'a Block),
        Expr(&'a Expr),
    }
    let mut work: Vec<(Node, usize)> = Vec::new();
    for probe in &program.probes {
        if let Some(p) = &probe.predicate {
            work.push((Node::Expr(p), 1));
        }
        work.push((Node::Block(&probe.body), 1));
    }
    while let Some((node, depth)) = work.pop() {
        match node {
            Node::Expr(e) => {
                if depth > MAX_EXPR_DEPTH {
                    return Some(e.span);
                }
                work.extend(e.children().into_iter().map(|c| (Node::Expr(c), depth + 1)));
            }
            Node::Block(b) => {
                if depth > MAX_EXPR_DEPTH {
                    return Some(b.span);
                }
                for s in &b.stmts {
                    match &s.kind {
                        StmtKind::Expr(e) => work.push((Node::Expr(e), depth + 1)),
                        StmtKind::Assign { target, value, .. } => {
                            work.push((Node::Expr(target), depth + 1));
                            work.push((Node::Expr(value), depth + 1));
                        }
                        StmtKind::If {
                            cond,
                            then,
                            otherwise,
                        } => {
                            work.push((Node::Expr(cond), depth + 1));
                            work.push((Node::Block(then), depth + 1));
                            if let Some(o) = otherwise {
                                work.push((Node::Block(o), depth + 1));
                            }
                        }
                        StmtKind::While { cond, body } | StmtKind::Unroll { count: cond, body } => {
                            work.push((Node::Expr(cond), depth + 1));
                            work.push((Node::Block(body), depth + 1));
                        }
                        StmtKind::Break | StmtKind::Continue | StmtKind::Return => {}
                    }
                }
            }
        }
    }
    None
}

/// Gives every expression its [`ExprId`], in source order.
fn number_exprs(program: &mut Program) {
    let mut next = 0u32;
    for probe in &mut program.probes {
        if let Some(p) = &mut probe.predicate {
            number_expr(p, &mut next);
        }
        number_block(&mut probe.body, &mut next);
    }
    program.expr_count = next;
}

fn number_block(block: &mut Block, next: &mut u32) {
    for stmt in &mut block.stmts {
        match &mut stmt.kind {
            StmtKind::Expr(e) => number_expr(e, next),
            StmtKind::Assign { target, value, .. } => {
                number_expr(target, next);
                number_expr(value, next);
            }
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                number_expr(cond, next);
                number_block(then, next);
                if let Some(o) = otherwise {
                    number_block(o, next);
                }
            }
            StmtKind::While { cond, body } | StmtKind::Unroll { count: cond, body } => {
                number_expr(cond, next);
                number_block(body, next);
            }
            StmtKind::Break | StmtKind::Continue | StmtKind::Return => {}
        }
    }
}

fn number_expr(e: &mut Expr, next: &mut u32) {
    e.id = ExprId(*next);
    *next += 1;
    for c in e.children_mut() {
        number_expr(c, next);
    }
}
