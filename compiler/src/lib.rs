//! Kiln: compile a JavaScript program into one pre-initialized WASI module.
//!
//! This crate is the compiler library behind the `kiln` command. It embeds
//! the engine (QuickJS built for `wasm32-wasip1`, see `engine/`), has
//! `kiln-snapshot` pre-initialize it with a program, and rewrites the result
//! into the output module. It also runs modules on an embedded wasmtime.
//!
//! # Example
//!
//! ```no_run
//! use kiln::{Compiler, Source, SourceKind};
//!
//! let source = Source::from_bytes("app.js".into(), b"console.log('hi')".to_vec(), SourceKind::Detect)?;
//! let compiled = Compiler::new()?.compile(&source)?;
//! kiln::write_atomically("app.wasm".as_ref(), &compiled.wasm)?;
//! # Ok::<(), kiln::Error>(())
//! ```
//!
//! # Core concepts
//!
//! - A [`Source`] is the program and how to compile it (script or module).
//! - [`Compiler::compile`] returns the module's bytes; writing them is the
//!   caller's job ([`write_atomically`] never leaves a partial file).
//! - JavaScript errors come back as [`Error::JsSyntax`] (with position and
//!   code frame) or [`Error::JsException`]; an import that cannot be served
//!   as [`Error::Import`] (position and code frame of the import).
//! - A [`Source`] read from a file brings the files it imports: relative
//!   specifiers (`./lib.js`, `../util/a.mjs`) are resolved at build time from
//!   the entry's directory ([`collect_module_graph`]) and compiled into the
//!   module with it.

#![deny(missing_docs)]

mod diagnostic;
mod dynamic;
mod error;
pub mod limits;
mod module_graph;
mod output;
mod report;
mod rewrite;
mod runner;
mod sections;
mod source;
mod splice;

pub use dynamic::{ModuleRole, SharedEngine, module_role};
pub use error::{Error, JsLocation};
pub use module_graph::{ModuleFile, ModuleKind};
pub use output::write_atomically;
pub use rewrite::{KEPT_EXPORTS, RewriteOptions, finish_module};
pub use runner::{CapturedStdio, Outcome, RunOptions, RunReport, run_module};
pub use kiln_snapshot::ModuleCache;
pub use source::{FunctionMode, IoMode, STDIN_NAME, Source, SourceKind, split_invoke_spec};

use kiln_snapshot::{SnapshotError, Snapshotter};
use std::time::{Duration, Instant};

/// The engine module, built from `engine/` by `build.rs`, tuned for speed.
pub static ENGINE_WASM: &[u8] = include_bytes!(env!("KILN_ENGINE_WASM_PATH"));

/// The same engine compiled for size (`opt-level = "z"`), for [`Profile::Lean`].
pub static LEAN_ENGINE_WASM: &[u8] = include_bytes!(env!("KILN_LEAN_ENGINE_WASM_PATH"));

/// Which build of the engine a module is made from. Both run the same
/// JavaScript with the same results; they differ in size and speed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// QuickJS compiled for speed (`opt-level = 3`).
    #[default]
    Default,
    /// QuickJS compiled for size (`opt-level = "z"`, then `wasm-opt -Oz`):
    /// ~375 KB smaller modules, slower to run (see the README's benchmark
    /// table).
    Lean,
}

impl Profile {
    /// The engine module of this profile.
    pub fn engine(self) -> &'static [u8] {
        match self {
            Profile::Default => ENGINE_WASM,
            Profile::Lean => LEAN_ENGINE_WASM,
        }
    }
}

/// What a dynamic module is made as small as possible in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DynamicFor {
    /// Bytes: a lone classic script ships as bytecode (read on every run),
    /// anything else as the smaller of the two memory-image layouts.
    #[default]
    Bytes,
    /// Fuel per run: always the memory image, as data segments that the
    /// host writes at instantiation, so that nothing is read or unpacked
    /// per run and a run costs what the static module's does. Larger.
    Fuel,
}

