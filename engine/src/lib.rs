//! Kiln's engine: QuickJS (through rquickjs) built for `wasm32-wasip1`.
//!
//! The engine is never run as it is. `kiln-snapshot` instantiates it at build
//! time, feeds the program on stdin and calls [`kiln_init`]; the state that
//! leaves in linear memory becomes the output module's data segments. Each
//! run of that module then enters through [`start`].
//!
//! # Exports
//!
//! - `kiln.init` (build time only, removed from the output): creates the
//!   runtime and context, installs the JavaScript API, reads the init input
//!   ([`kiln_abi::InitInput`]) from stdin and compiles the program to
//!   bytecode, keeping it in memory. On failure it keeps a
//!   [`kiln_abi::Report`] in memory, where `kiln.report_ptr` and
//!   `kiln.report_len` point the snapshotter: stderr is the program's.
//! - `_start` (every run): evaluates the compiled program, runs Promise jobs
//!   to completion and flushes stdout. An uncaught exception is reported on
//!   stderr as `Uncaught Error: message` plus the stack, and the module exits
//!   with status 1 through `proc_exit`, never a trap.
//!
//! The JavaScript parser never runs at `_start`: the program was compiled
//! during `kiln.init`, together with every file it imports (see `modules`).

// The exports carry their wasm names only on wasm: built natively (for the
// unit tests), `_start` would clash with the C runtime's.
mod function;
mod modules;
mod scrub;
mod stack;

use kiln_abi::{JsError, Location, ModuleKind, Report, SourceKind};
use kiln_js_runtime::{JsRuntime, StdHost, UnhandledRejections};
use rquickjs::{Context, Ctx, FromJs, Persistent, Runtime, Value, qjs};
use std::cell::{Cell, RefCell};
use std::io::Read;
use std::rc::Rc;

/// How much of the shadow stack (see build.rs) QuickJS may use while the
/// program is compiled (and, in function mode, its top level runs) inside
/// `kiln build`, which gives the engine `kiln_abi::stack::INIT_WASM_STACK`
/// of native stack. Each run then sizes the limit for its host's stack
/// (see `stack`).
const INIT_STACK_BUDGET: usize = kiln_abi::stack::QUICKJS_LIMIT;

/// QuickJS's (and V8's) message when the stack check throws.
const STACK_EXHAUSTED: &str = "Maximum call stack size exceeded";

/// Exit status when stdout's reader has gone away (`| head -c 10`): success,
/// as ripgrep counts it. The reader chose to stop reading; a shell's 141
/// (128 + SIGPIPE) is not an option, as WASI hosts such as wasmtime accept
/// only statuses below 126.
const EXIT_STDOUT_CLOSED: i32 = 0;

/// Everything the init function prepares, kept for `_start`.
///
/// Fields drop in declaration order: everything holding JavaScript values
/// before the context, the context before the runtime (a failed build drops
/// the engine; freeing a value after its runtime faults).
struct Engine {
    /// Installs the program's position tables: prepared with the engine,
    /// since its source is wiped before the program comes.
    positions_installer: Option<Persistent<rquickjs::Function<'static>>>,
    /// What `_start` runs.
    mode: Mode,
    js: JsRuntime,
    rejections: Rc<UnhandledRejections>,
    ctx: Context,
    rt: Runtime,
}

/// Script mode runs a program once; function mode calls exported functions
/// of a module whose top level already ran at build time.
enum Mode {
    /// No program yet: the shared engine of dynamic modules, whose program
    /// module brings one (see [`kiln_init_program`]).
    Empty,
    /// The compiled program, taken by the first `_start`.
    Program(Cell<Option<Program>>),
    /// The invoked exports, in `--invoke` order, and how they do I/O.
    Functions(function::Functions),
}

/// A compiled but not yet evaluated program: a bytecode function (script) or
/// a module record. Owns one reference to the value.
struct Program {
    value: qjs::JSValue,
}

