//! Pre-initialization of Kiln's engine: instantiate it, let it compile the
//! program, and write the resulting state out as a new module.
//!
//! This follows Wizer's own pipeline — instrument, run, snapshot, rewrite —
//! using `wasmtime-wizer` for the instrumenting and the rewriting, and a
//! wasmtime store of our own for the run, so that the WASI context the
//! initialization sees is fully under control:
//!
//! - stdin is an in-memory pipe holding the init input and nothing else;
//! - stdout and stderr are captured (stderr is the program's: function mode's
//!   top level may write to it; the engine's report of a failed init is read
//!   from its memory instead, see [`kiln_abi::Report`]);
//! - no preopened directories, no environment variables, no arguments;
//! - fixed clocks and a fixed-seed random generator, so the same input always
//!   yields byte-identical output.
//!
//! # Example
//!
//! ```no_run
//! # fn engine_wasm() -> Vec<u8> { Vec::new() }
//! let snapshotter = kiln_snapshot::Snapshotter::new().unwrap();
//! let input = kiln_abi::InitInput {
//!     entry: "a.js".into(),
//!     modules: vec![kiln_abi::Module {
//!         name: "a.js".into(),
//!         kind: kiln_abi::ModuleKind::JavaScript(kiln_abi::SourceKind::Auto),
//!         source: b"console.log(1)".to_vec(),
//!         source_map: None,
//!     }],
//!     import_map: vec![],
//!     function_mode: None,
//!     limits: kiln_abi::BuildLimits::default(),
//! };
//! let wasm = snapshotter.preinitialize(&engine_wasm(), &input.encode());
//! ```

#![deny(missing_docs)]

mod sealed_wasi;

pub use kiln_host::ModuleCache;

