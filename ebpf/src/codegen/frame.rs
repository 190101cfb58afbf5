//! A program's frame: where its values live while it runs, handed out in 8-byte aligned slots
//! below a frame pointer. A program's frame is the 512 bytes of BPF stack below r10, unless it
//! needs more: then it is the value of a per-CPU array map of its own (up to
//! [`SCRATCH_SIZE`] bytes), whose end r9 holds for the whole program.

use crate::insn::{Reg, R10, R9};

/// Bytes of stack a BPF program may use.
pub const STACK_SIZE: usize = 512;

/// Bytes of a scratch frame: a per-CPU array value may hold 32 KiB; offsets below the frame
/// pointer must fit an instruction's 16 bits.
pub const SCRATCH_SIZE: usize = 32760;

/// A bump allocator over the frame. Offsets are negative, relative to `fp`.
pub struct Frame {
    used: usize,
    /// The most ever used (what a scratch map must hold, and the error message's figure).
    pub peak: usize,
    capacity: usize,
    /// The frame pointer: r10 (the stack) or r9 (the end of a scratch map value).
    pub fp: Reg,
}

impl Default for Frame {
    /// The BPF stack.
    fn default() -> Self {
        Frame {
            used: 0,
            peak: 0,
            capacity: STACK_SIZE,
            fp: R10,
        }
    }
}

/// A position to return to with [`Frame::release`].
#[derive(Clone, Copy)]
pub struct Mark(usize);

impl Frame {
    /// A frame in a scratch map value, whose end r9 holds.
    pub fn scratch() -> Frame {
        Frame {
            capacity: SCRATCH_SIZE,
            fp: R9,
            ..Frame::default()
        }
    }

    /// Whether this frame is a scratch map value.
    pub fn is_scratch(&self) -> bool {
        self.fp == R9
    }

    /// Whether an allocation did not fit.
    pub fn overflowed(&self) -> bool {
        self.peak > self.capacity
    }

    /// The bytes the frame may hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Allocates `bytes` (rounded up to 8); returns the fp-relative offset of the slot's start,
    /// or `None` when the frame is full.
    pub fn alloc(&mut self, bytes: usize) -> Option<i16> {
        let bytes = bytes.max(1).next_multiple_of(8);
        if self.used + bytes > self.capacity {
            self.peak = self.peak.max(self.used + bytes);
            return None;
        }
        self.used += bytes;
        self.peak = self.peak.max(self.used);
        Some(-(self.used as i16))
    }

    pub fn mark(&self) -> Mark {
        Mark(self.used)
    }

    /// Frees everything allocated since `mark`.
    pub fn release(&mut self, mark: Mark) {
        self.used = mark.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_downwards_and_releases() {
        let mut f = Frame::default();
        assert_eq!(f.alloc(8), Some(-8));
        let m = f.mark();
        assert_eq!(f.alloc(3), Some(-16));
        f.release(m);
        assert_eq!(f.alloc(16), Some(-24));
        assert_eq!(f.alloc(500), None);
        assert!(f.overflowed());
        let mut s = Frame::scratch();
        assert_eq!(s.alloc(4000), Some(-4000));
        assert_eq!(s.alloc(SCRATCH_SIZE - 4000), Some(-(SCRATCH_SIZE as i16)));
        assert!(!s.overflowed());
    }
}
