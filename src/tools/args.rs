//! Command lines as Python's argparse reads them (BCC's tools use it), on top of clap.
//!
//! clap already clusters short flags (`-Ti5`), takes options after positionals and stops at
//! `--`; here it is also told that a repeated option's last value wins and that long options
//! may be abbreviated, and its errors are rewritten in argparse's words (`the following
//! arguments are required: pattern`, `argument -p/--pid: invalid int value: 'x'`,
//! `unrecognized arguments: -x`).

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::Command;

use super::end::End;

/// Parses a tool's arguments (without the program name) into `T`.
/// `usage` is argparse's usage line (without `usage: `), shown with errors and in `--help`.
pub fn parse<T: clap::Parser>(
    prog: &'static str,
    usage: &'static str,
    args: &[OsString],
) -> Result<T, End> {
    let cmd = command::<T>(prog, usage).bin_name(prog);
    let argv = std::iter::once(OsString::from(prog)).chain(args.iter().cloned());
    let matches = cmd.clone().try_get_matches_from(argv);
    let parsed = matches.and_then(|m| T::from_arg_matches(&m));
    parsed.map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            End::Help
        }
        _ => End::Usage {
            prog: prog.to_string(),
            usage: usage.to_string(),
            message: message(&cmd, &e),
        },
    })
}

/// A tool's clap command: its name, argparse's usage line, a repeated option's last value
/// winning, long options abbreviated.
pub fn command<T: clap::CommandFactory>(prog: &'static str, usage: &'static str) -> Command {
    T::command()
        .name(prog)
        .override_usage(usage)
        .args_override_self(true)
        .infer_long_args(true)
}

/// A usage error found after parsing (option combinations), in argparse's form.
pub fn usage_error(prog: &str, usage: &str, message: impl Into<String>) -> End {
    End::Usage {
        prog: prog.to_string(),
        usage: usage.to_string(),
        message: message.into(),
    }
}

/// An integer option (`-p PID`, `-c CPU`): argparse's `type=int`.
pub fn int(s: &str) -> Result<u32, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("invalid int value: '{s}'"))
}

/// A number of seconds or events (`-i`, `-d`, `-n`): a positive integer (BCC accepts `0` and
/// then spins).
pub fn positive(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("invalid positive int value: '{s}'")),
    }
}

/// argparse's wording of a clap error.
fn message(cmd: &Command, e: &clap::Error) -> String {
    let context = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(" "),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let arg = context(ContextKind::InvalidArg);
    match e.kind() {
        ErrorKind::MissingRequiredArgument => {
            let names: Vec<String> = match e.get(ContextKind::InvalidArg) {
                Some(ContextValue::Strings(v)) => v.iter().map(|s| bare_name(s)).collect(),
                _ => vec![bare_name(&arg)],
            };
            format!("the following arguments are required: {}", names.join(", "))
        }
        ErrorKind::UnknownArgument | ErrorKind::TooManyValues => {
            let value = context(ContextKind::InvalidValue);
            format!(
                "unrecognized arguments: {}",
                if arg.is_empty() { value } else { arg }
            )
        }
        ErrorKind::ValueValidation => {
            let reason = std::error::Error::source(e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| {
                    format!("invalid value: '{}'", context(ContextKind::InvalidValue))
                });
            format!("argument {}: {reason}", option_strings(cmd, &arg))
        }
        ErrorKind::InvalidValue if context(ContextKind::InvalidValue).is_empty() => {
            format!(
                "argument {}: expected one argument",
                option_strings(cmd, &arg)
            )
        }
        ErrorKind::InvalidValue => format!(
            "argument {}: invalid choice: '{}'",
            option_strings(cmd, &arg),
            context(ContextKind::InvalidValue)
        ),
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").to_string()
        }
    }
}

/// `<pattern>` or `<probe>...` as argparse names it: `pattern`, `probe`.
fn bare_name(s: &str) -> String {
    s.trim_end_matches("...")
        .trim_matches(|c| c == '<' || c == '>')
        .to_lowercase()
}

/// An option's names as argparse lists them (`-p/--pid`), from clap's `--pid <PID>`.
fn option_strings(cmd: &Command, shown: &str) -> String {
    let flag = shown.split([' ', '=']).next().unwrap_or(shown);
    let found = cmd.get_arguments().find(|a| {
        a.get_long().is_some_and(|l| flag == format!("--{l}"))
            || a.get_short().is_some_and(|s| flag == format!("-{s}"))
    });
    match found {
        Some(a) => {
            let mut names: Vec<String> =
                a.get_short().map(|s| format!("-{s}")).into_iter().collect();
            names.extend(a.get_long().map(|l| format!("--{l}")));
            names.join("/")
        }
        None => bare_name(shown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// A tool with argparse-style options.
    #[derive(Parser, Debug)]
    struct T {
        #[arg(short, long, value_parser = int)]
        pid: Option<u32>,
        #[arg(short, long, value_parser = positive)]
        interval: Option<u64>,
        #[arg(short = 'T', long)]
        timestamp: bool,
        pattern: String,
    }

    fn parse_t(args: &[&str]) -> Result<T, End> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse::<T>("t", "t [-h] [-p PID] [-i INTERVAL] [-T] pattern", &args)
    }

    fn usage_message(args: &[&str]) -> String {
        match parse_t(args) {
            Err(End::Usage { message, usage, .. }) => {
                assert_eq!(usage, "t [-h] [-p PID] [-i INTERVAL] [-T] pattern");
                message
            }
            other => panic!("not a usage error: {other:?}"),
        }
    }

    #[test]
    fn argparse_forms() {
        let t = parse_t(&["-Ti5", "x"]).unwrap();
        assert_eq!(
            (t.timestamp, t.interval, t.pattern.as_str()),
            (true, Some(5), "x")
        );
        let t = parse_t(&["x", "-p", "12", "--int=3", "-i", "4"]).unwrap();
        assert_eq!((t.pid, t.interval), (Some(12), Some(4)), "last value wins");
        let t = parse_t(&["-T", "--", "-x"]).unwrap();
        assert_eq!(t.pattern, "-x");
    }

    #[test]
    fn argparse_errors() {
        assert_eq!(
            usage_message(&[]),
            "the following arguments are required: pattern"
        );
        assert_eq!(
            usage_message(&["-p", "x", "y"]),
            "argument -p/--pid: invalid int value: 'x'"
        );
        assert_eq!(
            usage_message(&["-i", "0", "y"]),
            "argument -i/--interval: invalid positive int value: '0'"
        );
        assert_eq!(usage_message(&["-x", "y"]), "unrecognized arguments: -x");
        assert_eq!(usage_message(&["a", "b"]), "unrecognized arguments: b");
        assert_eq!(
            usage_message(&["y", "-p"]),
            "argument -p/--pid: expected one argument"
        );
    }
}
