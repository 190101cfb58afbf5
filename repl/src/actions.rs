//! What the dot-commands do.

use std::fmt::Write as _;

use scry_runtime::{snapshot, sys};

use crate::command::{self, Command};
use crate::engine::{Engine, Entry, Next};
use crate::save;
use crate::watch::Watch;

impl Engine {
    /// Runs the dot-command `text` (after the dot).
    pub(crate) fn command(&mut self, text: &str) -> Next {
        let command = match command::parse(text) {
            Ok(c) => c,
            Err(e) => {
                self.console.say(&format!("ERROR: {e}\n"));
                return Next::Continue;
            }
        };
        // What to show, or why it failed.
        let done: Result<Option<String>, String> = match command {
            Command::Quit => return Next::End,
            Command::Help => Ok(Some(command::help())),
            Command::Probes => Ok(Some(self.probes_table())),
            Command::Detach(which) => self.detach(which).map(|()| None),
            Command::Maps => self.maps_table().map(Some),
            Command::Print(m) => {
                self.print_maps(Some(&m));
                Ok(None)
            }
            Command::Clear(m) => self.clear(m.as_deref()).map(|()| None),
            Command::Watch(m, every) => match self.map_index(&m) {
                Some(_) => {
                    self.watch = Some(Watch::new(m, every));
                    Ok(None)
                }
                None => Err(format!("there is no map @{m}")),
            },
            Command::Save(path) => {
                let declarations = self
                    .plugins
                    .as_ref()
                    .map_or(Vec::new(), |p| p.declarations());
                std::fs::write(&path, save::script(&declarations, &self.entries))
                    .map(|()| {
                        let saved = format!("saved the session to {}\n", path.display());
                        self.console.say(&saved);
                        None
                    })
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))
            }
            Command::Load(path) if !path.is_file() => {
                Err(format!("cannot load {}: not a file", path.display()))
            }
            Command::Load(path) => match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let number = self.next_number();
                    self.program(number, path.display().to_string(), &text);
                    Ok(None)
                }
                Err(e) => Err(format!("cannot read {}: {e}", path.display())),
            },
            Command::List { pattern, verbose } => {
                (self.list)(pattern.as_deref(), verbose, self.pid).map(Some)
            }
            Command::Format(f) => {
                let sink = crate::console_sink::new(f, &self.out, &self.console);
                let sink = match &self.plugins {
                    Some(p) => p.sink(sink, f),
                    None => sink,
                };
                self.session(|s| {
                    s.sink.flush()?;
                    s.sink = sink;
                    Ok(None)
                })
            }
        };
        match done {
            Ok(Some(text)) => self.console.show(&text),
            Ok(None) => {}
            Err(e) => self.console.say(&format!("ERROR: {e}\n")),
        }
        Next::Continue
    }

    /// `.detach N` / `.detach all`.
    fn detach(&mut self, which: Option<usize>) -> Result<(), String> {
        // Detached entries are forgotten (the statements that changed maps stay, for `.save`).
        let (chosen, kept): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| e.probes.is_some() && which.is_none_or(|n| e.number == n));
        self.entries = kept;
        if chosen.is_empty() {
            return Err(match which {
                Some(n) => format!("no entry #{n} is attached (.probes lists them)"),
                None => "nothing is attached".into(),
            });
        }
        for e in chosen {
            if let Some(probes) = e.probes {
                self.remove(probes.blocks);
            }
            self.console.say(&format!("#{} detached\n", e.number));
        }
        Ok(())
    }

    /// `.clear @m` / `.clear`.
    fn clear(&mut self, map: Option<&str>) -> Result<(), String> {
        let object = self.host.object();
        let (maps, reducers): (Vec<usize>, Vec<usize>) = match map {
            Some(m) => match (self.map_index(m), self.reducer_index(m)) {
                (Some(i), _) => (vec![i], Vec::new()),
                (None, Some(r)) => (Vec::new(), vec![r]),
                (None, None) => return Err(format!("there is no map @{m}")),
            },
            None => (
                (0..object.user_maps.len()).collect(),
                (0..object.reducer_maps.len()).collect(),
            ),
        };
        self.session(|s| {
            for i in maps {
                snapshot::clear(&s.object, &s.loaded, i)?;
            }
            for r in reducers {
                s.clear_reducer(r)?;
            }
            Ok(())
        })
    }

    /// `.probes`: each attached entry's number, attach points, hits and text.
    fn probes_table(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            let Some(p) = e.probes.as_ref() else {
                continue;
            };
            let plural = if p.count == 1 { "" } else { "s" };
            let hits = match self.hits(p.programs.clone()) {
                Some(1) => " (1 hit)".to_string(),
                Some(n) => format!(" ({n} hits)"),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "#{} {} probe{plural}: {}{hits}",
                e.number,
                p.count,
                p.names.join(", ")
            );
            for line in e.text.trim().lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        if out.is_empty() {
            out.push_str("nothing is attached\n");
        }
        out
    }

    /// How many times the attached programs among `programs` ran since they were loaded;
    /// `None` when the kernel does not count.
    fn hits(&self, programs: std::ops::Range<usize>) -> Option<u64> {
        self.run_stats.as_ref()?;
        let session = self.host.session()?;
        let attached: Vec<usize> = (session.object.programs.range(programs))
            .filter(|(_, p)| p.trigger.attaches_at_start())
            .map(|(i, _)| i)
            .collect();
        if attached.is_empty() {
            return None;
        }
        attached
            .into_iter()
            .map(|i| sys::prog_run_count(session.loaded.programs.get(i)?.fd()).ok())
            .sum()
    }

    /// `.maps`: each map's name, type and number of entries, by name.
    fn maps_table(&mut self) -> Result<String, String> {
        let types = self.host.environment().maps.clone();
        self.session(|s| {
            let mut out = String::new();
            for i in snapshot::all_in_print_order(&s.object) {
                let um = &s.object.user_maps[i];
                let entries = s.loaded.maps[um.map].keys()?.len();
                let ty = types.get(&um.name).map_or(String::new(), |t| {
                    let keys: Vec<String> = t.keys.iter().map(|k| k.to_string()).collect();
                    match keys.is_empty() {
                        true => t.value.to_string(),
                        false => format!("[{}] {}", keys.join(", "), t.value),
                    }
                });
                let plural = if entries == 1 { "entry" } else { "entries" };
                let _ = writeln!(out, "@{}  {ty}  {entries} {plural}", um.name);
            }
            if out.is_empty() {
                out.push_str("no maps yet\n");
            }
            Ok(out)
        })
    }

    /// Prints the watched map if it is due.
    pub fn watch_tick(&mut self) {
        let Some(w) = self.watch.as_mut() else {
            return;
        };
        if w.due() {
            let map = w.map.clone();
            self.print_maps(Some(&map));
        }
    }

    /// Milliseconds until the watched map is due, or -1 (no watch).
    pub fn watch_timeout_ms(&self) -> i32 {
        self.watch.as_ref().map_or(-1, Watch::timeout_ms)
    }

    /// Whether a `.watch` runs.
    pub fn watching(&self) -> bool {
        self.watch.is_some()
    }

    /// Stops the `.watch` (Ctrl-C).
    pub fn stop_watch(&mut self) {
        self.watch = None;
    }
}
