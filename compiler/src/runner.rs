//! Running a Kiln module (or any WASI preview 1 command) on an embedded
//! wasmtime, with the process's stdio passed through.

use crate::error::Error;
use std::time::{Duration, Instant};
use kiln_host::{HostConfig, Stdio};
use wasmtime::{Engine, Linker, Module, Store, Trap};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;

/// Limits and arguments for one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop the module once it has consumed this much fuel (default: no
    /// limit). Fuel is wasmtime's deterministic count of executed wasm
    /// operations.
    pub fuel: Option<u64>,
    /// Arguments the module sees (`argv[1..]`); `argv[0]` is the module name.
    pub args: Vec<String>,
    /// The exported function to call (default: `_start`). Function-mode
    /// modules export one `() -> ()` function per invoked JS export.
    pub entry: Option<String>,
    /// The most linear memory the module may have, in bytes (default: no
    /// limit beyond wasm's 4 GiB). Growing past it fails `memory.grow`,
    /// which QuickJS reports as an out-of-memory error.
    pub max_memory: Option<usize>,
    /// Stop the module once it has run this long (default: no limit).
    /// Implemented with wasmtime's epoch interruption, so it also stops a
    /// module stuck in a loop without calling the host.
    pub timeout: Option<Duration>,
    /// Where to keep the compiled module for next time (default: compile
    /// every run).
    pub cache: Option<crate::ModuleCache>,
    /// Read all of stdin before the run and collect stdout and stderr in
    /// memory instead of passing them through: the report then says how
    /// many bytes went each way ([`RunReport::stdio`]), and the caller
    /// writes the output out. For measuring a run against a platform's
    /// limits.
    pub capture_stdio: bool,
    /// The shared engine (`kiln engine`) to link a dynamic module against:
    /// instantiated first, then given to the module under its namespace. A
    /// dynamic module without one, or with another engine than the one it
    /// was built for, is an error before anything runs.
    pub engine: Option<Vec<u8>>,
}

/// The most a captured stdout or stderr may hold; writes past it fail.
const CAPTURE_LIMIT: usize = 256 << 20;

/// A run's stdio, when captured ([`RunOptions::capture_stdio`]).
#[derive(Debug, Clone, Default)]
pub struct CapturedStdio {
    /// How many bytes stdin held (all of them were offered to the module).
    pub input_bytes: u64,
    /// What the module wrote to stdout.
    pub stdout: Vec<u8>,
    /// What the module wrote to stderr.
    pub stderr: Vec<u8>,
}

/// The store's data: WASI plus the resource limiter.
struct RunState {
    wasi: WasiP1Ctx,
    limits: MemoryCap,
}

/// Caps linear memory, remembers whether the cap was hit and how large
/// memory grew. A refused `memory.grow` is not a trap: the module sees it
/// fail, and QuickJS throws a catchable out-of-memory error.
struct MemoryCap {
    max: Option<usize>,
    refused: bool,
    /// The largest memory allowed so far (its creation counts).
    peak: usize,
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.max.is_none_or(|max| desired <= max);
        self.refused |= !allowed;
        if allowed {
            self.peak = self.peak.max(desired);
        }
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The module exited (returned from `_start`: 0, or `proc_exit(code)`).
    Exited(i32),
    /// The fuel limit was reached.
    OutOfFuel,
    /// The time limit was reached.
    TimedOut,
    /// The module trapped: a bug in the module or the engine.
    Trapped(String),
    /// The memory limit refused to grow memory, and then the module failed
    /// (exited non-zero or trapped): the limit is why. A module that
    /// recovers from the refusal and exits 0 is [`Outcome::Exited`].
    OutOfMemory {
        /// What the module did: exited with this status, or trapped.
        status: Option<i32>,
    },
}