/// A compiled module and what it took to make it.
#[derive(Debug)]
pub struct Compiled {
    /// The output module.
    pub wasm: Vec<u8>,
    /// Where the build time went.
    pub timings: BuildTimings,
    /// What the program wrote to stderr while it ran at build time (function
    /// mode: `console` output of the top level).
    pub build_output: String,
}

/// Durations of the build steps.
#[derive(Debug, Clone, Default)]
pub struct BuildTimings {
    /// The front end: reading, parsing, transforming and resolving every
    /// file of the program.
    pub frontend: Duration,
    /// Compiling the engine to machine code for the pre-initialization.
    pub engine_compile: Duration,
    /// Running the engine's init (parsing and compiling the program).
    pub init: Duration,
    /// Reading out the snapshot.
    pub snapshot: Duration,
    /// Rewriting the snapshot into the output module.
    pub rewrite: Duration,
}

/// Compiles programs. Create one and reuse it for several builds.
pub struct Compiler {
    snapshotter: Snapshotter,
    rewrite: RewriteOptions,
    finisher: splice::Finisher,
    function_mode: Option<FunctionMode>,
    /// Function mode: the wasm export of each invoked function.
    exports: Vec<String>,
    engine: &'static [u8],
    limits: kiln_abi::BuildLimits,
    frontend: kiln_frontend::Options,
    /// Build dynamic modules (see [`Compiler::dynamic`]).
    dynamic: bool,
    /// What dynamic modules are made small in.
    dynamic_for: DynamicFor,
    /// Where the shared engine is kept across processes, if anywhere.
    cache: Option<ModuleCache>,
    /// The shared engine of the last dynamic build, by what it was made of.
    shared_engine: std::sync::Mutex<Option<(SharedEngineKey, std::sync::Arc<SharedEngine>)>>,
}

/// What a shared engine is made of: the engine's bytes (by address: they
/// are static) and the rewrite options that shape it.
type SharedEngineKey = (usize, bool, bool);

/// The most memory the build-time evaluation may use unless told otherwise
/// ([`Compiler::build_memory_limit`]): far more than compiling any real
/// program needs, far less than the 4 GiB a wasm32 engine could grow to.
pub const DEFAULT_BUILD_MAX_MEMORY: u64 = 1 << 30;

/// The largest bytecode a dynamic module carries as bytecode. Each run
/// reads it (fuel per byte, measured in the README), where the memory-image
/// form costs nothing per run: past this, the image's cost in bytes is the
/// better buy.
const MAX_BYTECODE_FORM: usize = 8 << 10;

impl Compiler {
    /// A compiler with default options.
    ///
    /// # Errors
    ///
    /// Fails if wasmtime cannot be set up on this host.
    pub fn new() -> Result<Self, Error> {
        Ok(Compiler {
            snapshotter: Snapshotter::new().map_err(Error::Snapshot)?,
            rewrite: RewriteOptions::default(),
            finisher: splice::Finisher::default(),
            function_mode: None,
            exports: Vec::new(),
            engine: ENGINE_WASM,
            limits: kiln_abi::BuildLimits { max_memory: Some(DEFAULT_BUILD_MAX_MEMORY) },
            frontend: kiln_frontend::Options::default(),
            dynamic: false,
            dynamic_for: DynamicFor::default(),
            cache: None,
            shared_engine: std::sync::Mutex::new(None),
        })
    }

    /// Builds in function mode: the program must be an ES module; its top
    /// level runs at build time and `mode.invoke` become wasm exports.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] if the export names are unusable.
    pub fn function_mode(&mut self, mode: FunctionMode) -> Result<&mut Self, Error> {
        let exports = mode.invoke.clone();
        self.function_mode_exporting(mode, exports)
    }

    /// Function mode, each invoked function exported under the wasm name at
    /// the same position in `exports` (`cart-lines-discounts-generate-run`
    /// for `cartLinesDiscountsGenerateRun`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] if the names are unusable.
    pub fn function_mode_exporting(&mut self, mode: FunctionMode, exports: Vec<String>) -> Result<&mut Self, Error> {
        source::validate_function_mode(&mode)?;
        source::validate_exports(&mode, &exports)?;
        self.function_mode = Some(mode);
        self.exports = exports;
        Ok(self)
    }

