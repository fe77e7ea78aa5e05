//! A global allocator for test binaries that counts, per thread, the bytes allocated and not
//! yet freed, so that a test can bound the memory a piece of code holds.
//!
//! Counting allocations needs a `GlobalAlloc`, which can only be implemented with
//! `unsafe impl`: this module alone allows `unsafe_code`. Every method forwards to the system
//! allocator unchanged and only adds to thread-local counters.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Forwards to [`System`], counting the live bytes of the calling thread while tracking.
struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// A size as a signed count (no allocation comes near `isize::MAX`).
fn signed(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

fn count(delta: isize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            let _ = LIVE.try_with(|l| {
                let now = l.get() + delta;
                l.set(now);
                let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
            });
        }
    });
}

// SAFETY: every method forwards to `System` with the same arguments, so the allocator
// contract is `System`'s; the counting only touches thread-local `Cell`s, which never
// allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(signed(layout.size()));
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(signed(layout.size()));
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) };
        count(-signed(layout.size()));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as if old and new coexisted for a moment: the stricter reading.
            count(signed(new_size));
            count(-signed(layout.size()));
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` with this thread's counters from zero; its result, the peak of the bytes
/// allocated during it and not yet freed, and those still live at its end (the result's
/// included).
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    let peak = PEAK.with(Cell::get).max(0) as usize;
    let live = LIVE.with(Cell::get).max(0) as usize;
    (out, peak, live)
}

/// [`measure`]'s result and peak.
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub fn peak_bytes<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let (out, peak, _) = measure(f);
    (out, peak)
}
