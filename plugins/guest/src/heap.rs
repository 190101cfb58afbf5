//! [`Heap`]: the plugin's allocator (the crate's `#[global_allocator]`), a few hundred bytes
//! of wasm where std's dlmalloc is about 8 KiB: scry compiles a smaller plugin faster when it
//! loads it.
//!
//! Blocks come in power-of-two sizes (16 bytes to 2 GiB), one free list per size. A size of
//! 4 KiB or less is carved from a 4 KiB chunk, a larger one is whole 4 KiB pages; chunks and
//! pages come from the end of the wasm memory (`memory.grow`), in order, so every block is
//! aligned to its size (up to 4 KiB). Freed blocks go back to their list and are never
//! returned to the memory, which a wasm memory cannot shrink anyway. A request aligned beyond
//! 4 KiB fails.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::ptr::null_mut;

const CHUNK: usize = 4096;
const PAGE: usize = 65536;
const SMALLEST: usize = 16;

/// The allocator; see the module documentation.
pub struct Heap;

/// The free lists (the first word of a free block points to the next one) and the memory not
/// handed out yet, `next..end`. One instance runs on one thread.
struct Lists {
    free: [usize; 32],
    next: usize,
    end: usize,
}

static mut LISTS: Lists = Lists { free: [0; 32], next: 0, end: 0 };

/// The size of the blocks `layout` takes, as its list's index (log2), or `None` when no block
/// serves it.
fn class(layout: &Layout) -> Option<usize> {
    if layout.align() > CHUNK {
        return None;
    }
    let size = layout.size().max(layout.align()).max(SMALLEST);
    let rounded = size.checked_next_power_of_two()?;
    Some(rounded.trailing_zeros() as usize)
}

impl Lists {
    /// `size` bytes (a multiple of [`CHUNK`]) from the end of the memory, grown as needed.
    fn take(&mut self, size: usize) -> usize {
        if self.end - self.next < size {
            let pages = (size + PAGE - 1) / PAGE;
            let old = wasm32::memory_grow(0, pages);
            if old == usize::MAX {
                return 0;
            }
            if old * PAGE != self.end {
                // The first growth (or memory grown by someone else): start afresh there.
                self.next = old * PAGE;
            }
            self.end = (old + pages) * PAGE;
        }
        let block = self.next;
        self.next += size;
        block
    }

    fn alloc(&mut self, class: usize) -> usize {
        let head = self.free[class];
        if head != 0 {
            // Safety: `head` is a free block of this list; its first word is the next one.
            self.free[class] = unsafe { *(head as *const usize) };
            return head;
        }
        let size = 1usize << class;
        if size >= CHUNK {
            return self.take(size);
        }
        let chunk = self.take(CHUNK);
        if chunk == 0 {
            return 0;
        }
        // The chunk's other blocks go to the list.
        for block in (chunk + size..chunk + CHUNK).step_by(size) {
            self.free(block, class);
        }
        chunk
    }

    fn free(&mut self, block: usize, class: usize) {
        // Safety: `block` is a block of this class that nobody uses any more.
        unsafe { *(block as *mut usize) = self.free[class] };
        self.free[class] = block;
    }
}

fn lists() -> &'static mut Lists {
    // Safety: a wasm instance runs one hook at a time, on one thread, and no call of the
    // allocator keeps the reference.
    unsafe { &mut LISTS }
}

unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class(&layout) {
            Some(class) => lists().alloc(class) as *mut u8,
            None => null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(class) = class(&layout) {
            lists().free(ptr as usize, class);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = Layout::from_size_align_unchecked(new_size, layout.align());
        if let (Some(old), Some(class)) = (class(&layout), class(&new)) {
            if old == class {
                return ptr; // the block has room
            }
        }
        let moved = self.alloc(new);
        if !moved.is_null() {
            core::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        moved
    }
}
