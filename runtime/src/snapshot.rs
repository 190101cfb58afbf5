//! Reading, clearing and zeroing a program's maps from user space.

use std::io;

use scry_ebpf::object::{MapKind, Object};
use scry_stdlib::map::{dump as build_dump, MapDump};
use scry_stdlib::names::Names;

use crate::load::Loaded;

/// The current contents of user map `index` (into [`Object::user_maps`]), ready to print.
pub fn dump(
    object: &Object,
    loaded: &Loaded,
    index: usize,
    names: &dyn Names,
) -> io::Result<MapDump> {
    let um = &object.user_maps[index];
    let entries = loaded.maps[um.map].entries()?;
    Ok(build_dump(um, entries, names))
}

/// Removes every entry of user map `index` (an array's slots, which cannot be removed, are
/// zeroed).
pub fn clear(object: &Object, loaded: &Loaded, index: usize) -> io::Result<()> {
    let map = &loaded.maps[object.user_maps[index].map];
    if matches!(map.spec.kind, MapKind::Array | MapKind::PerCpuArray) {
        return zero(object, loaded, index);
    }
    for key in map.keys()? {
        map.delete(&key)?;
    }
    Ok(())
}

/// Empties every stack map: the stack ids recorded before name nothing any more.
pub fn clear_stacks(object: &Object, loaded: &Loaded) -> io::Result<()> {
    for s in &object.stack_maps {
        let map = &loaded.maps[s.map];
        for key in map.keys()? {
            map.delete(&key)?;
        }
    }
    Ok(())
}

/// Sets every value of user map `index` to zero, keeping the keys.
pub fn zero(object: &Object, loaded: &Loaded, index: usize) -> io::Result<()> {
    let map = &loaded.maps[object.user_maps[index].map];
    let zeros = vec![0u8; map.value_bytes()];
    for key in map.keys()? {
        map.update(&key, &zeros)?;
    }
    Ok(())
}

/// Every user map, sorted by name as bpftrace prints them at exit.
pub fn all_in_print_order(object: &Object) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..object.user_maps.len()).collect();
    idx.sort_by(|&a, &b| {
        object.user_maps[a]
            .name
            .as_bytes()
            .cmp(object.user_maps[b].name.as_bytes())
    });
    idx
}