use sha2::Digest;
use std::time::{Duration, Instant};
use wasmtime::{Engine, Instance, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wizer::{InstanceState, SnapshotVal, Wizer};

/// The engine's build-time entry point.
pub const INIT_EXPORT: &str = kiln_abi::exports::INIT;

/// How the init runs: unmetered, with much more native stack than
/// wasmtime's default. With the default (512 KiB) the parser ran out of
/// native stack at ~30,000 nested brackets, long before its 4 MiB shadow
/// stack in linear memory was used up; with
/// [`kiln_abi::stack::INIT_WASM_STACK`], the shadow stack is what bounds the
/// nesting depth a program may have. The thread that runs the init has room
/// for that plus wasmtime's and WASI's own frames (only the pages touched
/// are committed).
fn init_config() -> kiln_host::HostConfig {
    kiln_host::HostConfig::build_time()
}

/// Why pre-initialization failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The engine could not build the program and said why.
    #[error("the engine's initialization failed: {report:?}")]
    InitFailed {
        /// The engine's report.
        report: kiln_abi::Report,
        /// Everything the init function wrote to stderr.
        stderr: Vec<u8>,
    },
    /// The init function exited (`proc_exit`) instead of returning.
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
    /// The init function ran out of stack, native or shadow: the input nests
    /// too deeply, e.g. source with 100,000 nested brackets.
    #[error("the engine's initialization ran out of stack")]
    InitStackExhausted {
        /// Everything the init function wrote to stderr before it stopped.
        stderr: Vec<u8>,
    },
    /// The init function ran longer than the time limit (see
    /// [`Snapshotter::set_init_time_limit`]): e.g. a program whose top level,
    /// evaluated at build time, never ends.
    #[error("the engine's initialization ran longer than {limit:?}")]
    InitTimedOut {
        /// The limit that passed.
        limit: Duration,
        /// Everything the init function wrote to stderr before it stopped.
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

/// How long an init may run unless told otherwise: far more than any real
/// program's build needs, so that only a runaway one (an endless loop at the
/// top level) meets it.
pub const DEFAULT_INIT_TIME_LIMIT: Duration = Duration::from_secs(60);

/// Runs pre-initializations. Holds the wasmtime engine so that several
/// builds in one process share its configuration.
pub struct Snapshotter {
    engine: Engine,
    cache: Option<ModuleCache>,
    /// The engine compiled for [`Snapshotter::check`], by SHA-256 of its bytes.
    check_memo: std::sync::Mutex<Option<([u8; 32], Module)>>,
    init_time_limit: Duration,
}

impl Snapshotter {
    /// Creates a snapshotter with a default wasmtime configuration.
    ///
    /// # Errors
    ///
    /// Fails if wasmtime cannot be configured for this host.
    pub fn new() -> Result<Self, SnapshotError> {
        // The init's time limit is enforced by epoch interruption, which
        // every host configuration has on.
        let engine = init_config().engine().map_err(wasm_error("configuring wasmtime"))?;
        Ok(Snapshotter { engine, cache: None, check_memo: std::sync::Mutex::new(None), init_time_limit: DEFAULT_INIT_TIME_LIMIT })
    }

    /// Stops an init that runs longer than `limit` with
    /// [`SnapshotError::InitTimedOut`] (default: [`DEFAULT_INIT_TIME_LIMIT`]).
    pub fn set_init_time_limit(&mut self, limit: Duration) -> &mut Self {
        self.init_time_limit = limit;
        self
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
        self.preinitialize_with(engine_wasm, INIT_EXPORT, init_input)
    }

    /// As [`preinitialize`](Self::preinitialize), calling the init export
    /// `init_func` (for instance [`kiln_abi::exports::INIT_ENGINE`]).
    ///
    /// # Errors
    ///
    /// As [`preinitialize`](Self::preinitialize).
    pub fn preinitialize_with(&self, engine_wasm: &[u8], init_func: &str, init_input: &[u8]) -> Result<Snapshot, SnapshotError> {
        let mut timings = Timings::default();
        let mut wizer = Wizer::new();
        wizer.init_func(init_func);
        let (cx, instrumented) = wizer.instrument(engine_wasm).map_err(wasm_error("instrumenting the engine"))?;

        let started = Instant::now();
        let module = match &self.cache {
            Some(cache) => cache.load_or_compile(&self.engine, &instrumented, "engine"),
            None => Module::new(&self.engine, &instrumented),
        }
        .map_err(wasm_error("compiling the engine"))?;
        timings.compile = started.elapsed();

        let started = Instant::now();
        let (mut store, instance, stderr) = self.run_init(&module, init_func, init_input)?;
        timings.init = started.elapsed();

        let started = Instant::now();
        let mut state = StoreState { store: &mut store, instance };
        let wasm = block_on(wizer.snapshot(&cx, &mut state)).map_err(wasm_error("snapshotting the engine"))?;
        timings.snapshot = started.elapsed();

        Ok(Snapshot { wasm, stderr, timings })
    }

    /// Runs the init function of `engine_wasm` on `init_input` exactly as
    /// [`preinitialize`](Self::preinitialize) does, but takes no snapshot:
    /// the cheap way to learn whether an input initializes (e.g. whether a
    /// program compiles). The compiled engine is kept for the next call with
    /// the same bytes. Returns what the init function wrote to stderr.
    ///
    /// # Errors
    ///
    /// As [`preinitialize`](Self::preinitialize).
    pub fn check(&self, engine_wasm: &[u8], init_input: &[u8]) -> Result<Vec<u8>, SnapshotError> {
        let module = self.check_module(engine_wasm)?;
        let (_, _, stderr) = self.run_init(&module, INIT_EXPORT, init_input)?;
        Ok(stderr)
    }

    /// Runs the init function `init_func` of `engine_wasm` on `init_input`,
    /// as [`check`](Self::check) does, and returns what it kept at
    /// `kiln.output_ptr`/`kiln.output_len` (see
    /// [`kiln_abi::exports::COMPILE_BYTECODE`]), empty when it kept nothing.
    ///
    /// # Errors
    ///
    /// As [`preinitialize`](Self::preinitialize).
    pub fn run_for_output(&self, engine_wasm: &[u8], init_func: &str, init_input: &[u8]) -> Result<Vec<u8>, SnapshotError> {
        let module = self.check_module(engine_wasm)?;
        let (mut store, instance, _) = self.run_init(&module, init_func, init_input)?;
        read_output(&mut store, &instance)
    }

    /// Runs the init function `init_func` of `instrumented` (a module made by
    /// [`instrument`]) on `init_input`, as [`preinitialize`](Self::preinitialize)
    /// does, and reads the state it left straight out of the instance instead
    /// of writing a snapshot module: what a build that only diffs memory
    /// needs (dynamic modules), without wizer's validation, re-encoding and
    /// rewrite of the whole engine on every build. The compiled module is
    /// kept as [`check`](Self::check) keeps its own.
    ///
    /// # Errors
    ///
    /// As [`preinitialize`](Self::preinitialize); [`SnapshotError::Wasm`]
    /// when `instrumented` lacks the exports [`instrument`] adds.
    pub fn run_for_state(&self, instrumented: &[u8], init_func: &str, init_input: &[u8]) -> Result<InitState, SnapshotError> {
        let mut timings = Timings::default();
        let started = Instant::now();
        let module = self.check_module(instrumented)?;
        timings.compile = started.elapsed();
        let started = Instant::now();
        let (mut store, instance, stderr) = self.run_init(&module, init_func, init_input)?;
        timings.init = started.elapsed();
        let started = Instant::now();
        let state = read_state(&mut store, &instance, &module)?;
        timings.snapshot = started.elapsed();
        Ok(InitState { memory: state.0, globals: state.1, stderr, timings })
    }

    /// The engine compiled for [`check`](Self::check), from memory when the
    /// bytes are those of the last call.
    fn check_module(&self, engine_wasm: &[u8]) -> Result<Module, SnapshotError> {
        let key: [u8; 32] = sha2::Sha256::digest(engine_wasm).into();
        let mut memo = self.check_memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((memo_key, module)) = memo.as_ref()
            && *memo_key == key
        {
            return Ok(module.clone());
        }
        let module = match &self.cache {
            Some(cache) => cache.load_or_compile(&self.engine, engine_wasm, "engine-check"),
            None => Module::new(&self.engine, engine_wasm),
        }
        .map_err(wasm_error("compiling the engine"))?;
        *memo = Some((key, module.clone()));
        Ok(module)
    }

    /// Instantiates `module` under the sealed WASI context and calls its init
    /// function on a thread with room for its stack ([`init_config`]). Returns the
    /// initialized store and instance and what the init wrote to stderr.
    fn run_init(&self, module: &Module, init_func: &str, init_input: &[u8]) -> Result<(Store<WasiP1Ctx>, Instance, Vec<u8>), SnapshotError> {
        let (wasi, captured) = sealed_wasi::build(init_input);
        let mut store = Store::new(&self.engine, wasi);
        let mut linker: Linker<WasiP1Ctx> = Linker::new(&self.engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx).map_err(wasm_error("linking WASI"))?;
        let instance = linker.instantiate(&mut store, module).map_err(wasm_error("instantiating the engine"))?;
        // One epoch tick ends the init: the watchdog below ticks once the
        // limit passes, unless the init has finished (and said so) first.
        store.set_epoch_deadline(1);
        let limit = self.init_time_limit;
        let watchdog = kiln_host::Watchdog::start(&self.engine, limit);
        let called = kiln_host::on_large_stack("kiln-init", init_config().thread_stack(), || call_init(&mut store, &instance, init_func));
        watchdog.stop();
        let called = called.map_err(|e| SnapshotError::Wasm(format!("starting the init thread: {e}")))?;
        let stderr = captured.stderr();
        match called {
            Ok(()) => match read_report(&mut store, &instance)? {
                None => Ok((store, instance, stderr)),
                Some(report) => Err(SnapshotError::InitFailed { report, stderr }),
            },
            Err(error) if matches!(error.downcast_ref::<wasmtime::Trap>(), Some(wasmtime::Trap::Interrupt)) => {
                Err(SnapshotError::InitTimedOut { limit, stderr })
            }
            Err(error) => Err(init_failure(&error, stderr)),
        }
    }
}

/// The state an init left in its instance (see
/// [`Snapshotter::run_for_state`]).
#[derive(Debug)]
pub struct InitState {
    /// The instance's linear memory, as long as it is now.
    pub memory: Vec<u8>,
    /// Each mutable global the module defines, by index, as raw bits
    /// (`i32`/`f32` zero-extended).
    pub globals: Vec<(u32, u128)>,
    /// What the init function wrote to stderr.
    pub stderr: Vec<u8>,
    /// Where the time went (`snapshot`: reading the state out).
    pub timings: Timings,
}

/// `engine_wasm` with its memory and mutable globals exported under wizer's
/// names, as wizer instruments a module before its init: the input of
/// [`Snapshotter::run_for_state`]. Validates the module.
///
/// # Errors
///
/// [`SnapshotError::Wasm`] when `engine_wasm` is not a module wizer accepts.
pub fn instrument(engine_wasm: &[u8]) -> Result<Vec<u8>, SnapshotError> {
    let (_, instrumented) = Wizer::new().instrument(engine_wasm).map_err(wasm_error("instrumenting the engine"))?;
    Ok(instrumented)
}

/// The memory and mutable globals of `instance` (of `module`, made by
/// [`instrument`]).
fn read_state(store: &mut Store<WasiP1Ctx>, instance: &Instance, module: &Module) -> Result<(Vec<u8>, Vec<(u32, u128)>), SnapshotError> {
    let missing = || SnapshotError::Wasm("the engine was not instrumented: it exports no `__wizer_memory_0`".into());
    let memory = instance.get_memory(&mut *store, "__wizer_memory_0").ok_or_else(missing)?;
    let memory = memory.data(&*store).to_vec();
    let mut globals = Vec::new();
    for export in module.exports() {
        let Some(index) = export.name().strip_prefix("__wizer_global_").and_then(|i| i.parse::<u32>().ok()) else { continue };
        let global = instance.get_global(&mut *store, export.name()).ok_or_else(missing)?;
        let bits = match global.get(&mut *store) {
            wasmtime::Val::I32(x) => u128::from(x as u32),
            wasmtime::Val::I64(x) => u128::from(x as u64),
            wasmtime::Val::F32(x) => u128::from(x),
            wasmtime::Val::F64(x) => u128::from(x),
            wasmtime::Val::V128(x) => x.as_u128(),
            other => return Err(SnapshotError::Wasm(format!("the engine has a global wizer cannot read: {other:?}"))),
        };
        globals.push((index, bits));
    }
    globals.sort_unstable();
    Ok((memory, globals))
}

/// What the init kept for the compiler at `kiln.output_ptr`/`kiln.output_len`.
fn read_output(store: &mut Store<WasiP1Ctx>, instance: &Instance) -> Result<Vec<u8>, SnapshotError> {
    use kiln_abi::exports::{MEMORY, OUTPUT_LEN, OUTPUT_PTR};
    let (ptr, len) = (call_u32(store, instance, OUTPUT_PTR)?, call_u32(store, instance, OUTPUT_LEN)?);
    let memory = instance.get_memory(&mut *store, MEMORY).ok_or_else(|| SnapshotError::Wasm("the engine exports no memory".into()))?;
    let bytes = ptr.checked_add(len).and_then(|end| memory.data(&*store).get(ptr..end));
    bytes.map(<[u8]>::to_vec).ok_or_else(|| SnapshotError::Wasm("the engine's output lies outside its memory".into()))
}

/// Calls the engine's `() -> i32` export `name`.
fn call_u32(store: &mut Store<WasiP1Ctx>, instance: &Instance, name: &str) -> Result<usize, SnapshotError> {
    let func = instance.get_typed_func::<(), u32>(&mut *store, name).map_err(wasm_error("finding an export of the engine"))?;
    let value = func.call(&mut *store, ()).map_err(wasm_error("calling an export of the engine"))?;
    Ok(value as usize)
}

/// The report a failed init left in the engine's memory (see
/// [`kiln_abi::Report`]); `None` when the init succeeded.
fn read_report(store: &mut Store<WasiP1Ctx>, instance: &Instance) -> Result<Option<kiln_abi::Report>, SnapshotError> {
    use kiln_abi::exports::{MEMORY, REPORT_LEN, REPORT_PTR};
    let len = call_u32(store, instance, REPORT_LEN)?;
    if len == 0 {
        return Ok(None);
    }
    let ptr = call_u32(store, instance, REPORT_PTR)?;
    let memory = instance.get_memory(&mut *store, MEMORY).ok_or_else(|| SnapshotError::Wasm("the engine exports no memory".into()))?;
    let bytes = ptr.checked_add(len).and_then(|end| memory.data(&*store).get(ptr..end));
    let bytes = bytes.ok_or_else(|| SnapshotError::Wasm("the engine's report lies outside its memory".into()))?;
    kiln_abi::Report::decode(bytes).map(Some).map_err(|e| SnapshotError::Wasm(format!("the engine's report: {e}")))
}

/// Classifies a failed call of the init function.
fn init_failure(error: &wasmtime::Error, stderr: Vec<u8>) -> SnapshotError {
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return SnapshotError::InitExited { status: exit.0, stderr };
    }
    if stack_exhausted(error) {
        return SnapshotError::InitStackExhausted { stderr };
    }
    SnapshotError::InitTrapped { message: format!("{error:?}"), stderr }
}

/// Whether a trap means the engine ran out of stack. QuickJS-NG has no stack
/// limit of its own on WASI (`update_stack_limit` is compiled out), so deep
/// recursion — the parser's on deeply nested source included — ends either
/// in wasmtime's native stack check or in the shadow stack in linear memory
/// running past address 0: the engine is linked stack-first, so the stack
/// pointer wraps to just under 4 GiB and the next access faults there.
fn stack_exhausted(error: &wasmtime::Error) -> bool {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::StackOverflow) => true,
        Some(wasmtime::Trap::MemoryOutOfBounds) => {
            // wasmtime reports the address only in the error's text.
            let text = format!("{error:#}");
            let address = text
                .split("memory fault at wasm address 0x")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_hexdigit()).next())
                .and_then(|hex| u64::from_str_radix(hex, 16).ok());
            address.is_some_and(|a| (WRAPPED_STACK_START..=WRAPPED_STACK_END).contains(&a))
        }
        _ => false,
    }
}

/// Where an access through a wrapped-around shadow stack pointer lands: the
/// pointer is just under 4 GiB (a frame is far smaller than 16 MiB), and a
/// load's static offset may carry the effective address past 4 GiB. The
/// engine's memory never grows near 4 GiB at build time.
const WRAPPED_STACK_START: u64 = (u32::MAX as u64) + 1 - (16 << 20);
const WRAPPED_STACK_END: u64 = (u32::MAX as u64) + (u32::MAX as u64);

/// Calls the WASI reactor initializer, if any, then the init export.
fn call_init(store: &mut Store<WasiP1Ctx>, instance: &Instance, init_func: &str) -> wasmtime::Result<()> {
    if let Some(initialize) = instance.get_func(&mut *store, "_initialize") {
        initialize.typed::<(), ()>(&*store)?.call(&mut *store, ())?;
    }
    let init = instance.get_typed_func::<(), ()>(&mut *store, init_func)?;
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