#[global_allocator]
static ALLOCATOR: scrub::ScrubbingAllocator = scrub::ScrubbingAllocator;

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    /// The encoded report of a failed init; empty until one fails.
    static REPORT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// What `kiln.compile_bytecode` kept (see [`kiln_compile_bytecode`]).
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Build-time entry point of a static module: the engine, then the program
/// on stdin, compiled into memory.
#[cfg_attr(target_family = "wasm", unsafe(export_name = kiln_abi::export_name!(init)))]
pub extern "C" fn kiln_init() {
    initialize(|| init_program(init_engine()?, Garbage::Collect));
}

/// Build-time entry point of the shared engine of dynamic modules: the
/// runtime, the context and the JavaScript API, without a program. Its
/// snapshot is what every dynamic module's engine starts from.
#[cfg_attr(target_family = "wasm", unsafe(export_name = kiln_abi::export_name!(init_engine)))]
pub extern "C" fn kiln_init_engine() {
    initialize(init_engine);
}

/// Build-time entry point of a dynamic module, called on an instance of the
/// shared engine's snapshot: compiles the program on stdin into memory, as
/// [`kiln_init`] does after its engine part. What this changes in memory is
/// what the dynamic module carries.
#[cfg_attr(target_family = "wasm", unsafe(export_name = kiln_abi::export_name!(init_program)))]
pub extern "C" fn kiln_init_program() {
    initialize(|| match ENGINE.with(|e| e.borrow_mut().take()) {
        Some(engine) if matches!(engine.mode, Mode::Empty) => init_program(engine, Garbage::Keep),
        Some(_) => Err(internal("this engine already holds a program")),
        None => Err(internal("the engine is not initialized (kiln.init_engine first)")),
    });
}

/// Build-time entry point of a dynamic module in bytecode form, called on an
/// instance of the shared engine's snapshot: compiles the program on stdin,
/// when it is a lone classic script without a source map, and keeps its
/// bytecode for `kiln.output_ptr`/`kiln.output_len`. Keeps nothing for
/// another program (the compiler then builds the memory-image form) and a
/// report for one that does not compile. The instance is thrown away.
#[cfg_attr(target_family = "wasm", unsafe(export_name = kiln_abi::export_name!(compile_bytecode)))]
pub extern "C" fn kiln_compile_bytecode() {
    let result = ENGINE.with(|e| match e.borrow().as_ref() {
        Some(engine) if matches!(engine.mode, Mode::Empty) => compile_bytecode(engine),
        Some(_) => Err(internal("this engine already holds a program")),
        None => Err(internal("the engine is not initialized (kiln.init_engine first)")),
    });
    match result {
        Ok(bytecode) => OUTPUT.with(|o| *o.borrow_mut() = bytecode),
        Err(report) => REPORT.with(|r| *r.borrow_mut() = report.encode()),
    }
}

/// Build time: where what `kiln.compile_bytecode` kept is.
#[cfg_attr(target_family = "wasm", unsafe(export_name = kiln_abi::export_name!(output_ptr)))]
pub extern "C" fn output_ptr() -> *const u8 {
    OUTPUT.with(|o| o.borrow().as_ptr())
}

/// Build time: its length in bytes, 0 when nothing was kept.
#[cfg_attr(target_family = "wasm", unsafe(export_name = kiln_abi::export_name!(output_len)))]
pub extern "C" fn output_len() -> usize {
    OUTPUT.with(|o| o.borrow().len())
}

/// The bytecode of the init input's program on stdin, if it is a lone
/// classic script without a source map; empty otherwise.
fn compile_bytecode(engine: &Engine) -> Result<Vec<u8>, Report> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| internal(format!("reading the init input: {e}")))?;
    let input = kiln_abi::InitInput::decode(&input).map_err(|e| internal(e.to_string()))?;
    let [entry] = input.modules.as_slice() else { return Ok(Vec::new()) };
    let kind = match entry.kind {
        ModuleKind::JavaScript(kind @ (SourceKind::Script | SourceKind::Auto)) => kind,
        _ => return Ok(Vec::new()),
    };
    if entry.name != input.entry || entry.source_map.is_some() || input.function_mode.is_some() {
        return Ok(Vec::new());
    }
    engine.ctx.with(|ctx| {
        let compiled = match kiln_js_runtime::compile_script(&ctx, &entry.name, &entry.source, false, false) {
            Ok(compiled) => compiled,
            // A detected source that is no script may be a module: the
            // memory-image build decides, and reports its errors.
            Err(_) if kind == SourceKind::Auto => {
                let _ = ctx.catch();
                return Ok(Vec::new());
            }
            Err(_) => return Err(exception_report(&ctx, Stage::Compile)),
        };
        let raw = ctx.as_raw().as_ptr();
        let mut len: qjs::size_t = 0;
        // The source text stays, as in a static module (`toString()`).
        // SAFETY: `compiled` is a live value of this context; the buffer
        // QuickJS returns is ours to free with `js_free`.
        unsafe {
            let buf = qjs::JS_WriteObject(raw, &mut len, compiled.as_raw(), qjs::JS_WRITE_OBJ_BYTECODE as i32);
            if buf.is_null() {
                return Err(internal("writing the program's bytecode failed"));
            }
            let mut bytecode = std::slice::from_raw_parts(buf, len as usize).to_vec();
            qjs::js_free(raw, buf.cast());
            skip_checksum(&mut bytecode);
            Ok(bytecode)
        }
    })
}

