//! The WASI context the engine's initialization runs in.
//!
//! Snapshot hazard: anything the init function learns from its environment
//! is frozen into the output module. So it learns nothing: the only input is
//! the init pipe, time stands still at the Unix epoch plus one fixed instant,
//! and "random" bytes come from a generator with a fixed seed. Two builds of
//! the same program are therefore byte-identical. (The engine reseeds
//! `Math.random` from the real host when the module runs.)

use rand::SeedableRng;
use std::time::Duration;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtxBuilder};

/// How much the init function may write to stdout or stderr before writes
/// fail. Diagnostics are small; this bounds a runaway program.
const CAPTURE_LIMIT: usize = 1 << 20;

/// 2000-01-01T00:00:00Z: a recognisable, fixed wall-clock time.
const FIXED_WALL_CLOCK: Duration = Duration::from_secs(946_684_800);

struct FixedWallClock;

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        FIXED_WALL_CLOCK
    }
}

struct FixedMonotonicClock;

impl HostMonotonicClock for FixedMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Builds the sealed context; returns it with a handle on what the init
/// writes (its stderr is kept for diagnostics).
pub(crate) fn build(init_input: &[u8]) -> (WasiP1Ctx, kiln_host::Captured) {
    let mut builder = WasiCtxBuilder::new();
    let captured = kiln_host::Stdio::in_memory(init_input.to_vec(), CAPTURE_LIMIT).apply(&mut builder);
    let ctx = builder
        .wall_clock(FixedWallClock)
        .monotonic_clock(FixedMonotonicClock)
        .secure_random(rand::rngs::StdRng::seed_from_u64(0))
        .insecure_random(rand::rngs::StdRng::seed_from_u64(0))
        .insecure_random_seed(0)
        .build_p1();
    (ctx, captured)
}
