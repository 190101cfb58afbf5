//! What the live system says about the ids programs record: probe names and user names.

use std::cell::OnceCell;
use std::collections::HashMap;

use scry_ebpf::object::{Object, TRACEPOINT_PROBE_ID};
use scry_lang::attach::Target;
use scry_stdlib::names::Names;

/// Resolves probe ids and uids for the printer.
pub struct LiveNames {
    probe_names: Vec<String>,
    /// `tracepoint:cat:event` by tracepoint event id, for the tracepoints of the object.
    tracepoints: HashMap<u64, String>,
    users: OnceCell<HashMap<u64, String>>,
}

impl LiveNames {
    /// Names for `object`'s probes; tracepoint ids are read from tracefs at `tracefs`.
    pub fn new(object: &Object, tracefs: Option<&std::path::Path>) -> Self {
        let mut tracepoints = HashMap::new();
        if let Some(root) = tracefs {
            for p in &object.programs {
                for a in &p.attaches {
                    if let Target::Tracepoint { category, event } = &a.target {
                        let path = root.join("events").join(category).join(event).join("id");
                        if let Some(id) = std::fs::read_to_string(path)
                            .ok()
                            .and_then(|s| s.trim().parse::<u64>().ok())
                        {
                            tracepoints.insert(id, a.name.clone());
                        }
                    }
                }
            }
        }
        LiveNames {
            probe_names: object.probe_names.clone(),
            tracepoints,
            users: OnceCell::new(),
        }
    }

    /// Adds the names of another object's probes (the REPL).
    pub fn extend(&mut self, other: LiveNames) {
        self.probe_names = other.probe_names;
        self.tracepoints.extend(other.tracepoints);
    }
}

impl Names for LiveNames {
    fn probe_name(&self, id: u64) -> String {
        if id >= TRACEPOINT_PROBE_ID {
            return self
                .tracepoints
                .get(&(id - TRACEPOINT_PROBE_ID))
                .cloned()
                .unwrap_or_else(|| format!("tracepoint:#{}", id - TRACEPOINT_PROBE_ID));
        }
        self.probe_names
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| format!("probe#{id}"))
    }

    fn username(&self, uid: u64) -> String {
        let users = self.users.get_or_init(|| {
            let text = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
            text.lines()
                .filter_map(|l| {
                    let mut f = l.split(':');
                    let name = f.next()?;
                    let uid = f.nth(1)?.parse().ok()?;
                    Some((uid, name.to_string()))
                })
                .collect()
        });
        users.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
    }
}