/// Where QuickJS's bytecode header keeps its checksum: a `u32` after the
/// version byte.
const BYTECODE_CHECKSUM: std::ops::Range<usize> = 1..5;

/// Marks `bytecode` as carrying no checksum (`UINT32_MAX`, which QuickJS's
/// reader accepts as such). Verifying it costs ~1.3 fuel per byte on
/// every run, for nothing: the bytes sit in a module that names this exact
/// engine by hash; a damaged module is the host's to refuse, as any other.
fn skip_checksum(bytecode: &mut [u8]) {
    if let Some(checksum) = bytecode.get_mut(BYTECODE_CHECKSUM) {
        checksum.copy_from_slice(&u32::MAX.to_le_bytes());
    }
}

/// Run-time entry point of a dynamic module in bytecode form (its `_start`
/// calls this): reads the script's bytecode at `ptr` and runs it, as
/// `_start` runs a static module's program.
///
/// # Safety
///
/// `ptr..ptr + len` must be readable memory of this instance (the program
/// module's data segment).
#[cfg_attr(target_family = "wasm", unsafe(export_name = kiln_abi::export_name!(run_bytecode)))]
pub unsafe extern "C" fn run_bytecode(ptr: *const u8, len: usize) {
    exit_unless_ok(with_engine(|engine| match &engine.mode {
        // SAFETY: as this function's contract says.
        Mode::Empty => match unsafe { read_bytecode(engine, ptr, len) } {
            Ok(program) => run(engine, &Cell::new(Some(program))),
            Err(message) => {
                eprintln!("kiln: {message}");
                2
            }
        },
        _ => {
            eprintln!("kiln: this module already holds a program: run it on its own");
            2
        }
    }));
}

/// The script whose bytecode is at `ptr..ptr + len`.
///
/// # Safety
///
/// As [`run_bytecode`].
unsafe fn read_bytecode(engine: &Engine, ptr: *const u8, len: usize) -> Result<Program, String> {
    engine.ctx.with(|ctx| {
        let raw = ctx.as_raw().as_ptr();
        // SAFETY: the context is live; the bytes are readable (the caller's
        // contract) and copied by QuickJS (no JS_READ_OBJ_ROM_DATA).
        let value = unsafe { qjs::JS_ReadObject(raw, ptr, len as _, qjs::JS_READ_OBJ_BYTECODE as i32) };
        let is_function = unsafe { qjs::JS_VALUE_GET_TAG(value) } == qjs::JS_TAG_FUNCTION_BYTECODE as i32;
        if unsafe { qjs::JS_IsException(value) } || !is_function {
            let _ = ctx.catch();
            // SAFETY: we own `value` (freeing an exception is a no-op).
            unsafe { qjs::JS_FreeValue(raw, value) };
            return Err("the program module's bytecode does not load into this engine (rebuild it with `kiln build --dynamic`)".to_string());
        }
        Ok(Program { value })
    })
}

