//! mean: the reducer docs/plugins.md walks through ("Writing a plugin"), in Rust.

use std::fmt::Write;

use scry_guest::{Plugin, Result, Updates, Writer};

/// One key's state.
#[derive(Default, Clone)]
struct State {
    sum: i64,
    n: u64,
}

/// Every map's keys, by map number then key number.
#[derive(Default)]
struct Mean {
    maps: Vec<Vec<State>>,
}

impl Mean {
    fn state(&mut self, map: u32, key: u32) -> &mut State {
        let (map, key) = (map as usize, key as usize);
        if self.maps.len() <= map {
            self.maps.resize(map + 1, Vec::new());
        }
        if self.maps[map].len() <= key {
            self.maps[map].resize(key + 1, State::default());
        }
        &mut self.maps[map][key]
    }
}

impl Plugin for Mean {
    const DESCRIPTOR: &'static str = "reducer mean(i64)\n";

    fn reduce(&mut self, _item: u32, map: u32, updates: Updates) -> Result {
        for update in updates {
            let (key, value) = update?;
            let s = self.state(map, key);
            s.sum = s.sum.wrapping_add(value as i64);
            s.n += 1;
        }
        Ok(())
    }

    fn render(&mut self, _item: u32, map: u32, key: u32, json: bool, out: &mut Writer) -> Result {
        let s = self.state(map, key);
        let mean = if s.n > 0 { s.sum / s.n as i64 } else { 0 };
        if json {
            write!(out, "{{\"mean\": {}, \"n\": {}}}", mean, s.n)?;
        } else {
            write!(out, "mean {}, n {}", mean, s.n)?;
        }
        Ok(())
    }

    fn reset(&mut self, _item: u32, map: u32, key: Option<u32>, _keep: bool) -> Result {
        if let Some(keys) = self.maps.get_mut(map as usize) {
            for (k, s) in keys.iter_mut().enumerate() {
                if key.map_or(true, |key| key as usize == k) {
                    *s = State::default();
                }
            }
        }
        Ok(())
    }
}

scry_guest::plugin!(Mean: reduce, render, reset);
