//! Where a trace or argdist probe attaches (a kernel or user function, its return, a
//! tracepoint, a USDT probe), and the engine attach point for it, libraries resolved as BCC
//! resolves them (reference §1.3).

use scry_lang::catalog::Catalog;

/// Where a probe attaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// `p`/`r` on a kernel function (empty library).
    Kernel {
        func: String,
        offset: u64,
        ret: bool,
    },
    /// `p`/`r` on a function of a library or binary.
    User {
        lib: String,
        func: String,
        offset: u64,
        ret: bool,
    },
    /// `t:cat:event`.
    Tracepoint { category: String, event: String },
    /// `u:lib:[prov:]probe`.
    Usdt { lib: String, probe: String },
}

impl Place {
    /// The function, the event, or the USDT probe as written (trace's FUNC column).
    pub fn name(&self) -> &str {
        match self {
            Place::Kernel { func, .. } | Place::User { func, .. } => func,
            Place::Tracepoint { event, .. } => event,
            Place::Usdt { probe, .. } => probe,
        }
    }

    /// A probe in the kernel: a kernel function or a tracepoint.
    pub fn in_kernel(&self) -> bool {
        matches!(self, Place::Kernel { .. } | Place::Tracepoint { .. })
    }

    /// The entry of a return probe (the same function, not returning).
    pub fn entry(&self) -> Option<Place> {
        match self {
            Place::Kernel {
                func, ret: true, ..
            } => Some(Place::Kernel {
                func: func.clone(),
                offset: 0,
                ret: false,
            }),
            Place::User {
                lib,
                func,
                ret: true,
                ..
            } => Some(Place::User {
                lib: lib.clone(),
                func: func.clone(),
                offset: 0,
                ret: false,
            }),
            _ => None,
        }
    }

    /// The engine attach point (`kretprobe:f`, `uprobe:/path:f+off`, `usdt:/path:prov:name`);
    /// errors in BCC's words. As in BCC, only USDT probes look for the library in process
    /// `pid`; uprobes resolve it on the system (the attachment is then scoped to `pid`).
    pub fn attach_point(&self, catalog: &dyn Catalog, pid: Option<u32>) -> Result<String, String> {
        let offset = |offset: u64| match offset {
            0 => String::new(),
            n => format!("+{n}"),
        };
        Ok(match self {
            Place::Kernel {
                func, ret: true, ..
            } => format!("kretprobe:{func}"),
            Place::Kernel {
                func, offset: o, ..
            } => format!("kprobe:{func}{}", offset(*o)),
            Place::User {
                lib,
                func,
                ret: true,
                ..
            } => format!("uretprobe:{}:{func}", resolve_library(catalog, lib, None)?),
            Place::User {
                lib,
                func,
                offset: o,
                ..
            } => format!(
                "uprobe:{}:{func}{}",
                resolve_library(catalog, lib, None)?,
                offset(*o)
            ),
            Place::Tracepoint { category, event } => format!("tracepoint:{category}:{event}"),
            Place::Usdt { lib, probe } => {
                let path = resolve_library(catalog, lib, pid)?;
                let (provider, name) = match probe.split_once(':') {
                    Some((prov, name)) => (Some(prov), name),
                    None => (None, probe.as_str()),
                };
                let found = catalog
                    .usdt_probes(&path)?
                    .into_iter()
                    .find(|u| u.name == name && provider.is_none_or(|p| p == u.provider))
                    .ok_or_else(|| format!("unrecognized USDT probe {name}"))?;
                format!("usdt:{path}:{}:{}", found.provider, found.name)
            }
        })
    }
}

/// A library or binary name as BCC resolves it (a path, `/etc/ld.so.cache`, `$PATH`).
pub fn resolve_library(
    catalog: &dyn Catalog,
    lib: &str,
    pid: Option<u32>,
) -> Result<String, String> {
    catalog
        .resolve_binary(lib, pid)
        .map_err(|_| format!("unable to find library {lib}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_lang::catalog::{MemoryCatalog, UsdtProbe};

    #[test]
    fn attach_points() {
        let mut c = MemoryCatalog::new();
        let probe = UsdtProbe {
            provider: "prov".into(),
            name: "tick".into(),
            arguments: String::new(),
            pc: 0x10,
            base: 0,
            semaphore: 0,
        };
        c.add_binary("/lib/libc.so.6", vec![], vec![probe]);
        let at = |p: Place| p.attach_point(&c, None);
        let user = |ret| Place::User {
            lib: "c".into(),
            func: "malloc".into(),
            offset: 0,
            ret,
        };
        assert_eq!(at(user(true)).unwrap(), "uretprobe:/lib/libc.so.6:malloc");
        assert_eq!(user(true).entry(), Some(user(false)));
        let kernel = Place::Kernel {
            func: "kfree_skb".into(),
            offset: 0x12,
            ret: false,
        };
        assert_eq!(at(kernel).unwrap(), "kprobe:kfree_skb+18");
        let usdt = |probe: &str| Place::Usdt {
            lib: "c".into(),
            probe: probe.into(),
        };
        assert_eq!(at(usdt("tick")).unwrap(), "usdt:/lib/libc.so.6:prov:tick");
        assert_eq!(
            at(usdt("prov:tick")).unwrap(),
            "usdt:/lib/libc.so.6:prov:tick"
        );
        assert_eq!(
            at(usdt("x:tick")).unwrap_err(),
            "unrecognized USDT probe tick"
        );
        let missing = Place::User {
            lib: "nosuchlib".into(),
            func: "f".into(),
            offset: 0,
            ret: false,
        };
        assert_eq!(at(missing).unwrap_err(), "unable to find library nosuchlib");
    }
}
