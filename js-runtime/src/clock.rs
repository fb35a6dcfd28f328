//! `performance.now()` and `performance.timeOrigin`.
//!
//! Snapshot hazard: an origin taken while the engine is initialised at build
//! time would be meaningless at run time (another host, another monotonic
//! clock), so the engine restarts the clock when a run begins.

use rquickjs::{Ctx, Function, Object};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub(crate) struct Clock {
    origin: Cell<Instant>,
    origin_unix_ms: Cell<f64>,
}

impl Clock {
    pub(crate) fn new() -> Self {
        let clock = Clock { origin: Cell::new(Instant::now()), origin_unix_ms: Cell::new(0.0) };
        clock.restart();
        clock
    }

    pub(crate) fn restart(&self) {
        self.origin.set(Instant::now());
        let unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1e3).unwrap_or(0.0);
        self.origin_unix_ms.set(unix);
    }
}

/// Defines `native.now()` (ms since the run began) and `native.timeOrigin()`.
pub(crate) fn register<'js>(ctx: &Ctx<'js>, native: &Object<'js>, clock: &Rc<Clock>) -> rquickjs::Result<()> {
    let c = clock.clone();
    native.set("now", Function::new(ctx.clone(), move || c.origin.get().elapsed().as_secs_f64() * 1e3)?)?;
    let c = clock.clone();
    native.set("timeOrigin", Function::new(ctx.clone(), move || c.origin_unix_ms.get())?)?;
    Ok(())
}