    /// Keeps compiled code in `cache`: the engine is then compiled once,
    /// not on every build, and the program-independent part of the final
    /// rewrite is done once too.
    pub fn cache(&mut self, cache: ModuleCache) -> &mut Self {
        self.cache = Some(cache.clone());
        self.finisher.set_cache(cache.clone());
        self.snapshotter.set_cache(cache);
        self
    }

    /// Stops a build whose engine init (compiling the program; in function
    /// mode also its top level) runs longer than `limit`, with
    /// [`Error::JsException`] (default: 60 s).
    pub fn build_time_limit(&mut self, limit: std::time::Duration) -> &mut Self {
        self.snapshotter.set_init_time_limit(limit);
        self
    }

    /// Fails a build whose engine init (compiling the program; in function
    /// mode also its top level) allocates more than `bytes` of JavaScript
    /// memory, with an `out of memory` [`Error::JsException`] naming the
    /// limit (default: [`DEFAULT_BUILD_MAX_MEMORY`]).
    pub fn build_memory_limit(&mut self, bytes: u64) -> &mut Self {
        self.limits.max_memory = Some(bytes);
        self
    }

    /// Builds modules from the engine of `profile` (default: [`Profile::Default`]).
    pub fn profile(&mut self, profile: Profile) -> &mut Self {
        self.engine = profile.engine();
        self
    }

    /// Build-time constants, as esbuild's `--define KEY=VALUE`: `KEY` (an
    /// identifier or dotted path) is replaced by the expression `VALUE` in
    /// every file. `process.env.NODE_ENV` is `"production"` unless defined
    /// here.
    pub fn defines(&mut self, defines: Vec<(String, String)>) -> &mut Self {
        self.frontend.defines = defines;
        self
    }

    /// Builds dynamic modules: the program only, linked at run time against
    /// the shared engine ([`Compiler::shared_engine`]) instead of carrying
    /// one (see the README's "Dynamic modules").
    pub fn dynamic(&mut self, dynamic: bool) -> &mut Self {
        self.dynamic = dynamic;
        self
    }

    /// What dynamic modules are made as small as possible in (bytes unless
    /// told otherwise).
    pub fn dynamic_for(&mut self, priority: DynamicFor) -> &mut Self {
        self.dynamic_for = priority;
        self
    }

    /// The shared engine that dynamic modules built by this compiler link
    /// against: this compiler's engine (its profile, `--eval`) pre-initialized
    /// without a program. Made once per compiler.
    ///
    /// # Errors
    ///
    /// [`Error::Snapshot`] or [`Error::Rewrite`]: internal failures.
    pub fn shared_engine(&self) -> Result<std::sync::Arc<SharedEngine>, Error> {
        let key = (self.engine.as_ptr() as usize, self.rewrite.keep_parser, self.rewrite.keep_names);
        let mut memo = self.shared_engine.lock().map_err(|_| Error::Rewrite("a previous build panicked".into()))?;
        if let Some((known, engine)) = memo.as_ref()
            && *known == key
        {
            return Ok(engine.clone());
        }
        let options = RewriteOptions { shared_engine: true, invoked: Vec::new(), ..self.rewrite.clone() };
        let stored = dynamic::StoredEngine::new(self.cache.as_ref(), self.engine, &options);
        let (snapshot, finished) = match stored.load() {
            Some(parts) => parts,
            None => {
                let snapshot = self
                    .snapshotter
                    .preinitialize_with(self.engine, kiln_abi::exports::INIT_ENGINE, &[])
                    .map_err(|e| match e {
                        SnapshotError::InitFailed { report, .. } => Error::Rewrite(format!("initializing the shared engine failed: {report:?}")),
                        other => Error::Snapshot(other),
                    })?;
                let finished = self.finisher.finish(&snapshot.wasm, &options)?;
                // Instrumented once here, not by every dynamic build.
                let instrumented = kiln_snapshot::instrument(&snapshot.wasm).map_err(Error::Snapshot)?;
                stored.store(&instrumented, &finished);
                (instrumented, finished)
            }
        };
        let engine = std::sync::Arc::new(SharedEngine::new(snapshot, finished)?);
        *memo = Some((key, engine.clone()));
        Ok(engine)
    }