/// Runs a build-time initialization with freed memory scrubbed, and keeps
/// its engine or its report.
fn initialize(init: impl FnOnce() -> Result<Engine, Report>) {
    scrub::start();
    let result = init();
    scrub::lift_memory_limit();
    // With the runtime still alive: its free small blocks are garbage too.
    scrub::zero_free_arena_blocks();
    scrub::stop();
    match result {
        Ok(engine) => {
            ENGINE.with(|e| *e.borrow_mut() = Some(engine));
            scrub::clear_unused_stack();
        }
        Err(report) => {
            // Whatever the program did next (QuickJS threw `out of memory`,
            // which it may have caught), the limit is why it failed.
            let report = match scrub::exceeded_memory_limit() {
                Some(limit) => Report::OutOfMemory { limit: limit as u64 },
                None => report,
            };
            REPORT.with(|r| *r.borrow_mut() = report.encode());
        }
    }
}

/// Build time: where the report of a failed init is (see [`kiln_abi::Report`]).
#[cfg_attr(target_family = "wasm", unsafe(export_name = kiln_abi::export_name!(report_ptr)))]
pub extern "C" fn report_ptr() -> *const u8 {
    REPORT.with(|r| r.borrow().as_ptr())
}

/// Build time: the length of the report, 0 when the init succeeded.
#[cfg_attr(target_family = "wasm", unsafe(export_name = kiln_abi::export_name!(report_len)))]
pub extern "C" fn report_len() -> usize {
    REPORT.with(|r| r.borrow().len())
}

/// Run-time entry point: evaluate the pre-compiled program, or in function
/// mode call the first invoked function.
#[cfg_attr(target_family = "wasm", unsafe(export_name = kiln_abi::export_name!(start)))]
pub extern "C" fn start() {
    exit_unless_ok(with_engine(|engine| match &engine.mode {
        Mode::Program(program) => run(engine, program),
        Mode::Functions(functions) => functions.invoke(engine, 0),
        Mode::Empty => no_program(),
    }));
}

/// Function mode: call the invoked function number `index`. The compiler
/// gives each invoked function a wasm export of its own that calls this.
#[cfg_attr(target_family = "wasm", unsafe(export_name = kiln_abi::export_name!(invoke)))]
pub extern "C" fn invoke(index: u32) {
    exit_unless_ok(with_engine(|engine| match &engine.mode {
        Mode::Functions(functions) => functions.invoke(engine, index as usize),
        Mode::Program(_) => {
            eprintln!("kiln: this module has no invoked functions");
            2
        }
        Mode::Empty => no_program(),
    }));
}

/// Stands in for QuickJS's `__JS_EvalInternal` in modules built without
/// `--eval`.
///
/// The compiler points the function-table entry of `__JS_EvalInternal` at
/// this function after the snapshot (see `compiler/src/rewrite.rs`). That
/// table entry is the only way a running module reaches QuickJS's parser
/// (`eval`, `new Function`, `import()` of source text all go through
/// `ctx->eval_internal`), so once it is replaced the whole parser and
/// bytecode compiler become unreachable and are removed from the output.
/// The signature must stay exactly that of `eval_internal` in quickjs.c; the
/// rewrite checks that the two wasm types agree.
///
/// # Safety
///
/// Called by QuickJS with a live context.
#[cfg_attr(target_family = "wasm", unsafe(export_name = kiln_abi::export_name!(eval_disabled)))]
pub unsafe extern "C" fn eval_disabled(
    ctx: *mut qjs::JSContext,
    _this: qjs::JSValue,
    _input: *const std::ffi::c_char,
    _input_len: usize,
    _filename: *const std::ffi::c_char,
    _line: std::ffi::c_int,
    _flags: std::ffi::c_int,
    _scope_idx: std::ffi::c_int,
) -> qjs::JSValue {
    const MESSAGE: &std::ffi::CStr =
        c"eval and new Function are not available: this module was built without the JavaScript parser (rebuild with `kiln build --eval`)";
    // SAFETY: `ctx` is the live context QuickJS called us with; the message
    // has no format directives, so no variadic arguments are read.
    unsafe { qjs::JS_ThrowTypeError(ctx, MESSAGE.as_ptr()) }
}

/// `_start` of the shared engine run on its own.
fn no_program() -> i32 {
    eprintln!("kiln: this is Kiln's shared engine, which holds no program: run a module built with `kiln build --dynamic`, linked against it");
    2
}

