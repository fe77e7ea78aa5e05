//! relutui's global allocator: the system allocator, with a few freed large blocks kept for the
//! next request of the same size.
//!
//! Why: the dense products of evaluation and of the claims go through the `gemm` crate, which
//! allocates its packing buffer inside every call (2,048,000 bytes for a 1000-wide layer on a
//! Sapphire Rapids-class KVM, 474 times in a default epoch, heaptrack) and frees it at the end.
//! glibc raises its mmap threshold to the size of the first such block freed, serves the
//! rest from the heap and keeps the freed space: a default three-epoch run peaked at 158-182
//! MB resident there (against about 110 MB of live data), and 113-117 MB with the threshold
//! pinned by `MALLOC_MMAP_THRESHOLD_`, at about 10 % more wall time for the fresh pages. Handing
//! the same block back instead keeps the pages and never lets the heap grow around them.
//!
//! Only blocks from [`MIN_BLOCK`] to [`MAX_BLOCK`] bytes are kept, at most [`SLOTS`] of them and
//! [`MAX_KEPT`] bytes in all, and a block is reused only for a request of exactly its size and
//! alignment, so every block reaches [`System::dealloc`] at last with the layout it was
//! allocated with. Zeroed requests and reallocations go to the system allocator (a kept block
//! would have to be cleared, and `realloc` may grow in place).
//!
//! A `GlobalAlloc` can only be implemented with `unsafe impl`: this module allows
//! `unsafe_code` for that alone. The cache is a `Mutex` around plain numbers, which never
//! allocates.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::{Mutex, MutexGuard};

/// Smaller blocks are glibc's own business (its default mmap threshold is 128 KiB).
pub const MIN_BLOCK: usize = 128 * 1024;
/// Larger blocks are rare (weights, datasets) and go back at once.
pub const MAX_BLOCK: usize = 4 * 1024 * 1024;
/// Blocks kept at once: a few threads' packing buffers.
pub const SLOTS: usize = 8;
/// Bytes kept at once.
pub const MAX_KEPT: usize = 16 * 1024 * 1024;

/// A freed block: its address and the layout it was allocated with.
#[derive(Clone, Copy)]
struct Kept {
    addr: usize,
    layout: Layout,
}

struct Slots {
    kept: [Option<Kept>; SLOTS],
    bytes: usize,
}

/// The system allocator with freed blocks of [`MIN_BLOCK`]..=[`MAX_BLOCK`] bytes kept for reuse.
pub struct ReusingAllocator {
    slots: Mutex<Slots>,
}

impl ReusingAllocator {
    pub const fn new() -> Self {
        Self {
            slots: Mutex::new(Slots {
                kept: [None; SLOTS],
                bytes: 0,
            }),
        }
    }

    /// Bytes kept now.
    pub fn kept_bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        // Nothing here panics while holding the lock; a poisoned one holds consistent numbers.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cached(layout: Layout) -> bool {
        (MIN_BLOCK..=MAX_BLOCK).contains(&layout.size())
    }
}

impl Default for ReusingAllocator {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every block handed out comes from `System` with exactly the layout asked for (a
// kept block is reused only for a request of its own size and alignment, and the caller owns
// it alone from then on), and every block goes back to `System` with the layout it came with.
// The slots are behind a `Mutex`, and holding it never allocates.
unsafe impl GlobalAlloc for ReusingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::cached(layout) {
            let mut slots = self.lock();
            let hit = slots
                .kept
                .iter_mut()
                .find(|k| k.is_some_and(|k| k.layout == layout));
            if let Some(slot) = hit {
                let block = slot.take().expect("found as Some");
                slots.bytes -= layout.size();
                return block.addr as *mut u8;
            }
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if Self::cached(layout) {
            let mut slots = self.lock();
            if slots.bytes + layout.size() <= MAX_KEPT {
                if let Some(free) = slots.kept.iter_mut().find(|k| k.is_none()) {
                    *free = Some(Kept {
                        addr: ptr as usize,
                        layout,
                    });
                    slots.bytes += layout.size();
                    return;
                }
            }
        }
        // SAFETY: `ptr` came from `System` with `layout` (see the impl's comment).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`, kept or not.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn a_freed_large_block_serves_the_next_request_of_its_size_and_alignment() {
        let a = ReusingAllocator::new();
        let l = layout(2_048_000, 128);
        unsafe {
            let p = a.alloc(l);
            assert!(!p.is_null());
            assert_eq!(p as usize % 128, 0);
            p.write_bytes(7, l.size());
            a.dealloc(p, l);
            assert_eq!(a.kept_bytes(), l.size());
            // Another size or alignment is not served from it.
            let other = a.alloc(layout(2_048_000, 64));
            assert_ne!(other, p);
            let q = a.alloc(l);
            assert_eq!(q, p, "the kept block comes back");
            assert_eq!(a.kept_bytes(), 0);
            assert_eq!(*q.add(l.size() - 1), 7, "and is the same memory");
            a.dealloc(q, l);
            a.dealloc(other, layout(2_048_000, 64));
            assert_eq!(a.kept_bytes(), 2 * l.size());
        }
    }

    #[test]
    fn small_huge_and_surplus_blocks_go_back_to_the_system() {
        let a = ReusingAllocator::new();
        unsafe {
            for size in [64, MIN_BLOCK - 1, MAX_BLOCK + 1] {
                let l = layout(size, 8);
                let p = a.alloc(l);
                a.dealloc(p, l);
                assert_eq!(a.kept_bytes(), 0, "{size} bytes are not kept");
            }
            // More blocks than slots: the surplus is freed, not kept.
            let l = layout(MIN_BLOCK, 16);
            let blocks: Vec<*mut u8> = (0..SLOTS + 3).map(|_| a.alloc(l)).collect();
            for &p in &blocks {
                a.dealloc(p, l);
            }
            assert_eq!(a.kept_bytes(), SLOTS * MIN_BLOCK);
            // More bytes than MAX_KEPT: only MAX_KEPT are kept.
            let b = ReusingAllocator::new();
            let big = layout(MAX_BLOCK, 16);
            let more: Vec<*mut u8> = (0..SLOTS).map(|_| b.alloc(big)).collect();
            for &p in &more {
                b.dealloc(p, big);
            }
            assert_eq!(b.kept_bytes(), MAX_KEPT);
            const {
                assert!(
                    MAX_KEPT < SLOTS * MAX_BLOCK,
                    "so the bound is what stops it"
                );
            };
            // Every kept block is handed out again exactly once.
            let again: Vec<*mut u8> = (0..SLOTS).map(|_| a.alloc(l)).collect();
            let mut unique = again.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), SLOTS);
            for p in again {
                a.dealloc(p, l);
            }
        }
    }

    #[test]
    fn zeroed_requests_are_zero_even_after_a_block_of_their_size_was_kept() {
        let alloc = ReusingAllocator::new();
        let size = MIN_BLOCK * 2;
        let l = layout(size, 64);
        unsafe {
            let dirty = alloc.alloc(l);
            dirty.write_bytes(0xff, size);
            alloc.dealloc(dirty, l);
            let zeroed = alloc.alloc_zeroed(l);
            let bytes = std::slice::from_raw_parts(zeroed, size);
            assert!(bytes.iter().all(|&byte| byte == 0));
            let mut grown = alloc.realloc(zeroed, l, size * 2);
            assert!(!grown.is_null());
            grown = alloc.realloc(grown, layout(size * 2, 64), 100);
            alloc.dealloc(grown, layout(100, 64));
        }
    }
}
