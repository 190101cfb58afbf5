//! Dot-commands: `.help`, `.probes`, `.detach N|all`, `.maps`, `.print @m`, `.clear [@m]`,
//! `.watch @m SECS`, `.save FILE`, `.load FILE`, `.list [PATTERN]`, `.listv [PATTERN]`,
//! `.format text|json`, `.quit`.

use std::path::PathBuf;
use std::time::Duration;

use scry_stdlib::sink::Format;

/// A parsed dot-command.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `.help`.
    Help,
    /// `.probes`.
    Probes,
    /// `.detach N` (`Some(N)`) or `.detach all` (`None`).
    Detach(Option<usize>),
    /// `.maps`.
    Maps,
    /// `.print @m`: the map's name without `@`.
    Print(String),
    /// `.clear @m`, or `.clear` for every map.
    Clear(Option<String>),
    /// `.watch @m SECS`.
    Watch(String, Duration),
    /// `.save FILE`.
    Save(PathBuf),
    /// `.load FILE`.
    Load(PathBuf),
    /// `.list [PATTERN]` (`verbose` for `.listv`).
    List {
        /// The pattern, as `-l` takes it.
        pattern: Option<String>,
        /// `.listv`.
        verbose: bool,
    },
    /// `.format text|json`.
    Format(Format),
    /// `.quit`.
    Quit,
}

/// The longest `.watch` period: a day.
const MAX_WATCH_SECS: f64 = 86_400.0;

/// The dot-commands and what they do, for `.help` and completion.
pub const COMMANDS: &[(&str, &str)] = &[
    (".help", "this list"),
    (
        ".probes",
        "the entries attached: number, attach points, text",
    ),
    (
        ".detach",
        "N | all: detach entry N (its END will not run), or everything",
    ),
    (".maps", "every map: name, type, entries"),
    (".print", "@m: print a map now"),
    (".clear", "[@m]: clear a map, or every map"),
    (
        ".watch",
        "@m SECS: print a map every SECS seconds until Ctrl-C",
    ),
    (
        ".save",
        "FILE: the live session as a script that `scry FILE` runs",
    ),
    (".load", "FILE: attach a script's probes as one entry"),
    (".list", "[PATTERN]: the probes this machine offers, as -l"),
    (".listv", "[PATTERN]: the same with arguments, as -lv"),
    (".format", "text | json: the output format from now on"),
    (
        ".quit",
        "end the session: detach, run END, print the maps (also Ctrl-D)",
    ),
];

/// Parses the text after the dot.
pub fn parse(text: &str) -> Result<Command, String> {
    let mut words = text.split_whitespace();
    let name = words.next().unwrap_or("");
    let args: Vec<&str> = words.collect();
    let usage = || {
        let hint = COMMANDS
            .iter()
            .find(|(c, _)| c[1..] == *name)
            .map_or(String::new(), |(c, what)| format!(": {c} {what}"));
        format!("wrong arguments for .{name}{hint}")
    };
    let map = |w: &str| -> Result<String, String> {
        match w.strip_prefix('@') {
            Some(m) => Ok(m.to_string()),
            None => Err(format!("'{w}' is not a map name (maps start with @)")),
        }
    };
    let path = |args: &[&str]| -> Result<PathBuf, String> {
        match args {
            [p] => Ok(PathBuf::from(p)),
            _ => Err(usage()),
        }
    };
    Ok(match (name, args.as_slice()) {
        ("help", []) => Command::Help,
        ("probes", []) => Command::Probes,
        ("detach", ["all"]) => Command::Detach(None),
        ("detach", [n]) => Command::Detach(Some(
            n.trim_start_matches('#')
                .parse()
                .map_err(|_| format!("'{n}' is not an entry number"))?,
        )),
        ("maps", []) => Command::Maps,
        ("print", [m]) => Command::Print(map(m)?),
        ("clear", []) => Command::Clear(None),
        ("clear", [m]) => Command::Clear(Some(map(m)?)),
        ("watch", [m, secs]) => {
            let every = secs
                .parse::<f64>()
                .ok()
                .filter(|s| *s > 0.0 && *s <= MAX_WATCH_SECS)
                .and_then(|s| Duration::try_from_secs_f64(s.max(0.01)).ok())
                .ok_or_else(|| {
                    format!("'{secs}' is not a number of seconds (at most {MAX_WATCH_SECS})")
                })?;
            Command::Watch(map(m)?, every)
        }
        ("save", a) => Command::Save(path(a)?),
        ("load", a) => Command::Load(path(a)?),
        ("list" | "listv", a) if a.len() <= 1 => Command::List {
            pattern: a.first().map(|p| p.to_string()),
            verbose: name == "listv",
        },
        ("format", ["text"]) => Command::Format(Format::Text),
        ("format", ["json"]) => Command::Format(Format::Json),
        ("quit" | "exit", []) => Command::Quit,
        _ if COMMANDS.iter().any(|(c, _)| c[1..] == *name) => return Err(usage()),
        _ => {
            return Err(format!(
                "unknown command '.{name}'; .help lists the commands"
            ))
        }
    })
}

/// `.help`'s text.
pub fn help() -> String {
    let mut out = String::from(
        "Type a probe block to attach it, statements to run them once, @map to print a map.\n",
    );
    for (name, what) in COMMANDS {
        out.push_str(&format!("  {name:<8} {what}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_command() {
        assert_eq!(parse("help"), Ok(Command::Help));
        assert_eq!(parse("detach 3"), Ok(Command::Detach(Some(3))));
        assert_eq!(parse("detach #3"), Ok(Command::Detach(Some(3))));
        assert_eq!(parse("detach all"), Ok(Command::Detach(None)));
        assert_eq!(parse("print @x"), Ok(Command::Print("x".into())));
        assert_eq!(parse("clear"), Ok(Command::Clear(None)));
        assert_eq!(parse("clear @x"), Ok(Command::Clear(Some("x".into()))));
        assert_eq!(
            parse("watch @x 0.5"),
            Ok(Command::Watch("x".into(), Duration::from_millis(500)))
        );
        assert_eq!(parse("save a.bt"), Ok(Command::Save("a.bt".into())));
        assert_eq!(
            parse("listv t:sched:*"),
            Ok(Command::List {
                pattern: Some("t:sched:*".into()),
                verbose: true
            })
        );
        assert_eq!(parse("format json"), Ok(Command::Format(Format::Json)));
        assert_eq!(parse("quit"), Ok(Command::Quit));
    }

    #[test]
    fn bad_commands_say_why() {
        assert_eq!(
            parse("detach x"),
            Err("'x' is not an entry number".to_string())
        );
        assert!(parse("print x").unwrap_err().contains("not a map name"));
        assert!(parse("watch @x -1").unwrap_err().contains("seconds"));
        assert!(parse("watch @x 1e300").unwrap_err().contains("seconds"));
        assert!(parse("watch @x NaN").unwrap_err().contains("seconds"));
        assert!(parse("format xml")
            .unwrap_err()
            .contains(".format text | json"));
        assert!(parse("frobnicate").unwrap_err().contains("unknown command"));
        assert!(parse("save")
            .unwrap_err()
            .starts_with("wrong arguments for .save"));
    }
}