fn with_engine(f: impl FnOnce(&Engine) -> i32) -> i32 {
    ENGINE.with(|e| match e.borrow().as_ref() {
        Some(engine) => {
            stack::apply_host_stack();
            engine.js.begin_run();
            f(engine)
        }
        None => {
            eprintln!("kiln: this module was not pre-initialised (build it with `kiln build`)");
            2
        }
    })
}

fn exit_unless_ok(status: i32) {
    if status != 0 {
        std::process::exit(status);
    }
}

/// A failure of the engine's own (not the program's).
pub(crate) fn internal(message: impl Into<String>) -> Report {
    Report::Internal { message: message.into() }
}

/// What the program's entry is made of, taken out of the init input.
pub(crate) struct Entry {
    /// Its name.
    pub(crate) file: String,
    /// Script, module or detect.
    pub(crate) kind: SourceKind,
    /// Its source.
    pub(crate) source: Vec<u8>,
}

/// The engine without a program: runtime, context, stack limit and the
/// JavaScript API.
fn init_engine() -> Result<Engine, Report> {
    let rt = Runtime::new_with_alloc(scrub::QuickJsAllocator).map_err(|e| internal(format!("creating the runtime: {e}")))?;
    let rejections = UnhandledRejections::track(&rt);
    let ctx = Context::full(&rt).map_err(|e| internal(format!("creating the context: {e}")))?;
    ctx.with(|ctx| stack::install_limit(&ctx, INIT_STACK_BUDGET)).map_err(|e| internal(format!("limiting the stack: {e}")))?;
    // The module runs on one thread: an `Atomics.wait` could never be woken
    // (and the C shim behind it cannot wait, see
    // engine/c/single_thread_atomics.h). As on a browser's main thread, it
    // throws `TypeError: cannot block in this thread` instead. QuickJS's
    // default is the same; saying so here keeps it true whatever rquickjs
    // or QuickJS default to.
    // SAFETY: the context is live, and so is its runtime.
    ctx.with(|ctx| unsafe { qjs::JS_SetCanBlock(qjs::JS_GetRuntime(ctx.as_raw().as_ptr()), false) });
    let js = ctx
        .with(|ctx| JsRuntime::install(&ctx, StdHost))
        .map_err(|e| internal(format!("installing the runtime API: {e}")))?;
    let positions_installer = ctx
        .with(|ctx| kiln_js_runtime::positions_installer(&ctx).map(|f| Persistent::save(&ctx, f)))
        .map_err(|e| internal(format!("preparing the position tables: {e}")))?;
    // SAFETY: the API is installed once per process, just above, and so is
    // the positions installer.
    unsafe { kiln_js_runtime::wipe_sources() };
    // The shared engine runs as it is (a bytecode program module brings no
    // memory of its own): its first allocation must not start a collection.
    // A program's init sets the threshold again.
    settle_heap(&rt, Garbage::Keep);
    Ok(Engine { rt, ctx, js, rejections, mode: Mode::Empty, positions_installer: Some(positions_installer) })
}

