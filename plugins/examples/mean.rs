//! mean: the reducer docs/plugins.md walks through ("Writing a plugin"), in Rust.

use std::fmt::Write;

use scry_guest::{Plugin, Result, States, Updates, Writer};

/// One key's state.
#[derive(Default)]
struct State {
    sum: i64,
    n: u64,
}

#[derive(Default)]
struct Mean {
    states: States<State>,
}

impl Plugin for Mean {
    const DESCRIPTOR: &'static str = "reducer mean(i64) weighted\n";

    fn reduce(&mut self, _item: u32, map: u32, updates: Updates) -> Result {
        for update in updates {
            let (key, value, weight) = update?;
            let s = self.states.get(map, key);
            s.sum = s.sum.wrapping_add((value as i64).wrapping_mul(weight as i64));
            s.n += weight;
        }
        Ok(())
    }

    fn render(&mut self, _item: u32, map: u32, key: u32, json: bool, out: &mut Writer) -> Result {
        let s = self.states.get(map, key);
        let mean = if s.n > 0 { s.sum / s.n as i64 } else { 0 };
        if json {
            write!(out, "{{\"mean\": {}, \"n\": {}}}", mean, s.n)?;
        } else {
            write!(out, "mean {}, n {}", mean, s.n)?;
        }
        Ok(())
    }

    fn reset(&mut self, _item: u32, map: u32, key: Option<u32>, _keep: bool) -> Result {
        self.states.reset(map, key);
        Ok(())
    }
}

scry_guest::plugin!(Mean: reduce, render, reset);
