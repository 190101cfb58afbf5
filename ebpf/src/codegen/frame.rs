//! The BPF stack frame: 512 bytes below r10, handed out in 8-byte aligned slots.

/// Bytes of stack a BPF program may use.
pub const STACK_SIZE: usize = 512;

/// A bump allocator over the frame. Offsets are negative, relative to r10.
#[derive(Default)]
pub struct Frame {
    used: usize,
    /// The most ever used, for the error message.
    pub peak: usize,
}

/// A position to return to with [`Frame::release`].
#[derive(Clone, Copy)]
pub struct Mark(usize);

impl Frame {
    /// Allocates `bytes` (rounded up to 8); returns the r10-relative offset of the slot's start,
    /// or `None` when the frame is full.
    pub fn alloc(&mut self, bytes: usize) -> Option<i16> {
        let bytes = bytes.max(1).next_multiple_of(8);
        if self.used + bytes > STACK_SIZE {
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
        assert!(f.peak > STACK_SIZE);
    }
}
