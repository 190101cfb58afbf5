//! `.watch @m SECS`: a map printed every SECS seconds until Ctrl-C.

use std::time::{Duration, Instant};

/// A map being watched.
#[derive(Clone, Debug)]
pub struct Watch {
    /// The map's name, without `@`.
    pub map: String,
    every: Duration,
    next: Instant,
}

impl Watch {
    /// Watches `map`, first printed at once.
    pub fn new(map: String, every: Duration) -> Self {
        Watch {
            map,
            every,
            next: Instant::now(),
        }
    }

    /// Milliseconds until the next print (for `epoll_wait`), at least 0.
    pub fn timeout_ms(&self) -> i32 {
        let left = self.next.saturating_duration_since(Instant::now());
        left.as_millis().min(i32::MAX as u128) as i32
    }

    /// Whether the map is due now; if so, the next print is scheduled.
    pub fn due(&mut self) -> bool {
        let now = Instant::now();
        if now < self.next {
            return false;
        }
        while self.next <= now {
            self.next += self.every;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_at_once_then_every_period() {
        let mut w = Watch::new("x".into(), Duration::from_millis(40));
        assert_eq!(w.timeout_ms(), 0);
        assert!(w.due());
        assert!(!w.due());
        assert!(w.timeout_ms() > 20 && w.timeout_ms() <= 40);
        std::thread::sleep(Duration::from_millis(45));
        assert!(w.due());
        assert!(!w.due());
    }
}
