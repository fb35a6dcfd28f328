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
    (init_engine) => {
        "kiln.init_engine"
    };
    (init_program) => {
        "kiln.init_program"
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
    (compile_bytecode) => {
        "kiln.compile_bytecode"
    };
    (output_ptr) => {
        "kiln.output_ptr"
    };
    (output_len) => {
        "kiln.output_len"
    };
    (run_bytecode) => {
        "kiln.run_bytecode"
    };
}

/// The engine's exports and the output module's.
pub mod exports {
    /// Build time only (removed from outputs): builds the program read from
    /// stdin. `() -> ()`.
    pub const INIT: &str = crate::export_name!(init);
    /// Build time only: creates the shared engine of dynamic modules (the
    /// runtime, context and API, no program). `() -> ()`.
    pub const INIT_ENGINE: &str = crate::export_name!(init_engine);
    /// Build time only, on the shared engine's snapshot: builds the program
    /// read from stdin, as [`INIT`] does after creating the engine.
    /// `() -> ()`.
    pub const INIT_PROGRAM: &str = crate::export_name!(init_program);
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
    /// Build time only, on the shared engine's snapshot: compiles the
    /// program read from stdin, when it is a lone classic script without a
    /// source map, and keeps its bytecode (QuickJS's `JS_WriteObject`) at
    /// [`OUTPUT_PTR`]; keeps nothing for any other program. `() -> ()`.
    pub const COMPILE_BYTECODE: &str = crate::export_name!(compile_bytecode);
    /// Build time only: the address of what [`COMPILE_BYTECODE`] kept.
    /// `() -> i32`.
    pub const OUTPUT_PTR: &str = crate::export_name!(output_ptr);
    /// Build time only: its length in bytes (0: nothing kept). `() -> i32`.
    pub const OUTPUT_LEN: &str = crate::export_name!(output_len);
    /// The shared engine, called by a dynamic module's `_start`: reads the
    /// script's bytecode at `(ptr, len)` in the engine's memory and runs it
    /// as `_start` runs a static module's program. `(i32, i32) -> ()`.
    pub const RUN_BYTECODE: &str = crate::export_name!(run_bytecode);
    /// The linear memory.
    pub const MEMORY: &str = "memory";
    /// Exports every output module keeps (besides function mode's).
    pub const KEPT: &[&str] = &[MEMORY, START];
    /// Every engine-private export starts so; no invoked function may.
    pub const PRIVATE_PREFIX: &str = "kiln.";
}

/// Dynamic modules: a program module that links against a shared,
/// pre-initialized engine instead of carrying one.
///
/// A program module takes one of two forms, whichever is smaller:
///
/// - a *memory image*: the bytes in which the engine's memory after building
///   the program differs from the engine's memory as shipped, written into
///   the engine's memory when the program module is instantiated (any
///   program; function mode's top level ran at build time);
/// - *bytecode*: a lone classic script's QuickJS bytecode, written at
///   [`BYTECODE_AT`] when instantiated and read by the engine's
///   [`RUN_BYTECODE`](crate::exports::RUN_BYTECODE) in `_start`.
///
/// Either fits exactly one engine, byte for byte: the namespace it imports
/// from names that engine by a hash of its bytes, so that any other engine
/// (another QuickJS bytecode version, another build of the API) fails to
/// link instead of running wrong.
pub mod dynamic {
    /// The shared engine's custom section that holds its namespace (UTF-8).
    pub const ENGINE_SECTION: &str = "kiln.engine";
    /// Every shared engine's namespace starts so. `v3` is the version of
    /// this contract (what the program module imports and how it patches
    /// memory; v2 added the bytecode form, v3 renamed the engine's
    /// [`ENGINE_START`]); the hash that follows names the engine's bytes.
    pub const NAMESPACE_PREFIX: &str = "kiln-engine-v3-";
    /// The shared engine's `_start`, which a memory-image program module
    /// imports and exports as its own `_start`. The engine itself must not
    /// export `_start`: wasmtime's linker takes a module that does for a
    /// command, instantiated afresh for each call and sharing no memory, so
    /// `wasmtime run --preload` could not link a program module against it.
    pub const ENGINE_START: &str = "kiln.start";
    /// How many hex digits of the engine's SHA-256 the namespace carries.
    pub const NAMESPACE_HASH_DIGITS: usize = 12;
    /// Where a bytecode program module writes its bytecode in the engine's
    /// memory: the far end of the shadow stack (which the engine is linked
    /// stack-first with, so its stack grows down towards address 0). Nothing
    /// lives there between calls, and `_start`'s stack is nowhere near it
    /// when the engine reads the bytecode, which it does before running
    /// anything. The compiler checks that the bytecode ends well below the
    /// stack's top.
    pub const BYTECODE_AT: usize = 1024;
}

/// Stack sizes: what the engine is linked with, what QuickJS may use of it,
/// and what hosts give a module's compiled code.
pub mod stack {
    /// The engine's shadow stack in linear memory (`-zstack-size`, see
    /// `engine/build.rs`).
    pub const SHADOW_STACK: usize = 4 << 20;
    /// How much of [`SHADOW_STACK`] QuickJS may use before it throws
    /// `RangeError: Maximum call stack size exceeded` while the engine
    /// initializes (on [`INIT_WASM_STACK`]). At run time the engine sizes
    /// its limit for the native stack the host says it gives (see
    /// [`HOST_STACK_SECTION`]), or for the smallest common default.
    pub const QUICKJS_LIMIT: usize = 512 << 10;
    /// The custom section of an output module that holds the address (a
    /// little-endian `u32`) of the engine's host-stack cell: a `u32` into
    /// which a runner writes the native stack it gives, in bytes, before
    /// calling `_start` (`kiln run` and `examples/run-node.mjs` write
    /// [`RUN_WASM_STACK`]). 0, as other hosts leave it, means "not said".
    pub const HOST_STACK_SECTION: &str = "kiln.host-stack";
    /// The engine's export of that cell (an `i32` global holding its
    /// address, as wasm-ld exports a static); the rewrite turns it into
    /// [`HOST_STACK_SECTION`] and drops the export.
    pub const HOST_STACK_EXPORT: &str = "kiln.host_stack";
    /// The native stack a host gives a module's code at run time: `kiln
    /// run`'s `max_wasm_stack`, and `examples/run-node.mjs`'s `stackSizeMb`
    /// (16; JavaScript, so kept equal by hand).
    pub const RUN_WASM_STACK: usize = 16 << 20;
    /// The native stack the engine's code may use while it initializes:
    /// enough that the shadow stack, not the host's, bounds how deeply a
    /// program may nest.
    pub const INIT_WASM_STACK: usize = 64 << 20;
}