/// What a run did and what it cost.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// How it ended.
    pub outcome: Outcome,
    /// Fuel consumed by instantiation and `_start`.
    pub fuel_consumed: u64,
    /// Time to compile the module to machine code.
    pub compile_time: Duration,
    /// Time from instantiation to exit.
    pub run_time: Duration,
    /// The largest the module's linear memory grew (wasm memory never
    /// shrinks: its size at exit).
    pub peak_memory: u64,
    /// The run's stdio, if [`RunOptions::capture_stdio`] asked for it.
    pub stdio: Option<CapturedStdio>,
}

/// Compiles and runs `wasm` (read from `name`) with the process's stdio.
///
/// # Errors
///
/// [`Error::NotWasm`] if `wasm` is not a valid module or lacks `_start`;
/// [`Error::Run`] if WASI cannot be set up. The module's own failures are
/// reported in [`RunReport::outcome`].
pub fn run_module(name: &str, wasm: &[u8], options: &RunOptions) -> Result<RunReport, Error> {
    // Wasm runs on the calling thread's stack; give it a thread whose stack
    // holds the wasm stack limit plus room for the host's own frames.
    kiln_host::on_large_stack("kiln-run", HostConfig::run().thread_stack(), || run_on_this_thread(name, wasm, options))
        .map_err(|e| Error::Run(format!("starting the run thread: {e}")))?
}

/// The native stack a module's wasm frames may use (wasmtime's default is
/// 512 KiB). QuickJS's own limit (`kiln_abi::stack::QUICKJS_LIMIT`) is sized
/// so that deep recursion throws a `RangeError` well before this is reached.
pub const WASM_STACK: usize = kiln_abi::stack::RUN_WASM_STACK;

/// Names `kiln run`'s entries in the compiled-code cache. It changes with
/// [`HostConfig::run`] where wasmtime's compatibility hash would not notice
/// (the dense-image size: the memory image is baked into the compiled
/// artifact).
const RUN_CACHE_PURPOSE: &str = "run-dense256m";