/// Gives `engine` the program of the init input on stdin, compiled (in
/// function mode, with its top level run).
fn init_program(mut engine: Engine, garbage: Garbage) -> Result<Engine, Report> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| internal(format!("reading the init input: {e}")))?;
    let mut input = kiln_abi::InitInput::decode(&input).map_err(|e| internal(e.to_string()))?;
    // The position tables of transformed modules (see `kiln-positions`).
    let position_tables: Vec<(String, Vec<u8>)> =
        input.modules.iter_mut().filter_map(|m| Some((m.name.clone(), m.source_map.take()?))).collect();
    let at = input.modules.iter().position(|m| m.name == input.entry && matches!(m.kind, ModuleKind::JavaScript(_)));
    let Some(entry) = at.map(|at| input.modules.remove(at)) else { return Err(internal("the init input has no entry")) };
    let ModuleKind::JavaScript(kind) = entry.kind else { return Err(internal("the entry is not JavaScript")) };
    let entry = Entry { file: entry.name, kind, source: entry.source };
    // Counts what the program allocates from here on; the engine's own
    // blocks, allocated before, are a fixed cost no program controls.
    if let Some(max) = input.limits.max_memory {
        scrub::limit_memory(usize::try_from(max).unwrap_or(usize::MAX));
    }
    // A static module drops the installer (its garbage is collected); a
    // dynamic one keeps it, as freeing it would put its bytes, zeroed,
    // into the program's patch.
    let installer = if garbage == Garbage::Collect { engine.positions_installer.take() } else { engine.positions_installer.clone() };
    let Engine { rt, ctx, js, rejections, .. } = &engine;
    // Before anything compiles: a build-time error in a transformed module
    // is reported in its original positions too.
    if !position_tables.is_empty() {
        let installer = installer.ok_or_else(|| internal("the position tables' installer is gone"))?;
        ctx.with(|ctx| kiln_js_runtime::install_positions_with(&ctx, &installer.restore(&ctx)?, position_tables))
            .map_err(|e| internal(format!("installing the position tables: {e}")))?;
    }
    // The imported files: served from memory while the program compiles.
    let catalog = modules::install(rt, std::mem::take(&mut input.modules), std::mem::take(&mut input.import_map));
    let mode = match &input.function_mode {
        None => {
            let program = ctx.with(|ctx| compile(&ctx, &entry))?;
            if unsafe { qjs::JS_VALUE_GET_TAG(program.value) } == qjs::JS_TAG_MODULE {
                ctx.with(|ctx| modules::check_links(&ctx, &entry.file, rejections))?;
            }
            Mode::Program(Cell::new(Some(program)))
        }
        Some(mode) => {
            js.set_console_to_stderr(true);
            js.set_build_time(true);
            let functions = function::prepare(rt, ctx, js, rejections, &entry, mode)?;
            js.set_build_time(false);
            Mode::Functions(functions)
        }
    };
    ctx.with(|ctx| modules::preload_data(&ctx, &catalog))?;
    ctx.with(|ctx| modules::compile_rest(&ctx, &catalog))?;
    settle_heap(rt, garbage);
    engine.mode = mode;
    Ok(engine)
}

/// Collects the garbage of initialization, keeping it out of the snapshot,
/// and sets QuickJS's next-collection threshold from the live heap.
///
/// Snapshot hazard: without this, the threshold left by initialization lies
/// below the heap's size, so the first allocation of every run would start a
/// full collection (measured: ~14,000 fuel for an empty program).
fn settle_heap(rt: &Runtime, garbage: Garbage) {
    if garbage == Garbage::Collect {
        rt.run_gc();
    }
    let live = usize::try_from(rt.memory_usage().malloc_size).unwrap_or(0);
    rt.set_gc_threshold(live + (live / 2).max(GC_HEADROOM));
}

/// Whether the end of a build collects the garbage of initialization.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Garbage {
    /// A static module's build: collected, so that it stays out of the
    /// snapshot.
    Collect,
    /// A dynamic module's build: kept. A collection relinks QuickJS's list
    /// of every object in a new order, which would put thousands of changed
    /// pointers into the program module's patch; the garbage is only the
    /// compiler's cyclic leftovers (the rest was freed as it went), and the
    /// first collection of a run takes it.
    Keep,
}

/// The least a run may allocate before QuickJS's first collection.
const GC_HEADROOM: usize = 1024 * 1024;

/// Compiles the source without running it. A module's imports are resolved
/// here too, so that a missing import is a build error.
fn compile(ctx: &Ctx<'_>, input: &Entry) -> Result<Program, Report> {
    match input.kind {
        SourceKind::Script => compile_script(ctx, input),
        SourceKind::Module => compile_module(ctx, input),
        SourceKind::Auto => compile_script(ctx, input).or_else(|script_error| {
            // As Node does for a `.js` file without a package type: a
            // script, unless it only parses with module syntax (`import`,
            // `export`, top-level `await`). When neither goal parses, the
            // one that got further is the one the author meant.
            // A module that parsed but whose imports fail is a module.
            compile_module(ctx, input).map_err(|module_error| {
                let parsed = !matches!(&module_error, Report::Syntax { name, .. } if name == "SyntaxError");
                if parsed || position(&module_error) > position(&script_error) { module_error } else { script_error }
            })
        }),
    }
}

