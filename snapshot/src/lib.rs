//! Pre-initialization of Kiln's engine: instantiate it, let it compile the
//! program, and write the resulting state out as a new module.
//!
//! This follows Wizer's own pipeline — instrument, run, snapshot, rewrite —
//! using `wasmtime-wizer` for the instrumenting and the rewriting, and a
//! wasmtime store of our own for the run, so that the WASI context the
//! initialization sees is fully under control:
//!
//! - stdin is an in-memory pipe holding the init input and nothing else;
//! - stdout and stderr are captured (stderr carries the engine's diagnostics);
//! - no preopened directories, no environment variables, no arguments;
//! - fixed clocks and a fixed-seed random generator, so the same input always
//!   yields byte-identical output.
//!
//! # Example
//!
//! ```no_run
//! # fn engine_wasm() -> Vec<u8> { Vec::new() }
//! let snapshotter = kiln_snapshot::Snapshotter::new().unwrap();
//! let wasm = snapshotter.preinitialize(&engine_wasm(), b"kiln-init 1\nfile a.js\nkind auto\n\nconsole.log(1)");
//! ```

#![deny(missing_docs)]

mod cache;
mod sealed_wasi;

pub use cache::ModuleCache;

use std::time::{Duration, Instant};
use wasmtime::{Engine, Instance, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wizer::{InstanceState, SnapshotVal, Wizer};

/// The engine's build-time entry point.
pub const INIT_EXPORT: &str = "kiln.init";

/// Why pre-initialization failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The init function exited with a non-zero status. `stderr` holds what
    /// it wrote, including the engine's `kiln-error` report.
    #[error("the engine's initialization exited with status {status}")]
    InitExited {
        /// The exit status passed to `proc_exit`.
        status: i32,
        /// Everything the init function wrote to stderr.
        stderr: Vec<u8>,
    },
    /// The init function trapped: a bug in the engine, or a resource limit.
    #[error("the engine's initialization trapped: {message}")]
    InitTrapped {
        /// The trap and its wasm backtrace.
        message: String,
        /// Everything the init function wrote to stderr before the trap.
        stderr: Vec<u8>,
    },
    /// Instrumenting, compiling, instantiating or rewriting the module failed.
    #[error("{0}")]
    Wasm(String),
}

fn wasm_error(context: &str) -> impl FnOnce(wasmtime::Error) -> SnapshotError + '_ {
    move |e| SnapshotError::Wasm(format!("{context}: {e:#}"))
}

/// Time spent in each step of one pre-initialization.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Compiling the instrumented engine to machine code.
    pub compile: Duration,
    /// Running the init function.
    pub init: Duration,
    /// Reading the state out and writing the new module.
    pub snapshot: Duration,
}

/// The output of a successful pre-initialization.
#[derive(Debug)]
pub struct Snapshot {
    /// The pre-initialized module, still exporting everything the engine did
    /// except the init function.
    pub wasm: Vec<u8>,
    /// What the init function wrote to stderr (warnings, `console.warn`).
    pub stderr: Vec<u8>,
    /// Where the time went.
    pub timings: Timings,
}

/// Native stack for the engine's wasm frames during initialization: the same
/// 16 MiB as `kiln run` gives a module, which the engine's QuickJS stack
/// limit is sized to fit.
const WASM_STACK: usize = 16 << 20;

/// Stack for the host's frames around the wasm frames.
const HOST_STACK: usize = 4 << 20;

/// Runs pre-initializations. Holds the wasmtime engine so that several
/// builds in one process share its configuration.
pub struct Snapshotter {
    engine: Engine,
    cache: Option<ModuleCache>,
}

impl Snapshotter {
    /// Creates a snapshotter with a default wasmtime configuration.
    ///
    /// # Errors
    ///
    /// Fails if wasmtime cannot be configured for this host.
    pub fn new() -> Result<Self, SnapshotError> {
        let mut config = wasmtime::Config::new();
        // The program's top level (function mode) may recurse as deep as a
        // run may: give wasm frames the native stack `kiln run` gives them,
        // on a thread that has it (see `preinitialize`). wasmtime checks the
        // wasm stack against the async stack size even without async.
        config.async_stack_size(WASM_STACK + HOST_STACK);
        config.max_wasm_stack(WASM_STACK);
        let engine = Engine::new(&config).map_err(wasm_error("configuring wasmtime"))?;
        Ok(Snapshotter { engine, cache: None })
    }

    /// Keeps the compiled engine in `cache`, so that later builds skip
    /// compiling it (most of a build's time without a cache).
    pub fn set_cache(&mut self, cache: ModuleCache) -> &mut Self {
        self.cache = Some(cache);
        self
    }