fn run_on_this_thread(name: &str, wasm: &[u8], options: &RunOptions) -> Result<RunReport, Error> {
    if !wasm.starts_with(b"\0asm") {
        return Err(Error::NotWasm { path: name.into(), reason: "it does not start with the wasm magic bytes `\\0asm`".into() });
    }
    let mut config = HostConfig::run().wasmtime();
    // A module not seen before still shares nearly all its code with every
    // other Kiln module (the engine's): Cranelift finds those functions in
    // the cache instead of compiling them.
    let incremental = match &options.cache {
        Some(cache) => Some(cache.enable_incremental(&mut config).map_err(|e| Error::Run(format!("configuring wasmtime: {e:#}")))?),
        None => None,
    };
    let engine = Engine::new(&config).map_err(|e| Error::Run(format!("configuring wasmtime: {e:#}")))?;

    // First: the shared engine run alone, or a dynamic module without it,
    // are the user's mistakes to explain, not modules to compile.
    let linked = linked_engine(name, wasm, options)?;

    let started = Instant::now();
    // With a cache, a module that differs from one compiled before only in
    // its data (every freshly built Kiln module) reuses that compiled code:
    // `restore` then gives the instance the module's own memory (see
    // `kiln_host::Split`).
    let (module, restore) = match &options.cache {
        Some(cache) => cache.load_or_compile_split(&engine, wasm, RUN_CACHE_PURPOSE, options.max_memory.map(|max| max as u64)),
        None => Module::new(&engine, wasm).map(|module| (module, None)),
    }
    .map_err(|e| Error::NotWasm { path: name.into(), reason: format!("{e:#}") })?;
    if let Some(store) = &incremental {
        store.flush();
    }
    let compile_time = started.elapsed();
    let entry = options.entry.as_deref().unwrap_or(kiln_abi::exports::START);
    match module.get_export(entry) {
        Some(wasmtime::ExternType::Func(_)) => {}
        _ if entry == kiln_abi::exports::START => {
            return Err(Error::NotWasm { path: name.into(), reason: "it has no `_start` export (not a WASI command)".into() });
        }
        _ => {
            let functions: Vec<_> = module.exports().filter(|e| matches!(e.ty(), wasmtime::ExternType::Func(_))).map(|e| e.name().to_string()).collect();
            return Err(Error::Run(format!("{name} has no exported function `{entry}` (it exports: {})", functions.join(", "))));
        }
    }

    let engine_module = match &linked {
        Some((engine_wasm, _)) => Some(
            match &options.cache {
                Some(cache) => cache.load_or_compile(&engine, engine_wasm, RUN_CACHE_PURPOSE),
                None => Module::new(&engine, engine_wasm),
            }
            .map_err(|e| Error::Run(format!("compiling the shared engine: {e:#}")))?,
        ),
        None => None,
    };

    let mut argv = vec![name.to_string()];
    argv.extend(options.args.iter().cloned());
    let mut wasi = WasiCtxBuilder::new();
    wasi.args(&argv);
    let (stdio, input_bytes) = if options.capture_stdio { all_of_stdin()? } else { (Stdio::inherit(), None) };
    let captured = stdio.apply(&mut wasi);
    let wasi = wasi.build_p1();
    let limits = MemoryCap { max: options.max_memory, refused: false, peak: 0 };
    let mut store = Store::new(&engine, RunState { wasi, limits });
    store.limiter(|state| &mut state.limits);
    let budget = options.fuel.unwrap_or(u64::MAX);
    store.set_fuel(budget).map_err(|e| Error::Run(format!("setting fuel: {e:#}")))?;
    let mut linker: Linker<RunState> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state| &mut state.wasi).map_err(|e| Error::Run(format!("linking WASI: {e:#}")))?;

    store.set_epoch_deadline(1);
    let watchdog = options.timeout.map(|limit| kiln_host::Watchdog::start(&engine, limit));
    let started = Instant::now();
    let stack_cell = host_stack_cell(linked.as_ref().map_or(wasm, |(engine_wasm, _)| engine_wasm.as_slice()));
    let result = (|| {
        // A dynamic module: the engine first, under the namespace the
        // module imports it from; the module's instantiation then writes
        // its program into the engine's memory.
        let memory_owner = match (&engine_module, &linked) {
            (Some(engine_module), Some((_, namespace))) => {
                let engine_instance = linker.instantiate(&mut store, engine_module)?;
                linker.instance(&mut store, namespace, engine_instance)?;
                Some(engine_instance)
            }
            _ => None,
        };
        let instance = linker.instantiate(&mut store, &module)?;
        // A module compiled in its canonical form gets its own memory now
        // (a dynamic module has none of its own, so never takes this path).
        if let Some(split) = &restore {
            split.restore(&mut store, &instance)?;
        }
        if let Some(cell) = stack_cell {
            tell_host_stack(&mut store, &memory_owner.unwrap_or(instance), cell)?;
        }
        instance.get_typed_func::<(), ()>(&mut store, entry)?.call(&mut store, ())
    })();
    let run_time = started.elapsed();
    if let Some(watchdog) = watchdog {
        watchdog.stop();
    }
    let fuel_consumed = budget - store.get_fuel().unwrap_or(0);

    let memory_refused = store.data().limits.refused;
    let peak_memory = store.data().limits.peak as u64;
    let stdio = input_bytes.map(|input_bytes| CapturedStdio { input_bytes, stdout: captured.stdout(), stderr: captured.stderr() });
    let outcome = match result {
        Ok(()) => Outcome::Exited(0),
        Err(error) => {
            if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Outcome::Exited(exit.0)
            } else if matches!(error.downcast_ref::<Trap>(), Some(Trap::OutOfFuel)) {
                Outcome::OutOfFuel
            } else if matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
                Outcome::TimedOut
            } else if error.downcast_ref::<Trap>().is_some() {
                Outcome::Trapped(format!("{error:?}"))
            } else {
                // One line: the cause, without wasmtime's backtrace.
                return Err(Error::Run(format!("{name} failed: {}", error.root_cause())));
            }
        }
    };
    let outcome = match outcome {
        Outcome::Exited(status) if memory_refused && status != 0 => Outcome::OutOfMemory { status: Some(status) },
        Outcome::Trapped(_) if memory_refused => Outcome::OutOfMemory { status: None },
        other => other,
    };
    Ok(RunReport { outcome, fuel_consumed, compile_time, run_time, peak_memory, stdio })
}

