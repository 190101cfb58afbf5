//! [`States`]: a reducer's state per (map, key).

use alloc::vec::Vec;

/// scry numbers reducer maps and their keys densely from 0: the state of each (map, key) in
/// a table indexed by both, made with `Default` at its first use.
pub struct States<T> {
    maps: Vec<Vec<T>>,
}

impl<T> Default for States<T> {
    fn default() -> Self {
        States { maps: Vec::new() }
    }
}

impl<T: Default> States<T> {
    /// The state of (map, key).
    pub fn get(&mut self, map: u32, key: u32) -> &mut T {
        let (map, key) = (map as usize, key as usize);
        if self.maps.len() <= map {
            self.maps.resize_with(map + 1, Vec::new);
        }
        let keys = &mut self.maps[map];
        if keys.len() <= key {
            keys.resize_with(key + 1, T::default);
        }
        &mut keys[key]
    }

    /// Puts one key's state (or every key's, `None`) of `map` back to `Default`.
    pub fn reset(&mut self, map: u32, key: Option<u32>) {
        if let Some(keys) = self.maps.get_mut(map as usize) {
            for (k, state) in keys.iter_mut().enumerate() {
                if key.map_or(true, |key| key as usize == k) {
                    *state = T::default();
                }
            }
        }
    }
}
