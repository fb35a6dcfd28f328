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
//!
//! The same allocator enforces the build's memory limit ([`limit_memory`]):
//! QuickJS's allocations fail once they would pass it, and the build fails
//! with `out of memory` instead of growing towards 4 GiB.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

/// The most QuickJS may hold while the limit is on, in bytes (0: off).
static LIMIT: AtomicUsize = AtomicUsize::new(0);
/// What QuickJS holds of the blocks allocated while the limit was on.
static IN_USE: AtomicUsize = AtomicUsize::new(0);
/// The limit an allocation was refused for; 0 until one is.
static EXCEEDED: AtomicUsize = AtomicUsize::new(0);

/// Refuses QuickJS's allocations that would take it past `bytes`, until
/// [`lift_memory_limit`]. Set it before the runtime is created, so that
/// every block is counted.
pub(crate) fn limit_memory(bytes: usize) {
    IN_USE.store(0, Ordering::Relaxed);
    LIMIT.store(bytes.max(1), Ordering::Relaxed);
}

/// Ends the limit (before the snapshot: a run is bounded by its host).
pub(crate) fn lift_memory_limit() {
    LIMIT.store(0, Ordering::Relaxed);
}

/// The limit, if an allocation was refused for it.
pub(crate) fn exceeded_memory_limit() -> Option<usize> {
    Some(EXCEEDED.load(Ordering::Relaxed)).filter(|&limit| limit != 0)
}

fn limited() -> bool {
    LIMIT.load(Ordering::Relaxed) != 0
}

/// Whether `more` bytes fit under the limit (always, when it is off).
fn admit(more: usize) -> bool {
    let limit = LIMIT.load(Ordering::Relaxed);
    if limit == 0 || IN_USE.load(Ordering::Relaxed).saturating_add(more) <= limit {
        return true;
    }
    EXCEEDED.store(limit, Ordering::Relaxed);
    false
}

/// Counts a new block of QuickJS's, or one it gave back.
///
/// # Safety
///
/// `ptr` is null or a live block of wasi-libc's malloc.
unsafe fn count(ptr: *mut u8, allocated: bool) {
    if !limited() || ptr.is_null() {
        return;
    }
    // SAFETY: forwarded contract.
    let size = unsafe { malloc_usable_size(ptr.cast()) };
    if allocated {
        IN_USE.fetch_add(size, Ordering::Relaxed);
    } else {
        let _ = IN_USE.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| Some(used.saturating_sub(size)));
    }
}

/// QuickJS's allocator: wasi-libc's malloc, zeroing on free while scrubbing
/// and refusing what would pass the build's memory limit.
pub(crate) struct QuickJsAllocator;