    /// Instantiates `engine_wasm`, passes `init_input` on its stdin, calls its
    /// [`INIT_EXPORT`] and returns the snapshot of the initialized instance.
    ///
    /// # Errors
    ///
    /// [`SnapshotError::InitExited`] when the engine rejects the input (for
    /// instance a syntax error in the program); other variants for problems
    /// with the engine module itself.
    pub fn preinitialize(&self, engine_wasm: &[u8], init_input: &[u8]) -> Result<Snapshot, SnapshotError> {
        // Wasm runs on the calling thread's stack: use a thread that has
        // room for WASM_STACK plus the host's own frames.
        std::thread::scope(|scope| {
            match std::thread::Builder::new()
                .name("kiln-init".into())
                .stack_size(WASM_STACK + HOST_STACK)
                .spawn_scoped(scope, || self.preinitialize_on_this_thread(engine_wasm, init_input))
            {
                Ok(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(_) => self.preinitialize_on_this_thread(engine_wasm, init_input),
            }
        })
    }

    fn preinitialize_on_this_thread(&self, engine_wasm: &[u8], init_input: &[u8]) -> Result<Snapshot, SnapshotError> {
        let mut timings = Timings::default();
        let mut wizer = Wizer::new();
        wizer.init_func(INIT_EXPORT);
        let (cx, instrumented) = wizer.instrument(engine_wasm).map_err(wasm_error("instrumenting the engine"))?;

        let started = Instant::now();
        let module = match &self.cache {
            Some(cache) => cache.load_or_compile(&self.engine, &instrumented, "engine"),
            None => Module::new(&self.engine, &instrumented),
        }
        .map_err(wasm_error("compiling the engine"))?;
        timings.compile = started.elapsed();

        let started = Instant::now();
        let (wasi, stderr) = sealed_wasi::build(init_input);
        let mut store = Store::new(&self.engine, wasi);
        let mut linker: Linker<WasiP1Ctx> = Linker::new(&self.engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx).map_err(wasm_error("linking WASI"))?;
        let instance = linker.instantiate(&mut store, &module).map_err(wasm_error("instantiating the engine"))?;
        if let Err(error) = call_init(&mut store, &instance) {
            let stderr = stderr.contents().to_vec();
            return Err(match error.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(exit) => SnapshotError::InitExited { status: exit.0, stderr },
                None => SnapshotError::InitTrapped { message: format!("{error:?}"), stderr },
            });
        }
        timings.init = started.elapsed();

        let started = Instant::now();
        let mut state = StoreState { store: &mut store, instance };
        let wasm = block_on(wizer.snapshot(&cx, &mut state)).map_err(wasm_error("snapshotting the engine"))?;
        timings.snapshot = started.elapsed();

        Ok(Snapshot { wasm, stderr: stderr.contents().to_vec(), timings })
    }
}

/// Calls the WASI reactor initializer, if any, then the init export.
fn call_init(store: &mut Store<WasiP1Ctx>, instance: &Instance) -> wasmtime::Result<()> {
    if let Some(initialize) = instance.get_func(&mut *store, "_initialize") {
        initialize.typed::<(), ()>(&*store)?.call(&mut *store, ())?;
    }
    let init = instance.get_typed_func::<(), ()>(&mut *store, INIT_EXPORT)?;
    init.call(&mut *store, ())
}

/// Gives wizer's snapshotter read access to the instance's state.
struct StoreState<'a> {
    store: &'a mut Store<WasiP1Ctx>,
    instance: Instance,
}

impl InstanceState for StoreState<'_> {
    async fn global_get(&mut self, name: &str, _: wasmtime_wizer::ValType) -> SnapshotVal {
        // wizer asks only for globals its instrumentation exported, so they
        // exist; their types are the core numeric ones it checked.
        let global = self.instance.get_global(&mut *self.store, name).expect("global exported by wizer's instrumentation");
        match global.get(&mut *self.store) {
            wasmtime::Val::I32(x) => SnapshotVal::I32(x),
            wasmtime::Val::I64(x) => SnapshotVal::I64(x),
            wasmtime::Val::F32(x) => SnapshotVal::F32(x),
            wasmtime::Val::F64(x) => SnapshotVal::F64(x),
            wasmtime::Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            other => unreachable!("wizer rejects modules with reference-typed mutable globals, found {other:?}"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self.instance.get_memory(&mut *self.store, name).expect("memory exported by wizer's instrumentation");
        contents(memory.data(&*self.store))
    }
}

/// Drives a future that never waits: wizer's snapshot is `async` only so that
/// it can read from async stores, and ours answers immediately.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
