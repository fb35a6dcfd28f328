//! `Math.random`, seeded lazily from the host.
//!
//! Snapshot hazard: QuickJS seeds its own generator when the context is
//! created, which happens at build time under fixed clocks, so every instance
//! of a module would produce the same sequence. The replacement below keeps
//! its state here, and the engine calls [`Random::forget_seed`] when an
//! instance starts; the first call then draws a seed from WASI `random_get`.

use crate::host::Host;
use rquickjs::{Ctx, Function, Object};
use std::cell::Cell;
use std::rc::Rc;

pub(crate) struct Random {
    host: Rc<dyn Host>,
    state: Cell<Option<u64>>,
}

impl Random {
    pub(crate) fn new(host: Rc<dyn Host>) -> Self {
        Random { host, state: Cell::new(None) }
    }

    pub(crate) fn forget_seed(&self) {
        self.state.set(None);
    }

    /// A double in [0, 1) from splitmix64.
    fn next_f64(&self) -> f64 {
        let state = self.state.get().unwrap_or_else(|| self.host.random_seed());
        let state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.set(Some(state));
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Replaces `Math.random` with one backed by `random`.
pub(crate) fn register<'js>(ctx: &Ctx<'js>, random: &Rc<Random>) -> rquickjs::Result<()> {
    let math: Object = ctx.globals().get("Math")?;
    let random = random.clone();
    let f = Function::new(ctx.clone(), move || random.next_f64())?.with_name("random")?;
    math.set("random", f)
}

/// Defines `native.randomFill(buffer, offset, length)` for
/// `crypto.getRandomValues`: bytes straight from the host (WASI
/// `random_get`), never from the seeded `Math.random` generator.
pub(crate) fn register_fill<'js>(ctx: &Ctx<'js>, native: &Object<'js>, random: &Rc<Random>) -> rquickjs::Result<()> {
    let host = random.host.clone();
    native.set(
        "randomFill",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, buffer: rquickjs::ArrayBuffer<'js>, offset: usize, length: usize| -> rquickjs::Result<()> {
            let raw = buffer.as_raw().ok_or_else(|| rquickjs::Exception::throw_type(&ctx, "getRandomValues: the buffer is detached"))?;
            // SAFETY: the buffer is alive for this call; offset and length
            // come from a view over it.
            let all = unsafe { &mut *raw.as_ptr() };
            let target = all
                .get_mut(offset..offset.saturating_add(length))
                .ok_or_else(|| rquickjs::Exception::throw_range(&ctx, "getRandomValues: range outside the buffer"))?;
            host.fill_random(target);
            Ok(())
        }),
    )
}
