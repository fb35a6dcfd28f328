//! `performance.now()` and `performance.timeOrigin`.
//!
//! Snapshot hazard: an origin taken while the engine is initialised at build
//! time would be meaningless at run time (another host, another monotonic
//! clock), so the engine restarts the clock when a run begins.
//!
//! A run begins with one read of the monotonic clock (straight from WASI's
//! `clock_time_get` in a module: no libc or `std` layers on the per-run
//! path). The wall-clock time of the origin, `performance.timeOrigin`, is
//! only worked out when first asked for: the wall clock now, less the
//! monotonic time elapsed since the origin. It is then fixed for the run.

use rquickjs::{Ctx, Function, Object};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) struct Clock {
    /// Monotonic nanoseconds at the start of the run.
    origin_ns: Cell<u64>,
    /// `performance.timeOrigin` once computed in this run.
    origin_unix_ms: Cell<Option<f64>>,
}

impl Clock {
    pub(crate) fn new() -> Self {
        let clock = Clock { origin_ns: Cell::new(0), origin_unix_ms: Cell::new(None) };
        clock.restart();
        clock
    }

    pub(crate) fn restart(&self) {
        self.origin_ns.set(monotonic_ns());
        self.origin_unix_ms.set(None);
    }

    /// Milliseconds since the origin.
    fn now_ms(&self) -> f64 {
        monotonic_ns().saturating_sub(self.origin_ns.get()) as f64 / 1e6
    }

    fn time_origin_ms(&self) -> f64 {
        if let Some(ms) = self.origin_unix_ms.get() {
            return ms;
        }
        let unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1e3).unwrap_or(0.0);
        let ms = unix - self.now_ms();
        self.origin_unix_ms.set(Some(ms));
        ms
    }
}

/// The monotonic clock in nanoseconds (WASI `clock_time_get` on clock 1).
#[cfg(target_os = "wasi")]
fn monotonic_ns() -> u64 {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        fn clock_time_get(id: u32, precision: u64, time: *mut u64) -> u16;
    }
    let mut t = 0u64;
    // SAFETY: `t` is a valid place for the result. On failure it stays 0.
    unsafe { clock_time_get(1, 1, &mut t) };
    t
}

/// The monotonic clock in nanoseconds since the first call in this process.
#[cfg(not(target_os = "wasi"))]
fn monotonic_ns() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Defines `native.now()` (ms since the run began) and `native.timeOrigin()`.
pub(crate) fn register<'js>(ctx: &Ctx<'js>, native: &Object<'js>, clock: &Rc<Clock>) -> rquickjs::Result<()> {
    let c = clock.clone();
    native.set("now", Function::new(ctx.clone(), move || c.now_ms())?)?;
    let c = clock.clone();
    native.set("timeOrigin", Function::new(ctx.clone(), move || c.time_origin_ms())?)?;
    Ok(())
}