/// Where a syntax error points, as (line, column); (0, 0) for other reports.
fn position(report: &Report) -> (u32, u32) {
    match report {
        Report::Syntax { location: Some(location), .. } => (location.line, location.column),
        _ => (0, 0),
    }
}

/// Compiles a classic script. It keeps its source text: programs inspect
/// it (`toString()`, telling classes from functions), and unlike the runtime
/// API's it is the user's to keep small.
fn compile_script(ctx: &Ctx<'_>, input: &Entry) -> Result<Program, Report> {
    let compiled = kiln_js_runtime::compile_script(ctx, &input.file, &input.source, false, false)
        .map_err(|_| exception_report(ctx, Stage::Compile))?;
    // The Program owns a reference of its own; `compiled` drops its own
    // (and its hold on the context).
    // SAFETY: `compiled` is a live value of this context.
    let value = unsafe { qjs::JS_DupValue(ctx.as_raw().as_ptr(), compiled.as_raw()) };
    Ok(Program { value })
}

/// Compiles an ES module and resolves its imports.
fn compile_module(ctx: &Ctx<'_>, input: &Entry) -> Result<Program, Report> {
    let raw = ctx.as_raw().as_ptr();
    let mut source = input.source.clone();
    let len = source.len();
    source.push(0); // JS_Eval requires a NUL after the source.
    let src = source.as_ptr().cast::<std::ffi::c_char>();
    let file = std::ffi::CString::new(input.file.as_str()).map_err(|_| internal("file name contains NUL"))?;
    let flags = (qjs::JS_EVAL_TYPE_MODULE | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
    // SAFETY: `raw` is the live context of `ctx`; the source and file name
    // outlive the call.
    let value = unsafe { qjs::JS_Eval(raw, src, len as _, file.as_ptr(), flags) };
    if unsafe { qjs::JS_IsException(value) } {
        return Err(exception_report(ctx, Stage::Compile));
    }
    if unsafe { qjs::JS_ResolveModule(raw, value) } < 0 {
        // SAFETY: we own `value` and give it up here.
        unsafe { qjs::JS_FreeValue(raw, value) };
        return Err(exception_report(ctx, Stage::Link));
    }
    Ok(Program { value })
}

/// What the engine was doing when an exception was thrown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Parsing and compiling a file: the exception is a syntax error.
    Compile,
    /// Resolving and linking imports, or running the top level (function
    /// mode).
    Link,
}

/// Describes the pending exception of `ctx` for the compiler.
pub(crate) fn exception_report(ctx: &Ctx<'_>, stage: Stage) -> Report {
    let error = caught_error(ctx);
    // Compiling a module resolves its imports too: an import can fail at
    // any stage.
    if let Some(failure) = modules::import_failure(&error.message) {
        return Report::Import { failure, error };
    }
    if stage == Stage::Link {
        return Report::Exception(error);
    }
    let location = Location::first_in_stack(&error.stack);
    if location.is_none() && error.message == STACK_EXHAUSTED {
        return Report::StackOverflow;
    }
    Report::Syntax { name: error.name, message: error.message, location }
}