// SAFETY: every pointer comes from wasi-libc's malloc family, which returns
// null or memory aligned for any type, and `usable_size` is its own answer.
unsafe impl rquickjs::allocator::Allocator for QuickJsAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !admit(size) {
            return std::ptr::null_mut();
        }
        // SAFETY: plain malloc; `count` gets its result.
        let ptr: *mut u8 = unsafe { malloc(size).cast() };
        unsafe { count(ptr, true) };
        arenas::track(ptr, size);
        ptr
    }

    fn calloc(&mut self, count_: usize, size: usize) -> *mut u8 {
        if !admit(count_.saturating_mul(size)) {
            return std::ptr::null_mut();
        }
        // SAFETY: plain calloc; `count` gets its result.
        let ptr: *mut u8 = unsafe { calloc(count_, size).cast() };
        unsafe { count(ptr, true) };
        ptr
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        // SAFETY: `ptr` came from this allocator (trait contract).
        unsafe {
            count(ptr, false);
            if scrubbing() && !ptr.is_null() {
                arenas::untrack(ptr);
                zero(ptr, malloc_usable_size(ptr.cast()));
            }
            free(ptr.cast());
        }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator (trait contract); the copy
        // stays within both blocks.
        unsafe {
            if limited() && !ptr.is_null() {
                let old_size = malloc_usable_size(ptr.cast());
                if !admit(new_size.saturating_sub(old_size)) {
                    return std::ptr::null_mut();
                }
            }
            if !scrubbing() || ptr.is_null() {
                count(ptr, false);
                let moved: *mut u8 = realloc(ptr.cast(), new_size).cast();
                // A failed realloc leaves the block where it was.
                count(if moved.is_null() { ptr } else { moved }, true);
                return moved;
            }
            // Move by hand so that the old block is zeroed before it is freed
            // (an in-place shrink would free its tail uncleared).
            let moved: *mut u8 = malloc(new_size).cast();
            if moved.is_null() {
                return moved;
            }
            count(moved, true);
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

/// QuickJS-NG's small-block arenas, which `free` never sees.
///
/// QuickJS-NG serves allocations of up to 512 bytes from arenas of about
/// 4 KiB (`JSArena` in quickjs.c), one per block size, each allocated
/// through [`QuickJsAllocator`]. A freed small block goes back on its
/// arena's free list, and only an arena left empty is freed (and so zeroed
/// here): the parser's small temporaries, and in function mode whatever the
/// top level dropped, would ship in every module. While scrubbing, the
/// allocations that may be arenas (by their size) are tracked, and at the end
/// of initialization [`super::zero_free_arena_blocks`] zeroes the free blocks of
/// each.
///
/// QuickJS allocates through us only arenas and *large blocks* (anything
/// over 512 bytes, the program's data included), so a block of an arena's
/// size may be either. QuickJS tells them apart itself: a large block's
/// header starts with `block_idx = JS_ARENA_FREE_NIL` and `block_size_idx =
/// 0xff`, written by QuickJS before the program's bytes (which start 8 bytes
/// in) and never by the program, while an arena starts with an aligned
/// pointer (`free_link.prev`, never `0xffff` in its low half). A tagged block
/// is never taken for an arena, whatever data it holds. The layout below is
/// quickjs.c's (rquickjs-sys 0.14) for wasm32; an arena whose header and free
/// list do not check out exactly is left alone, so a layout change costs
/// size, never correctness.
mod arenas {
    use std::cell::RefCell;

    /// `JS_ARENA_SIZE`.
    const ARENA_SIZE: usize = 4096;
    /// `sizeof(JSArena)` on wasm32: two `list_head`s (8 bytes each), then
    /// `block_size_idx: u8` at 16, `n_used_blocks: u16` at 18, `n_blocks:
    /// u16` at 20, `first_free_block: u16` at 22; blocks from 24.
    const ARENA_HEADER: usize = 24;
    /// `sizeof(JSMallocBlockHeader)`: `free_next: u16` at 0,
    /// `block_size_idx: u8` at 2; the block's data from 8.
    const BLOCK_HEADER: usize = 8;
    /// `JS_ARENA_FREE_NIL`.
    const FREE_NIL: u16 = 0xffff;
    /// A large block's `block_size_idx` (`arena_malloc_large`).
    const LARGE_BLOCK_SIZE_IDX: u8 = 0xff;
    /// `arena_block_sizes`.
    const BLOCK_SIZES: [usize; 31] = [
        16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448,
        480, 512,
    ];

    thread_local! {
        /// Live allocations of an arena's size, made while scrubbing:
        /// (address, size), sorted by address. A sorted `Vec` rather than a
        /// map type, whose code would ship in every module: inserts (only
        /// arena-sized allocations) are rare, lookups (every free) are a
        /// binary search.
        static CANDIDATES: RefCell<Vec<(usize, usize)>> = const { RefCell::new(Vec::new()) };
    }

    /// The allocation size of an arena of blocks of `block_size` bytes
    /// (`arena_new`).
    fn arena_bytes(block_size: usize) -> usize {
        ARENA_HEADER + (ARENA_SIZE - ARENA_HEADER) / block_size * block_size
    }

    pub(super) fn track(ptr: *mut u8, size: usize) {
        if super::scrubbing() && !ptr.is_null() && BLOCK_SIZES.iter().any(|&b| arena_bytes(b) == size) {
            let at = ptr as usize;
            CANDIDATES.with(|c| {
                let mut candidates = c.borrow_mut();
                if let Err(i) = candidates.binary_search_by_key(&at, |&(a, _)| a) {
                    candidates.insert(i, (at, size));
                }
            });
        }
    }

    pub(super) fn untrack(ptr: *mut u8) {
        let at = ptr as usize;
        CANDIDATES.with(|c| {
            let mut candidates = c.borrow_mut();
            if let Ok(i) = candidates.binary_search_by_key(&at, |&(a, _)| a) {
                candidates.remove(i);
            }
        });
    }

    /// Zeroes the data of every free block of every arena. Returns how many
    /// blocks were zeroed.
    ///
    /// The candidates are kept: the shared engine of dynamic modules is
    /// initialized in two sessions (the engine, then in each build the
    /// program), and the program's garbage lands in the engine's arenas as
    /// well as in its own. Forgetting them would free the list, which the
    /// program's patch would then carry as changed bytes; kept, it costs a
    /// few hundred bytes of every snapshot.
    pub(crate) fn zero_free_blocks() -> usize {
        CANDIDATES.with(|c| {
            let candidates = c.borrow();
            let mut zeroed = 0;
            for &(at, size) in candidates.iter() {
                // SAFETY: `at..at + size` is a live allocation of QuickJS's (it
                // was not freed: freeing untracks it), so readable and, as its
                // free blocks are nobody's, those may be written.
                let bytes = unsafe { std::slice::from_raw_parts_mut(at as *mut u8, size) };
                if let Some(free) = free_blocks(bytes) {
                    for range in free {
                        bytes[range].fill(0);
                        zeroed += 1;
                    }
                }
            }
            zeroed
        })
    }

    fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
    }

    /// The data ranges of the free blocks of `arena`, or `None` unless it is
    /// an arena whose header and free list are exactly consistent.
    fn free_blocks(arena: &[u8]) -> Option<Vec<std::ops::Range<usize>>> {
        if u16_at(arena, 0)? == FREE_NIL && *arena.get(2)? == LARGE_BLOCK_SIZE_IDX {
            return None; // a large block: the program's data
        }
        let size_idx = usize::from(*arena.get(16)?);
        let block_size = *BLOCK_SIZES.get(size_idx)?;
        let n_blocks = usize::from(u16_at(arena, 20)?);
        let n_used = usize::from(u16_at(arena, 18)?);
        if arena.len() != arena_bytes(block_size) || n_blocks != (ARENA_SIZE - ARENA_HEADER) / block_size || n_used > n_blocks {
            return None;
        }
        let mut seen = vec![false; n_blocks];
        let mut free = Vec::new();
        let mut next = u16_at(arena, 22)?;
        while next != FREE_NIL {
            let index = usize::from(next);
            if index >= n_blocks || seen[index] {
                return None;
            }
            seen[index] = true;
            let start = ARENA_HEADER + index * block_size;
            if usize::from(*arena.get(start + 2)?) != size_idx {
                return None;
            }
            free.push(start + BLOCK_HEADER..start + block_size);
            next = u16_at(arena, start)?;
        }
        (free.len() == n_blocks - n_used).then_some(free)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// An arena of 512-byte blocks, 6 of 7 used, block 0 free.
        fn arena() -> Vec<u8> {
            let mut bytes = vec![0x11; arena_bytes(512)];
            bytes[..4].copy_from_slice(&0x0001_0008u32.to_le_bytes()); // free_link.prev
            bytes[16] = 30;
            bytes[18..20].copy_from_slice(&6u16.to_le_bytes());
            bytes[20..22].copy_from_slice(&7u16.to_le_bytes());
            bytes[22..24].copy_from_slice(&0u16.to_le_bytes());
            bytes[24..26].copy_from_slice(&FREE_NIL.to_le_bytes());
            bytes[26] = 30;
            bytes
        }

        #[test]
        fn finds_the_free_blocks_of_an_arena() {
            assert_eq!(free_blocks(&arena()), Some(vec![ARENA_HEADER + BLOCK_HEADER..ARENA_HEADER + 512]));
            let mut broken = arena();
            broken[18] = 5; // two blocks said free, one on the list
            assert_eq!(free_blocks(&broken), None);
        }

        #[test]
        fn a_large_block_holding_data_shaped_like_an_arena_is_left_alone() {
            let mut block = arena();
            block[..2].copy_from_slice(&FREE_NIL.to_le_bytes());
            block[2] = LARGE_BLOCK_SIZE_IDX;
            assert_eq!(free_blocks(&block), None);
        }
    }
}

/// Zeroes the free small blocks of QuickJS-NG's arenas (see [`arenas`]);
/// call at the end of initialization, while still scrubbing.
pub(crate) fn zero_free_arena_blocks() -> usize {
    arenas::zero_free_blocks()
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
