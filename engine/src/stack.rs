//! QuickJS's recursion limit on wasm32-wasi.
//!
//! QuickJS raises `RangeError: Maximum call stack size exceeded` when the C
//! stack pointer passes `JSRuntime::stack_limit`. On `__wasi__` QuickJS-NG
//! pins that limit to 0 ("no limit"), so `JS_SetMaxStackSize` does nothing
//! and deep recursion runs off the end of the stack instead: an
//! out-of-bounds trap, or the host's own stack overflow, which no program can
//! catch. The C stack pointer does work on wasm (it is the shadow stack in
//! linear memory), so this sets the limit field directly.
//!
//! `JSRuntime` is private to quickjs.c, so the field is found rather than
//! named: `stack_size`, `stack_top` and `stack_limit` are consecutive
//! `uintptr_t` fields, and `stack_size` is the word that follows
//! `JS_SetMaxStackSize`. Every step is checked; a layout this does not
//! recognise is an error (the build fails), never a guess.

use rquickjs::{Ctx, qjs};

/// How far into the runtime struct to look for `stack_size`: it comes after
/// the allocator's arena lists, about 160 words in. The scan stops at the
/// first match, so it never reads past the field.
const SCAN_WORDS: usize = 400;

/// Makes QuickJS throw a `RangeError` once its stack use passes `size` bytes
/// below the stack top recorded when the runtime was created.
pub(crate) fn install_limit(ctx: &Ctx<'_>, size: usize) -> Result<(), String> {
    // SAFETY: the context is alive, so is its runtime.
    let rt = unsafe { qjs::JS_GetRuntime(ctx.as_raw().as_ptr()) };
    let words = rt.cast::<usize>();
    // SAFETY (every read): `rt` points at a live, word-aligned JSRuntime;
    // reads stop at the first word holding the sentinel, which is
    // `stack_size` (about 160 words in), and then read the two fields after
    // it.
    let word = |i: usize| unsafe { words.add(i).read() };
    const FIRST: usize = 0x4b1f_0001;
    const SECOND: usize = 0x4b1f_0002;
    unsafe { qjs::JS_SetMaxStackSize(rt, FIRST as qjs::size_t) };
    let Some(index) = (0..SCAN_WORDS).find(|&i| word(i) == FIRST) else {
        return Err("cannot find QuickJS's stack size field".into());
    };
    unsafe { qjs::JS_SetMaxStackSize(rt, SECOND as qjs::size_t) };
    if word(index) != SECOND {
        return Err("cannot find QuickJS's stack size field".into());
    }
    let (top, limit) = (word(index + 1), word(index + 2));
    if limit != 0 || top <= size {
        return Err(format!("unexpected QuickJS stack fields (top {top:#x}, limit {limit:#x})"));
    }
    let size_t = qjs::size_t::try_from(size).map_err(|_| format!("stack limit {size} does not fit size_t"))?;
    unsafe {
        qjs::JS_SetMaxStackSize(rt, size_t);
        // SAFETY: index + 2 is `stack_limit`, checked above.
        words.add(index + 2).write(top - size);
    }
    Ok(())
}
