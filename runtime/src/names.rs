//! What the live system says about the ids programs record: probe names and user names.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};

use scry_ebpf::object::{Object, TRACEPOINT_PROBE_ID};
use scry_stdlib::names::{hex_address, Names};
use scry_stdlib::value::Frame;

use crate::load::Loaded;
use crate::symbols::kernel::KernelSymbols;
use crate::symbols::user::UserSymbols;
use crate::sys;

/// A stack-trace map of the session, read when a stack is printed.
struct StackMapFd {
    user: bool,
    limit: u32,
    fd: OwnedFd,
}

/// Resolves probe ids and uids for the printer.
pub struct LiveNames {
    probe_names: Vec<String>,
    /// `tracepoint:cat:event` by tracepoint event id, for the tracepoints of the object.
    tracepoints: HashMap<u64, String>,
    users: OnceCell<HashMap<u64, String>>,
    strftime_formats: Vec<String>,
    /// The object's `cgroup_path()` filters.
    cgroup_path_filters: Vec<String>,
    /// Wall-clock ns at boot: CLOCK_REALTIME - CLOCK_BOOTTIME when the session started.
    boot_wall_ns: i128,
    /// The object's stack-trace maps (their fds duplicated from the loaded maps).
    stack_maps: Vec<StackMapFd>,
    /// User-space symbols, cached for the whole session.
    user_symbols: OnceCell<UserSymbols>,
    /// Errors met while naming values (a strftime text too long), for the session's sink.
    errors: RefCell<Vec<String>>,
}

impl LiveNames {
    /// Names for `object`'s probes (tracepoint ids from its fan-in programs), stacks from
    /// `object`'s stack maps in `loaded`.
    pub fn new(object: &Object, loaded: &Loaded) -> Self {
        let tracepoints = object
            .programs
            .values()
            .filter_map(|p| Some((p, p.fan_in.as_ref()?)))
            .flat_map(|(p, f)| {
                f.calls
                    .iter()
                    .filter_map(|c| Some((c.tracepoint_id, p.attaches.get(c.attach)?.name.clone())))
            })
            .collect();
        // A map whose fd cannot be duplicated (fd limit) prints its stacks empty.
        let stack_maps = object
            .stack_maps
            .iter()
            .filter_map(|m| {
                let fd = loaded.maps.get(m.map)?.fd().try_clone_to_owned().ok()?;
                Some(StackMapFd {
                    user: m.user,
                    limit: m.limit,
                    fd,
                })
            })
            .collect();
        LiveNames {
            stack_maps,
            user_symbols: OnceCell::new(),
            errors: RefCell::default(),
            probe_names: object.probe_names.clone(),
            tracepoints,
            users: OnceCell::new(),
            strftime_formats: object.strftime_formats.clone(),
            cgroup_path_filters: object.cgroup_path_filters.clone(),
            boot_wall_ns: sys::clock::clock_ns(libc::CLOCK_REALTIME)
                - sys::clock::clock_ns(libc::CLOCK_BOOTTIME),
        }
    }

    /// Adds the names of another object's probes (the REPL).
    pub fn extend(&mut self, other: LiveNames) {
        self.probe_names = other.probe_names;
        self.strftime_formats = other.strftime_formats;
        self.cgroup_path_filters = other.cgroup_path_filters;
        self.tracepoints.extend(other.tracepoints);
        for m in other.stack_maps {
            if !self
                .stack_maps
                .iter()
                .any(|s| s.user == m.user && s.limit == m.limit)
            {
                self.stack_maps.push(m);
            }
        }
    }

    /// Forgets what `object` no longer has (a source rolled back): its probe names, formats,
    /// filters and stack maps beyond the object's.
    pub fn truncate(&mut self, object: &Object) {
        self.probe_names.truncate(object.probe_names.len());
        self.strftime_formats
            .truncate(object.strftime_formats.len());
        self.cgroup_path_filters
            .truncate(object.cgroup_path_filters.len());
        self.stack_maps.retain(|s| {
            object
                .stack_maps
                .iter()
                .any(|m| m.user == s.user && m.limit == s.limit)
        });
    }

    /// The errors met while naming values since the last call.
    pub fn take_errors(&self) -> Vec<String> {
        std::mem::take(&mut self.errors.borrow_mut())
    }

    /// The session's user symbolizer, made on first use.
    pub fn user_symbols(&self) -> &UserSymbols {
        self.user_symbols.get_or_init(UserSymbols::new)
    }

    /// The addresses of stack `id` in the matching stack map, up to the first zero.
    fn stack_addresses(&self, user: bool, limit: u32, id: i64) -> Vec<u64> {
        let Some(map) = self
            .stack_maps
            .iter()
            .find(|m| m.user == user && m.limit == limit)
        else {
            return Vec::new();
        };
        let Ok(key) = u32::try_from(id) else {
            return Vec::new();
        };
        let mut value = vec![0u8; 8 * limit as usize];
        if !matches!(
            sys::map_lookup(map.fd.as_fd(), &key.to_le_bytes(), &mut value),
            Ok(true)
        ) {
            return Vec::new();
        }
        value
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .take_while(|&a| a != 0)
            .collect()
    }
}

impl Names for LiveNames {
    fn usym(&self, addr: u64, pid: u64) -> String {
        let pid = u32::try_from(pid).unwrap_or_default();
        self.user_symbols()
            .resolve(pid, &[addr])
            .pop()
            .and_then(|f| f.symbol)
            .map_or_else(|| hex_address(addr), |s| s.to_string())
    }

    fn ksym(&self, addr: u64) -> String {
        KernelSymbols::get()
            .resolve(addr)
            .symbol
            .map_or_else(|| hex_address(addr), |s| s.to_string())
    }

    fn cgroup_path(&self, id: u64, filter: u64) -> String {
        let filter = filter
            .checked_sub(1)
            .and_then(|i| self.cgroup_path_filters.get(i as usize));
        crate::cgroups::cgroup_path(id, filter.map(String::as_str))
    }

    fn stack(&self, user: bool, limit: u32, id: i64, pid: u64) -> Vec<Frame> {
        let addrs = self.stack_addresses(user, limit, id);
        if user {
            let pid = u32::try_from(pid).unwrap_or_default();
            self.user_symbols().resolve(pid, &addrs)
        } else {
            let table = KernelSymbols::get();
            addrs.into_iter().map(|a| table.resolve(a)).collect()
        }
    }

    fn timestamp(&self, nsecs: u64, format: u64) -> String {
        let Some(fmt) = self.strftime_formats.get(format as usize) else {
            return nsecs.to_string();
        };
        let wall = self.boot_wall_ns + nsecs as i128;
        let secs = wall.div_euclid(1_000_000_000) as libc::time_t;
        let micros = wall.rem_euclid(1_000_000_000) / 1000;
        // `%f` (microseconds) is bpftrace's addition to strftime(3).
        let fmt = fmt.replace("%f", &format!("{micros:06}"));
        // Text too long to format prints as bpftrace prints it.
        crate::records::strftime_at(&fmt, secs).unwrap_or_else(|e| {
            self.errors.borrow_mut().push(e);
            "(?)".to_string()
        })
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