/// The pending exception of `ctx`: its name, message and stack.
fn caught_error(ctx: &Ctx<'_>) -> JsError {
    let error = ctx.catch();
    let get = |key: &str| -> String {
        error
            .as_object()
            .and_then(|o| o.get::<_, Option<rquickjs::Coerced<rquickjs::String>>>(key).ok().flatten())
            // A lone surrogate would fail a conversion to `String`.
            .and_then(|text| kiln_js_runtime::utf8_bytes(&text.0).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    };
    let (name, message) = if error.is_error() {
        (get("name"), get("message"))
    } else {
        // Not an Error (`throw 42`): its string conversion, as `String(x)`
        // gives. (Not `{error:?}`: Rust's Debug of a JS value would put
        // ~10 KB of formatting code into every module.)
        let text = <rquickjs::Coerced<rquickjs::String>>::from_js(ctx, error.clone())
            .ok()
            .and_then(|text| kiln_js_runtime::utf8_bytes(&text.0).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_else(|| format!("a thrown value of type {}", error.type_name()));
        ("Error".to_string(), text)
    };
    JsError { name, message, stack: get("stack") }
}

/// Runs the program once and returns the module's exit status.
fn run(engine: &Engine, program: &Cell<Option<Program>>) -> i32 {
    let Some(program) = program.take() else {
        eprintln!("kiln: the program has already run in this instance");
        return 2;
    };

    // Evaluate the top level. A module's evaluation yields a promise that
    // settles once its top-level await (if any) finishes.
    let evaluated = engine.ctx.with(|ctx| -> Result<Option<Persistent<Value<'static>>>, String> {
        let raw = ctx.as_raw().as_ptr();
        // A script's bytecode would be freed once evaluated: ~1,000 fuel to
        // release memory that stays in the instance anyway (it came with the
        // snapshot). One more reference, never dropped, skips that.
        // SAFETY: `program.value` is a live value of this context.
        if unsafe { qjs::JS_VALUE_GET_TAG(program.value) } == qjs::JS_TAG_FUNCTION_BYTECODE as i32 {
            unsafe { qjs::JS_DupValue(raw, program.value) };
        }
        // SAFETY: JS_EvalFunction takes over our reference to the program.
        let result = unsafe { qjs::JS_EvalFunction(raw, program.value) };
        if unsafe { qjs::JS_IsException(result) } {
            return Err(engine.js.describe_uncaught(&ctx, ctx.catch()));
        }
        // SAFETY: `result` is a fresh, owned value of this context.
        let value = unsafe { Value::from_raw(ctx.clone(), result) };
        Ok(value.is_promise().then(|| Persistent::save(&ctx, value)))
    });

    let outcome = evaluated.and_then(|promise| settle(&engine.rt, &engine.ctx, &engine.js, &engine.rejections, promise).map(|_| ()));
    finish(engine, outcome)
}

/// Flushes stdout and turns an outcome into an exit status, reporting the
/// failure on stderr.
pub(crate) fn finish(engine: &Engine, outcome: Result<(), String>) -> i32 {
    let _ = engine.js.flush();
    // stdout's reader went away (`| head -c 10`): the program was stopped at
    // its next write; end quietly.
    if engine.js.stdout_closed() {
        return EXIT_STDOUT_CLOSED;
    }
    match outcome {
        Ok(()) => 0,
        Err(description) => {
            let _ = engine.js.write_stderr(&format!("{description}\n"));
            1
        }
    }
}

/// Runs the event loop (jobs and timers) to the end; then, if `promise` is given, returns its value or
/// the description of its rejection. Unhandled rejections fail too.
pub(crate) fn settle(
    rt: &Runtime,
    context: &Context,
    js: &JsRuntime,
    rejections: &UnhandledRejections,
    promise: Option<Persistent<Value<'static>>>,
) -> Result<Option<Persistent<Value<'static>>>, String> {
    js.run_event_loop(rt, context)?;
    context.with(|ctx| {
        let mut value = None;
        if let Some(promise) = promise {
            let promise = promise.restore(&ctx).map_err(|e| e.to_string())?;
            if let Some(p) = promise.as_promise() {
                match p.result::<Value>() {
                    Some(Ok(resolved)) => value = Some(Persistent::save(&ctx, resolved)),
                    Some(Err(rquickjs::Error::Exception)) => return Err(js.describe_uncaught(&ctx, ctx.catch())),
                    Some(Err(other)) => return Err(format!("Uncaught {other}")),
                    None => return Err("the program's promise never settled (it waits for something that cannot happen)".into()),
                }
            }
        }
        match rejections.take_first(&ctx) {
            Some(reason) => Err(js.describe_uncaught(&ctx, reason)),
            None => Ok(value),
        }
    })
}

/// Encodes `s` as a JSON string literal.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    /// `Program` owns a reference to a JS value: a copy would be a second
    /// owner, and the value freed twice.
    #[test]
    fn a_program_is_not_copy() {
        trait NotCopy {
            const COPY: bool = false;
        }
        impl<T> NotCopy for T {}
        struct Probe<T>(std::marker::PhantomData<T>);
        impl<T: Copy> Probe<T> {
            const COPY: bool = true;
        }
        assert!(Probe::<u32>::COPY, "the probe tells a Copy type");
        assert!(!Probe::<super::Program>::COPY);
    }
}
