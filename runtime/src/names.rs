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
    strftime_formats: Vec<String>,
    /// Wall-clock ns at boot: CLOCK_REALTIME - CLOCK_BOOTTIME when the session started.
    boot_wall_ns: i128,
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
            strftime_formats: object.strftime_formats.clone(),
            boot_wall_ns: clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_BOOTTIME),
        }
    }

    /// Adds the names of another object's probes (the REPL).
    pub fn extend(&mut self, other: LiveNames) {
        self.probe_names = other.probe_names;
        self.strftime_formats = other.strftime_formats;
        self.tracepoints.extend(other.tracepoints);
    }
}

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

impl Names for LiveNames {
    fn timestamp(&self, nsecs: u64, format: u64) -> String {
        let Some(fmt) = self.strftime_formats.get(format as usize) else {
            return nsecs.to_string();
        };
        let wall = self.boot_wall_ns + nsecs as i128;
        let secs = wall.div_euclid(1_000_000_000) as libc::time_t;
        let micros = wall.rem_euclid(1_000_000_000) / 1000;
        // `%f` (microseconds) is bpftrace's addition to strftime(3).
        let fmt = fmt.replace("%f", &format!("{micros:06}"));
        crate::records::strftime_at(&fmt, secs)
    }

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