    /// Sets the options of the final rewrite.
    pub fn rewrite_options(&mut self, options: RewriteOptions) -> &mut Self {
        self.rewrite = options;
        self
    }

    /// Compiles `source` into a module.
    ///
    /// # Errors
    ///
    /// [`Error::JsSyntax`] or [`Error::JsException`] when the program is at
    /// fault; [`Error::Snapshot`] or [`Error::Rewrite`] for internal failures.
    pub fn compile(&self, source: &Source) -> Result<Compiled, Error> {
        let mut rewrite = self.rewrite.clone();
        if self.function_mode.is_some() {
            rewrite.invoked = self.exports.clone();
        }
        let started = Instant::now();
        let program = self.module_graph(&self.prepared(source))?;
        let frontend = started.elapsed();
        let shared = if self.dynamic { Some(self.shared_engine()?) } else { None };
        if let Some(shared) = &shared
            && self.dynamic_for == DynamicFor::Bytes
            && let Some(compiled) = self.bytecode_module(shared, &program, frontend)?
        {
            return Ok(compiled);
        }
        let init_input = self.init_input(&program);
        let (wasm, stderr, snapshot_timings, started) = match &shared {
            Some(shared) => {
                let state = self.snapshotter.run_for_state(&shared.snapshot, kiln_abi::exports::INIT_PROGRAM, &init_input).map_err(|e| self.init_error(e, &program))?;
                let started = Instant::now();
                (shared.program_module(&state, &rewrite.invoked, self.dynamic_for)?, state.stderr, state.timings, started)
            }
            None => {
                let snapshot = self.snapshotter.preinitialize(self.engine, &init_input).map_err(|e| self.init_error(e, &program))?;
                let started = Instant::now();
                (self.finisher.finish(&snapshot.wasm, &rewrite)?, snapshot.stderr, snapshot.timings, started)
            }
        };
        let timings = BuildTimings {
            frontend,
            engine_compile: snapshot_timings.compile,
            init: snapshot_timings.init,
            snapshot: snapshot_timings.snapshot,
            rewrite: started.elapsed(),
        };
        Ok(Compiled { wasm, timings, build_output: String::from_utf8_lossy(&stderr).into_owned() })
    }

    /// The dynamic module of `program` in bytecode form, when it is a lone
    /// classic script without a source map whose bytecode fits (see
    /// [`kiln_abi::dynamic`]); `None` for any other program, which gets the
    /// memory-image form.
    fn bytecode_module(&self, shared: &SharedEngine, program: &module_graph::Program, frontend: std::time::Duration) -> Result<Option<Compiled>, Error> {
        let lone_script = self.function_mode.is_none() && program.modules.is_empty() && program.entry_map.is_none() && program.entry.kind != SourceKind::Module;
        if !lone_script {
            return Ok(None);
        }
        let started = Instant::now();
        let bytecode = self
            .snapshotter
            .run_for_output(&shared.snapshot, kiln_abi::exports::COMPILE_BYTECODE, &self.init_input(program))
            .map_err(|e| self.init_error(e, program))?;
        let init = started.elapsed();
        if bytecode.is_empty() || bytecode.len() > MAX_BYTECODE_FORM {
            return Ok(None);
        }
        let started = Instant::now();
        let Some(wasm) = shared.bytecode_module(&bytecode)? else { return Ok(None) };
        let timings = BuildTimings { frontend, engine_compile: std::time::Duration::ZERO, init, snapshot: std::time::Duration::ZERO, rewrite: started.elapsed() };
        Ok(Some(Compiled { wasm, timings, build_output: String::new() }))
    }

