//! QuickJS's recursion limit on wasm32-wasi, sized for the host's stack.
//!
//! A module's frames live on two stacks. QuickJS's C code keeps its arrays
//! and address-taken locals (a JavaScript call's arguments, locals and value
//! stack among them) on the *shadow* stack in linear memory, 4 MiB of it
//! (see build.rs). Everything else — every wasm frame as the host compiles
//! it — lives on the *native* stack the host gives wasm code: 512 KiB in
//! wasmtime's default configuration (the `wasmtime` CLI and its Python, Go,
//! .NET and C embeddings), about 1 MB shared with JavaScript under Node and
//! in browsers, 16 MiB under `kiln run`. Running out of the native stack is
//! a trap no program can catch, and the host throws away the module's
//! unflushed output with it.
//!
//! QuickJS raises `RangeError: Maximum call stack size exceeded` when the C
//! stack pointer (the shadow stack's) passes `JSRuntime::stack_limit`. So
//! the limit is a shadow-stack *budget* chosen so that the native stack the
//! same recursion uses stays within what the host gives: every recursion
//! path in QuickJS uses at most [`NATIVE_PER_SHADOW`] native bytes per
//! shadow byte (measured on wasmtime's Cranelift, the worst of the hosts;
//! see the README's stack table).
//!
//! A module cannot ask its host how much native stack it has. It assumes
//! the least a common host gives ([`DEFAULT_BUDGET`]) unless told more: at build time by `kiln build --stack-size` (the cell's initial
//! value), or at run time by `kiln run`, which writes its own stack size
//! into [`HOST_STACK`] before calling `_start` (the compiler records the
//! cell's address in the module's `kiln.host-stack` custom section; other
//! hosts ignore that section and get the safe default).
//!
//! On `__wasi__` QuickJS-NG pins the limit to 0 ("no limit"), so
//! `JS_SetMaxStackSize` does nothing; this sets the limit field directly.
//! `JSRuntime` is private to quickjs.c, so the field is found rather than
//! named: `stack_size`, `stack_top` and `stack_limit` are consecutive
//! `uintptr_t` fields, and `stack_size` is the word that follows
//! `JS_SetMaxStackSize`. Every step is checked; a layout this does not
//! recognise is an error (the build fails), never a guess.

use rquickjs::{Ctx, qjs};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// The budget when the host has not said its stack (every host but `kiln
/// run` and `examples/run-node.mjs`). Two limits meet here: wasmtime's
/// default 512 KiB of native stack (`budget_for(512 KiB)` is 96 KiB) and
/// wasmi's default of at most 1,000 nested wasm calls, whatever their size
/// (a getter or proxy recursion makes about three wasm calls per
/// JavaScript level, ~90 shadow bytes per call). 64 KiB keeps every tested
/// recursion path under both, and under node:wasi's and Chromium's ~1 MB.
/// QuickJS compiled for size keeps less on the shadow stack per call (so
/// more calls fit a budget): 24 KiB. Measured on wasmi with every path of
/// `compiler/tests/all/hosts.rs`: the first budget that trapped was 96 KiB
/// (default engine: getters, proxies) and 36 KiB (`--lean`: `join` of
/// nested arrays).
#[cfg(not(kiln_lean))]
const DEFAULT_BUDGET: usize = 64 * 1024;
#[cfg(kiln_lean)]
const DEFAULT_BUDGET: usize = 24 * 1024;

/// Native bytes a recursion may use per shadow byte, with a margin: the
/// worst of QuickJS's recursion paths (JavaScript calls, and native
/// recursion through getters, proxies, `toString`, `map`, `sort`...) as
/// Cranelift compiles the engine. Measured at 512 KiB (bytes of native per
/// byte of shadow stack at the deepest level that did not trap): default
/// engine 2.0 (`structuredClone`) to 3.5 (getter), `--lean` 2.2 to 5.9
/// (bound functions). The JSON and regexp parsers, which keep almost
/// nothing on the shadow stack, are charged shadow bytes by the compiler's
/// rewrite (`SHADOW_CHARGES` in compiler/src/rewrite.rs) to stay within it.
#[cfg(not(kiln_lean))]
const NATIVE_PER_SHADOW: u32 = 4;
#[cfg(kiln_lean)]
const NATIVE_PER_SHADOW: u32 = 7;