/// The shared engine a dynamic module links against, with its namespace;
/// `None` for a module that carries its own engine.
fn linked_engine(name: &str, wasm: &[u8], options: &RunOptions) -> Result<Option<(Vec<u8>, String)>, Error> {
    use crate::dynamic::{ModuleRole, module_role};
    let role = module_role(wasm).ok_or_else(|| Error::NotWasm { path: name.into(), reason: "it is not a readable WebAssembly module".into() })?;
    let given = options.engine.as_ref().map(|engine| (engine, module_role(engine)));
    match (role, given) {
        (ModuleRole::Engine { .. }, _) => Err(Error::Run(format!(
            "{name} is Kiln's shared engine, which holds no program: run a module built with `kiln build --dynamic`, with `--engine {name}`"
        ))),
        (ModuleRole::Dynamic { namespace }, None) => Err(Error::Run(format!(
            "{name} is a dynamic module: it links against the shared engine {namespace}; run it with `--engine kiln-engine.wasm`, the engine `kiln engine -o kiln-engine.wasm` writes (same kiln, same --lean and --eval as the build)"
        ))),
        (ModuleRole::Dynamic { namespace }, Some((engine, Some(ModuleRole::Engine { namespace: offered })))) => {
            if offered == namespace {
                Ok(Some((engine.clone(), namespace)))
            } else {
                Err(Error::Run(format!(
                    "{name} was built for the shared engine {namespace}, but the engine given is {offered}: rebuild the module, or write the engine, with the same kiln and the same --lean and --eval"
                )))
            }
        }
        (ModuleRole::Dynamic { .. }, Some(_)) => Err(Error::Run("the --engine module is not a Kiln shared engine (write one with `kiln engine -o kiln-engine.wasm`)".into())),
        (ModuleRole::Standalone, Some(_)) => Err(Error::Run(format!("{name} is not a dynamic module: it runs without --engine"))),
        (ModuleRole::Standalone, None) => Ok(None),
    }
}

/// Stdio that gives the module all of the process's stdin, read now, and
/// keeps stdout and stderr in memory; with stdin's length.
fn all_of_stdin() -> Result<(Stdio, Option<u64>), Error> {
    use std::io::Read;
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).map_err(|e| Error::Run(format!("reading stdin: {e}")))?;
    let input_bytes = input.len() as u64;
    Ok((Stdio::in_memory(input, CAPTURE_LIMIT), Some(input_bytes)))
}

/// Where a Kiln module wants to be told its native stack: the address in
/// its `kiln.host-stack` custom section (see `crate::rewrite`), if any.
pub(crate) fn host_stack_cell(wasm: &[u8]) -> Option<u32> {
    wasmparser::Parser::new(0).parse_all(wasm).find_map(|payload| match payload {
        Ok(wasmparser::Payload::CustomSection(section)) if section.name() == kiln_abi::stack::HOST_STACK_SECTION => {
            section.data().try_into().ok().map(u32::from_le_bytes)
        }
        _ => None,
    })
}

/// Writes [`WASM_STACK`] into the module's host-stack cell, so that its
/// recursion limit uses the stack this runner gives (other hosts leave the
/// cell alone, and the module assumes their smaller default).
fn tell_host_stack(store: &mut Store<RunState>, instance: &wasmtime::Instance, cell: u32) -> wasmtime::Result<()> {
    let memory = instance.get_memory(&mut *store, "memory").ok_or_else(|| wasmtime::format_err!("the module exports no memory"))?;
    let size = u32::try_from(WASM_STACK).unwrap_or(u32::MAX);
    memory.write(&mut *store, cell as usize, &size.to_le_bytes()).map_err(|_| wasmtime::format_err!("the module's host-stack cell lies outside its memory"))
}