    /// Runs only the engine's compile step on `source` — the same engine, in
    /// wasm, with the same init as [`compile`](Self::compile) — without taking
    /// a snapshot or writing a module: the cheap way to learn whether a
    /// program compiles. Function mode runs the top level, as a build does.
    ///
    /// # Errors
    ///
    /// As [`compile`](Self::compile), minus the rewrite.
    pub fn check(&self, source: &Source) -> Result<(), Error> {
        let program = self.module_graph(&self.prepared(source))?;
        self.snapshotter.check(self.engine, &self.init_input(&program)).map(drop).map_err(|e| self.init_error(e, &program))
    }

    fn init_input(&self, program: &module_graph::Program) -> Vec<u8> {
        program.init_input(self.function_mode.as_ref(), self.limits)
    }

    /// The program of `source`: the entry as the front end compiles it and
    /// the files it imports, read from its directory; a source with no
    /// directory (stdin) may not import anything.
    fn module_graph(&self, source: &Source) -> Result<module_graph::Program, Error> {
        match &source.base_dir {
            Some(dir) => module_graph::collect(source, dir, &self.frontend),
            None => module_graph::refuse_imports(source),
        }
    }

    /// The source as this compiler builds it: function mode needs a module,
    /// since only a module has exports to invoke.
    fn prepared(&self, source: &Source) -> Source {
        let mut source = source.clone();
        if self.function_mode.is_some() {
            source.kind = SourceKind::Module;
        }
        source
    }

    /// Turns a failed init into the error the program deserves.
    fn init_error(&self, error: SnapshotError, program: &module_graph::Program) -> Error {
        if ran_out_of_stack(&error) {
            return diagnostic::stack_exhausted(&program.entry, self.locate_stack_exhaustion(program));
        }
        match error {
            SnapshotError::InitFailed { report, .. } => report::from_report(report, program),
            SnapshotError::InitTimedOut { limit, .. } => Error::JsException {
                name: "Error".into(),
                message: format!(
                    "the build ran longer than {limit:?}: {} (raise the limit with --build-timeout)",
                    if self.function_mode.is_some() { "does the top level, evaluated at build time, ever finish?" } else { "compiling the program took too long" }
                ),
                stack: String::new(),
            },
            SnapshotError::InitStackExhausted { .. } => diagnostic::stack_exhausted(&program.entry, self.locate_stack_exhaustion(program)),
            other => Error::Snapshot(other),
        }
    }

    /// Where the parser ran out of stack on `source`: the byte offset of the
    /// last character of the shortest prefix whose compilation exhausts the
    /// stack as well. The parser reads left to right, so that is where it
    /// was when it gave up. `None` when compiling alone does not exhaust the
    /// stack (function mode's top level recursed instead).
    ///
    /// A binary search: about log2(length) checks, each far cheaper than a
    /// build, and only on this error path.
    fn locate_stack_exhaustion(&self, program: &module_graph::Program) -> Option<usize> {
        let source = &program.entry;
        let text = source.text.as_str();
        let exhausts = |len: usize| {
            let prefix = Source { text: text[..len].to_string(), ..source.clone() };
            matches!(self.snapshotter.check(self.engine, &module_graph::init_input(&prefix, &program.modules, &program.imports, None, self.limits)), Err(e) if ran_out_of_stack(&e))
        };
        if !exhausts(text.len()) {
            return None;
        }
        // Invariant: the prefix of length `fits` compiles (or fails another
        // way); the prefix of length `exhausted` runs out of stack.
        let (mut fits, mut exhausted) = (0, text.len());
        loop {
            let mut mid = fits + (exhausted - fits) / 2;
            while !text.is_char_boundary(mid) {
                mid += 1;
            }
            if mid <= fits || mid >= exhausted {
                break;
            }
            if exhausts(mid) {
                exhausted = mid;
            } else {
                fits = mid;
            }
        }
        text[..exhausted].char_indices().next_back().map(|(i, _)| i)
    }
}

/// Whether initialization failed for lack of stack: QuickJS's own check
/// (the parser's positionless RangeError) or, past it, the host's.
fn ran_out_of_stack(error: &SnapshotError) -> bool {
    matches!(error, SnapshotError::InitStackExhausted { .. } | SnapshotError::InitFailed { report: kiln_abi::Report::StackOverflow, .. })
}