/// Native stack kept back for what runs past the last check: the host's
/// own frames below `_start`, the engine's frames above the first
/// JavaScript call, and the error path (building the `RangeError` and its
/// stack trace) once the limit is hit.
const NATIVE_RESERVE: u32 = 128 * 1024;

/// The most of the shadow stack QuickJS may use; the rest (512 KiB) is the
/// margin for C frames below the last check (see build.rs).
const MAX_BUDGET: usize = kiln_abi::stack::SHADOW_STACK - 512 * 1024;

/// The least budget, however small the host says its stack is: below this
/// even a short program cannot run.
const MIN_BUDGET: usize = 16 * 1024;

/// The native stack the host gives, in bytes; 0 means "not said". Written by
/// `kiln run` before `_start` (and set at build time by `--stack-size`).
// The name is `kiln_abi::stack::HOST_STACK_EXPORT` (an attribute takes a
// literal); the rewrite fails the build if the two disagree.
#[cfg_attr(target_family = "wasm", unsafe(export_name = "kiln.host_stack"))]
pub static HOST_STACK: AtomicU32 = AtomicU32::new(0);

/// The address of QuickJS's `stack_limit` field and the stack top it is
/// measured from, found once at build time (kept in the snapshot).
static LIMIT_FIELD: AtomicUsize = AtomicUsize::new(0);
static STACK_TOP: AtomicUsize = AtomicUsize::new(0);

/// How far into the runtime struct to look for `stack_size`: it comes after
/// the allocator's arena lists, about 160 words in. The scan stops at the
/// first match, so it never reads past the field.
const SCAN_WORDS: usize = 400;

/// The shadow-stack budget for a host that gives `native` bytes of stack.
pub(crate) fn budget_for(native: u32) -> usize {
    if native == 0 {
        return DEFAULT_BUDGET;
    }
    let usable = native.saturating_sub(NATIVE_RESERVE) / NATIVE_PER_SHADOW;
    (usable as usize).clamp(MIN_BUDGET, MAX_BUDGET)
}

/// Makes QuickJS throw a `RangeError` once its stack use passes `budget`
/// bytes below the stack top recorded when the runtime was created, and
/// remembers where the limit lives for [`apply_host_stack`].
pub(crate) fn install_limit(ctx: &Ctx<'_>, budget: usize) -> Result<(), String> {
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
    if limit != 0 || top <= MAX_BUDGET {
        return Err(format!("unexpected QuickJS stack fields (top {top:#x}, limit {limit:#x})"));
    }
    // SAFETY: index + 2 is `stack_limit`, checked above; the runtime lives
    // as long as the module.
    LIMIT_FIELD.store(unsafe { words.add(index + 2) } as usize, Ordering::Relaxed);
    STACK_TOP.store(top, Ordering::Relaxed);
    set_budget(budget)
}

/// Sizes the limit for the stack the host said it gives (or the default):
/// called as each run starts, after `kiln run` may have written
/// [`HOST_STACK`].
pub(crate) fn apply_host_stack() {
    // The only failure is a limit never installed, which init rules out.
    let _ = set_budget(budget_for(HOST_STACK.load(Ordering::Relaxed)));
}

fn set_budget(budget: usize) -> Result<(), String> {
    let (field, top) = (LIMIT_FIELD.load(Ordering::Relaxed), STACK_TOP.load(Ordering::Relaxed));
    if field == 0 {
        return Err("QuickJS's stack limit was not installed".into());
    }
    let budget = budget.min(MAX_BUDGET);
    // SAFETY: `field` is the live runtime's `stack_limit` (install_limit).
    // `stack_size` (the word before it) is only read by QuickJS to
    // recompute the limit, which on wasi it never does.
    unsafe { (field as *mut usize).write(top - budget) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_fits_wasmtimes_default_stack() {
        assert!(budget_for(0) <= budget_for(512 * 1024));
    }

    #[test]
    fn the_budget_grows_with_the_stack_up_to_the_shadow_stack() {
        assert!(budget_for(1 << 20) > budget_for(512 << 10));
        assert_eq!(budget_for(u32::MAX), MAX_BUDGET);
        assert_eq!(budget_for(1), MIN_BUDGET);
    }
}
