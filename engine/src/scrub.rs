//! Keeping build-time garbage out of the snapshot.
//!
//! Wizer writes every non-zero byte of linear memory into the output module.
//! Initialization allocates and frees a lot (the init input, the parser's
//! buffers, temporary strings) and recurses deeply (the parser), and neither
//! `free` nor returning from a function clears memory: left alone, all of it
//! would ship in every module. So while the engine initializes, freed memory
//! is zeroed — for QuickJS's allocations ([`QuickJsAllocator`]) and Rust's
//! ([`ScrubbingAllocator`]) — and at the end the unused part of the stack is
//! cleared ([`clear_unused_stack`]). At run time none of this costs anything
//! beyond one flag test per free.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};

static SCRUBBING: AtomicBool = AtomicBool::new(false);

/// Zero freed memory from now until [`stop`].
pub(crate) fn start() {
    SCRUBBING.store(true, Ordering::Relaxed);
}

/// Stop zeroing freed memory (before the snapshot, so runs never pay for it).
pub(crate) fn stop() {
    SCRUBBING.store(false, Ordering::Relaxed);
}

fn scrubbing() -> bool {
    SCRUBBING.load(Ordering::Relaxed)
}

unsafe extern "C" {
    // wasi-libc's dlmalloc, which Rust's `System` allocator also uses.
    fn malloc(size: usize) -> *mut c_void;
    fn calloc(count: usize, size: usize) -> *mut c_void;
    fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
    fn malloc_usable_size(ptr: *mut c_void) -> usize;
    // Not `ptr::write_bytes`: LLVM knows `free`, and deletes a memset of a
    // block that is about to be freed as a dead store (it did: the first
    // version of this module zeroed nothing). wasi-libc's `explicit_bzero`
    // is outside LTO and documented never to be elided.
    fn explicit_bzero(ptr: *mut c_void, size: usize);
}

/// Zeroes `size` bytes at `ptr`, in a way no optimization removes.
///
/// # Safety
///
/// `ptr..ptr + size` must be writable.
unsafe fn zero(ptr: *mut u8, size: usize) {
    // SAFETY: forwarded contract.
    unsafe { explicit_bzero(ptr.cast(), size) }
}

/// QuickJS's allocator: wasi-libc's malloc, zeroing on free while scrubbing.
pub(crate) struct QuickJsAllocator;

// SAFETY: every pointer comes from wasi-libc's malloc family, which returns
// null or memory aligned for any type, and `usable_size` is its own answer.
unsafe impl rquickjs::allocator::Allocator for QuickJsAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        // SAFETY: plain malloc.
        unsafe { malloc(size).cast() }
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        // SAFETY: plain calloc.
        unsafe { calloc(count, size).cast() }
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        // SAFETY: `ptr` came from this allocator (trait contract).
        unsafe {
            if scrubbing() && !ptr.is_null() {
                zero(ptr, malloc_usable_size(ptr.cast()));
            }
            free(ptr.cast());
        }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator (trait contract); the copy
        // stays within both blocks.
        unsafe {
            if !scrubbing() || ptr.is_null() {
                return realloc(ptr.cast(), new_size).cast();
            }
            // Move by hand so that the old block is zeroed before it is freed
            // (an in-place shrink would free its tail uncleared).
            let moved: *mut u8 = malloc(new_size).cast();
            if moved.is_null() {
                return moved;
            }
            let old_size = malloc_usable_size(ptr.cast());
            std::ptr::copy_nonoverlapping(ptr, moved, old_size.min(new_size));
            self.dealloc(ptr);
            moved
        }
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        // SAFETY: `ptr` came from this allocator (trait contract).
        unsafe { malloc_usable_size(ptr.cast()) }
    }
}

/// Rust's global allocator: `System`, zeroing on free while scrubbing.
pub(crate) struct ScrubbingAllocator;

// SAFETY: delegates to `System`; zeroing touches only the block being freed.
unsafe impl GlobalAlloc for ScrubbingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout` (GlobalAlloc contract).
        unsafe {
            if scrubbing() {
                zero(ptr, layout.size());
            }
            System.dealloc(ptr, layout);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract; the copy stays within both blocks.
        unsafe {
            if !scrubbing() {
                return System.realloc(ptr, layout, new_size);
            }
            let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
                return std::ptr::null_mut();
            };
            let moved = System.alloc(new_layout);
            if !moved.is_null() {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            moved
        }
    }
}

#[cfg(target_family = "wasm")]
unsafe extern "C" {
    /// The lowest address of the shadow stack (defined by wasm-ld).
    static __stack_low: u8;
}

/// Zeroes the part of the shadow stack below the caller's frame: whatever
/// deeper calls (the parser's recursion) left there.
///
/// The stack grows down from `__stack_high` to `__stack_low`. A margin below
/// the current frame is left alone, for the frames of this function's own
/// callees.
#[cfg(target_family = "wasm")]
#[inline(never)]
pub(crate) fn clear_unused_stack() {
    const MARGIN: usize = 16 * 1024;
    let marker = 0u8;
    let here = std::ptr::addr_of!(marker) as usize;
    // SAFETY: `__stack_low` is a linker-defined symbol; only its address is
    // used.
    let low = std::ptr::addr_of!(__stack_low) as usize;
    let end = here.saturating_sub(MARGIN);
    if end > low {
        // SAFETY: [low, end) is stack memory below every live frame (the
        // margin covers the frames of the calls made from here).
        unsafe { zero(low as *mut u8, end - low) };
    }
}

/// Natively (unit tests) there is no snapshot and no shadow stack.
#[cfg(not(target_family = "wasm"))]
pub(crate) fn clear_unused_stack() {}
