//! What Kiln's wasmtime hosts share: `kiln run` (compiler/src/runner.rs),
//! the snapshotter (snapshot/) and the benchmark (bench/).
//!
//! - [`HostConfig`]: the wasmtime configuration (fuel, wasm stack, epoch
//!   interruption, copy-on-write images) and the thread stack it needs;
//! - [`Stdio`]: a module's stdin, stdout and stderr, the process's own or
//!   in memory ([`Captured`] reads them back);
//! - [`ModuleCache`]: compiled modules on disk, keyed by wasmtime's own
//!   compatibility hash and the wasm bytes, bounded in size (least recently
//!   used entries go first), with Cranelift's incremental cache beside it
//!   ([`ModuleCache::enable_incremental`]), so that a module whose functions
//!   were compiled before (every module shares the engine's) is not
//!   compiled again;
//! - [`Split`]: a module as its *canonical* form (no data, a memory of
//!   minimum 0) and the memory that makes it the real one again, so that
//!   modules differing only in their data share one compiled artifact
//!   ([`ModuleCache::load_or_compile_split`]);
//! - [`write_atomically`]: the one temp-file-and-rename writer;
//! - [`on_large_stack`] and [`Watchdog`]: wasm called on a thread with room
//!   for its stack, under a time limit (epoch interruption).

#![deny(missing_docs)]

mod cache;
mod canonical;
mod config;
mod incremental;
mod stdio;
mod watched;
mod write;

pub use cache::{DEFAULT_CACHE_LIMIT, ModuleCache};
pub use canonical::Split;
pub use config::HostConfig;
pub use incremental::IncrementalStore;
pub use stdio::{Captured, Input, Output, Stdio};
pub use watched::{Watchdog, on_large_stack};
pub use write::write_atomically;
