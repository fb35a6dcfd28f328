//! What Kiln's wasmtime hosts share: `kiln run` (compiler/src/runner.rs),
//! the snapshotter (snapshot/) and the benchmark (bench/).
//!
//! - [`ModuleCache`]: compiled modules on disk, keyed by wasmtime's own
//!   compatibility hash and the wasm bytes, bounded in size (least recently
//!   used entries go first), with Cranelift's incremental cache beside it
//!   ([`ModuleCache::enable_incremental`]), so that a module whose functions
//!   were compiled before (every module shares the engine's) is not
//!   compiled again;
//! - [`write_atomically`]: the one temp-file-and-rename writer.

#![deny(missing_docs)]

mod cache;
mod incremental;
mod write;

pub use cache::{DEFAULT_CACHE_LIMIT, ModuleCache};
pub use incremental::IncrementalStore;
pub use write::write_atomically;
