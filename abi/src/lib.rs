//! The contract between Kiln's compiler and its engine.
//!
//! Data flows one way across it: the compiler encodes an [`InitInput`], the
//! engine (in wasm, at build time) decodes it, builds, and on failure
//! encodes a [`Report`] that the snapshotter reads out of the engine's
//! memory and the compiler decodes. The export names and stack sizes both
//! sides rely on are defined here, once.
//!
//! This crate is linked into the wasm engine, where every byte counts: it
//! has no dependencies and a small hand-written codec (see `codec`).

#![deny(missing_docs)]

mod codec;
mod init;
mod report;

pub use codec::DecodeError;
pub use init::{BuildLimits, FunctionMode, INIT_INPUT_VERSION, ImportMapping, InitInput, IoMode, Module, ModuleKind, SourceKind};
pub use report::{ImportFailure, ImportProblem, JsError, Location, REPORT_VERSION, Report};

/// The wasm name of one of the engine's exports, as a literal, for
/// `#[unsafe(export_name = kiln_abi::export_name!(init))]` (an attribute
/// takes a literal, not a constant). The constants in [`exports`] are made
/// from it, so the two cannot disagree.
#[macro_export]
macro_rules! export_name {
    (init) => {
        "kiln.init"
    };
    (report_ptr) => {
        "kiln.report_ptr"
    };
    (report_len) => {
        "kiln.report_len"
    };
    (invoke) => {
        "kiln.invoke"
    };
    (eval_disabled) => {
        "kiln.eval_disabled"
    };
    (start) => {
        "_start"
    };
}

/// The engine's exports and the output module's.
pub mod exports {
    /// Build time only (removed from outputs): builds the program read from
    /// stdin. `() -> ()`.
    pub const INIT: &str = crate::export_name!(init);
    /// Build time only: the address of the encoded [`Report`](crate::Report)
    /// of a failed init. `() -> i32`.
    pub const REPORT_PTR: &str = crate::export_name!(report_ptr);
    /// Build time only: its length in bytes, 0 when the init succeeded.
    /// `() -> i32`.
    pub const REPORT_LEN: &str = crate::export_name!(report_len);
    /// Function mode: calls invoked function number `index`. `(i32) -> ()`;
    /// the rewrite gives each invoked function an export calling it.
    pub const INVOKE: &str = crate::export_name!(invoke);
    /// The stand-in for QuickJS's `eval_internal` in modules built without
    /// the parser (see `compiler/src/rewrite.rs`).
    pub const EVAL_DISABLED: &str = crate::export_name!(eval_disabled);
    /// The WASI command entry point: runs the program, or in function mode
    /// the first invoked function.
    pub const START: &str = crate::export_name!(start);
    /// The linear memory.
    pub const MEMORY: &str = "memory";
    /// Exports every output module keeps (besides function mode's).
    pub const KEPT: &[&str] = &[MEMORY, START];
    /// Every engine-private export starts so; no invoked function may.
    pub const PRIVATE_PREFIX: &str = "kiln.";
}

/// Stack sizes: what the engine is linked with, what QuickJS may use of it,
/// and what hosts give a module's compiled code.
pub mod stack {
    /// The engine's shadow stack in linear memory (`-zstack-size`, see
    /// `engine/build.rs`).
    pub const SHADOW_STACK: usize = 4 << 20;
    /// How much of [`SHADOW_STACK`] QuickJS may use before it throws
    /// `RangeError: Maximum call stack size exceeded`; the rest is the
    /// margin for native frames below the last check. Wasm frames also use
    /// the host's native stack, which [`RUN_WASM_STACK`] must fit.
    pub const QUICKJS_LIMIT: usize = 512 << 10;
    /// The native stack a host gives a module's code at run time: `kiln
    /// run`'s `max_wasm_stack`, and `examples/run-node.mjs`'s `stackSizeMb`
    /// (16; JavaScript, so kept equal by hand).
    pub const RUN_WASM_STACK: usize = 16 << 20;
    /// The native stack the engine's code may use while it initializes:
    /// enough that the shadow stack, not the host's, bounds how deeply a
    /// program may nest.
    pub const INIT_WASM_STACK: usize = 64 << 20;
}
