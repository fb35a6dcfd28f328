//! The JavaScript-visible API of Kiln modules.
//!
//! Everything a program sees beyond the language itself is installed here:
//! `console`, `Javy.IO`, `TextEncoder`/`TextDecoder`, a `Math.random` that is
//! reseeded per instance, timers on a virtual clock, and the event loop that
//! runs Promise reactions and timers to completion. The crate builds natively as well as for `wasm32-wasip1`, so
//! its tests run on the host against an in-memory [`Host`].
//!
//! # Example
//!
//! ```
//! use kiln_js_runtime::{JsRuntime, MemoryHost};
//! use rquickjs::{Context, Runtime};
//!
//! let rt = Runtime::new().unwrap();
//! let ctx = Context::full(&rt).unwrap();
//! let host = MemoryHost::new(b"");
//! let js = ctx.with(|ctx| JsRuntime::install(&ctx, host.clone())).unwrap();
//! ctx.with(|ctx| ctx.eval::<(), _>("console.log('hi', { a: [1, 2] })")).unwrap();
//! js.flush().unwrap();
//! assert_eq!(host.stdout(), b"hi { a: [ 1, 2 ] }\n");
//! ```
//!
//! # Core concepts
//!
//! - The API is installed once, by [`JsRuntime::install`], when the engine is
//!   pre-initialised at build time. Its JavaScript parts are compiled then and
//!   live in the snapshot; nothing here is parsed when a module runs.
//! - All I/O goes through a [`Host`]: real file descriptors in a module
//!   ([`StdHost`]), memory buffers in tests ([`MemoryHost`]).
//! - stdout is buffered in the runtime and flushed before anything is written
//!   to stderr, before stdin is read, and by [`JsRuntime::flush`] at exit.

#![deny(missing_docs)]

mod bytecode;
#[macro_use]
mod sources;
mod clock;
mod console;
mod encoding;
mod event_loop;
mod host;
mod internals;
mod invocation;
mod io;
pub mod json;
mod positions;
mod promise_state;
mod random;
mod utf8;

pub use utf8::{lossy as utf8_lossy, new_string as utf8_string, string_bytes as utf8_bytes};

pub use bytecode::{compile_script, run_script};
pub use event_loop::UnhandledRejections;
use event_loop::run_jobs as drain_jobs;
pub use host::{Host, MemoryHost, StdHost};
pub use positions::{install_positions, install_positions_with, positions_installer};

use rquickjs::{Ctx, Function, Object, Persistent, Value};
use std::cell::Cell;
use std::rc::Rc;

/// The parts of the runtime API that are written in JavaScript, in the order
/// they are installed. Each is a function expression taking the native
/// object.
static JS_SOURCES: [(&str, &dyn sources::WipeableText); 5] = [
    ("kiln:encoding", js_source!("js/encoding.js")),
    ("kiln:javy", js_source!("js/javy.js")),
    ("kiln:shopify", js_source!("js/shopify.js")),
    ("kiln:web", js_source!("js/web.js")),
    ("kiln:kiln", js_source!("js/kiln.js")),
];
static CONSOLE_JS: &dyn sources::WipeableText = js_source!("js/console.js");
static TIMERS_JS: &dyn sources::WipeableText = js_source!("js/timers.js");
static POSITIONS_JS: &dyn sources::WipeableText = js_source!("js/positions.js");

/// Zeroes the runtime API's JavaScript source text, which is only read by
/// [`JsRuntime::install`].
///
/// Snapshot hazard: the text lives in the engine's memory image and would be
/// written into every module (~38 KB) although nothing reads it after
/// installation. The engine calls this once the API is installed (and
/// [`install_positions`] has run, if it does).
///
/// # Safety
///
/// No [`JsRuntime::install`] or [`install_positions`] may run concurrently
/// or afterwards in this process (it would compile zeros).
pub unsafe fn wipe_sources() {
    // SAFETY: forwarded to the caller.
    unsafe {
        CONSOLE_JS.wipe();
        TIMERS_JS.wipe();
        POSITIONS_JS.wipe();
        for (_, source) in &JS_SOURCES {
            source.wipe();
        }
    }
}

/// Handle on the runtime API installed in one context.
///
/// Keep it for the life of the context: it owns the stdout buffer and the
/// random generator that the installed JavaScript functions share.
pub struct JsRuntime {
    io: Rc<io::Stdio>,
    random: Rc<random::Random>,
    clock: Rc<clock::Clock>,
    describe_uncaught: Persistent<Function<'static>>,
    run_next_timer: Persistent<Function<'static>>,
    /// Whether a timer may be pending (see `js/timers.js`): while clear, the
    /// event loop does not call into JavaScript for timers at all.
    timers_armed: Rc<Cell<bool>>,
    /// The function-mode invocation under way (`ShopifyFunction`'s input
    /// and output).
    invocation: Rc<invocation::Invocation>,
}

impl JsRuntime {
    /// Installs the whole API on the global object of `ctx`.
    ///
    /// # Errors
    ///
    /// Fails only if QuickJS fails while defining the globals (for instance
    /// out of memory); the JavaScript sources themselves are fixed.
    pub fn install<'js>(ctx: &Ctx<'js>, host: impl Host + 'static) -> rquickjs::Result<Self> {
        let io = Rc::new(io::Stdio::new(Rc::new(host)));
        let random = Rc::new(random::Random::new(io.host()));
        let clock = Rc::new(clock::Clock::new());

        // Checked here, once: in a pre-initialized engine the answer is in
        // the snapshot, instead of costing every run ~14,000 fuel at its
        // first string or JSON operation.
        // SAFETY: the context is live.
        unsafe { internals::available(ctx.as_raw().as_ptr()) };
        json::install(ctx)?;
        let native = Object::new(ctx.clone())?;
        io::register(ctx, &native, &io)?;
        encoding::register(ctx, &native)?;
        random::register(ctx, &random)?;
        random::register_fill(ctx, &native, &random)?;
        clock::register(ctx, &native, &clock)?;
        promise_state::register(ctx, &native)?;
        let invocation = Rc::new(invocation::Invocation::default());
        invocation::register(ctx, &native, &invocation)?;
        let console = console::Console::new(io.clone());
        console::register(ctx, &native, &console)?;
        let timers_armed = Rc::new(Cell::new(false));
        let armed = timers_armed.clone();
        native.set("armTimers", Function::new(ctx.clone(), move || armed.set(true))?)?;

        let describe: Function = eval_installer(ctx, "kiln:console", CONSOLE_JS.bytes(), &native)?
            .into_function()
            .ok_or_else(|| rquickjs::Error::new_from_js("value", "function"))?;
        let run_next_timer: Function = eval_installer(ctx, "kiln:timers", TIMERS_JS.bytes(), &native)?
            .into_function()
            .ok_or_else(|| rquickjs::Error::new_from_js("value", "function"))?;
        for (name, source) in &JS_SOURCES {
            eval_installer(ctx, name, source.bytes(), &native)?;
        }
        Ok(JsRuntime {
            io,
            random,
            clock,
            describe_uncaught: Persistent::save(ctx, describe),
            run_next_timer: Persistent::save(ctx, run_next_timer),
            timers_armed,
            invocation,
        })
    }

    /// Formats an uncaught exception the way a module reports it on stderr:
    /// `Uncaught Error: message` followed by its stack.
    pub fn describe_uncaught<'js>(&self, ctx: &Ctx<'js>, error: Value<'js>) -> String {
        let describe = self.describe_uncaught.clone().restore(ctx);
        // Through `utf8_bytes`: a message may hold a lone surrogate.
        let text = describe.and_then(|f| f.call::<_, rquickjs::String>((error.clone(),))).and_then(|text| utf8_bytes(&text));
        match text {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            // Describing failed (e.g. a getter threw): fall back to the type.
            Err(_) => format!("Uncaught exception of type {}", error.type_name()),
        }
    }

    /// Runs the event loop to the end: Promise jobs until the queue is
    /// empty, then the timer due first, then jobs again, until neither is
    /// left (see `js/timers.js` for the virtual clock).
    ///
    /// Must be called outside `Context::with`.
    ///
    /// # Errors
    ///
    /// The description (as [`JsRuntime::describe_uncaught`]) of the first
    /// exception that a job or timer callback did not catch.
    pub fn run_event_loop(&self, rt: &rquickjs::Runtime, context: &rquickjs::Context) -> Result<(), String> {
        // Once stdout's reader is gone nothing the program does can be seen:
        // stop, even if it catches the failed writes and carries on.
        let stdout_closed = || self.io.stdout_closed();
        loop {
            drain_jobs(rt, stdout_closed).map_err(|job| job.0.with(|ctx| self.describe_uncaught(&ctx, ctx.catch())))?;
            if stdout_closed() || !self.timers_armed.get() {
                return Ok(());
            }
            let ran = context.with(|ctx| {
                let next = self.run_next_timer.clone().restore(&ctx).map_err(|e| e.to_string())?;
                match next.call::<_, bool>(()) {
                    Ok(ran) => Ok(ran),
                    Err(rquickjs::Error::Exception) => Err(self.describe_uncaught(&ctx, ctx.catch())),
                    Err(other) => Err(format!("Uncaught Error: {other}")),
                }
            })?;
            if !ran {
                self.timers_armed.set(false);
                return Ok(());
            }
        }
    }

    /// Writes out anything still buffered for stdout.
    ///
    /// # Errors
    ///
    /// Returns the host's write error, e.g. a closed stdout.
    pub fn flush(&self) -> std::io::Result<()> {
        self.io.flush()
    }

    /// True once a write to stdout found its reader gone (a broken pipe).
    /// The write threw an uncatchable error that stopped the program; the
    /// caller should end the run without reporting that error.
    pub fn stdout_closed(&self) -> bool {
        self.io.stdout_closed()
    }

    /// Writes text to stderr, after flushing stdout so the two stay in order.
    ///
    /// # Errors
    ///
    /// Returns the host's write error.
    pub fn write_stderr(&self, text: &str) -> std::io::Result<()> {
        self.io.write(2, text.as_bytes())
    }

    /// Seals stdin and stdout while the program's top level is evaluated at
    /// build time: reading or writing them then throws an `Error` explaining
    /// that input exists only at run time.
    pub fn set_build_time(&self, build_time: bool) {
        self.io.set_sealed(build_time);
    }

    /// Sends `console.log/info/debug` to stderr instead of stdout (function
    /// mode, where stdout carries only the function's result).
    pub fn set_console_to_stderr(&self, yes: bool) {
        self.io.set_console_to_stderr(yes);
    }

    /// Starts a function-mode invocation: until [`JsRuntime::end_invocation`],
    /// `ShopifyFunction.readInput()` returns `input` (the value the invoked
    /// function is also called with) and `ShopifyFunction.writeOutput(v)`
    /// makes `v` the invocation's result instead of writing it.
    pub fn begin_invocation<'js>(&self, ctx: &Ctx<'js>, input: Value<'js>) {
        self.invocation.begin(ctx, input);
    }

    /// Ends the invocation begun by [`JsRuntime::begin_invocation`] and
    /// returns the value given to `ShopifyFunction.writeOutput`, if any: the
    /// invocation's result, whatever the function returned.
    ///
    /// # Errors
    ///
    /// Fails only if the value cannot be restored into `ctx` (another
    /// runtime's context).
    pub fn end_invocation<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Option<Value<'js>>> {
        self.invocation.end(ctx)
    }

    /// Reads up to `buf.len()` bytes of stdin (0 at end of input).
    ///
    /// # Errors
    ///
    /// The host's read error, or stdin being sealed at build time.
    pub fn read_stdin(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.io.read(0, buf)
    }

    /// Reads what stdin has next, at most one chunk of 64 KiB, into a new
    /// vector (empty at end of input).
    ///
    /// # Errors
    ///
    /// As [`JsRuntime::read_stdin`].
    pub fn read_stdin_some(&self) -> std::io::Result<Vec<u8>> {
        self.io.read_some()
    }

    /// Reads all of stdin.
    ///
    /// # Errors
    ///
    /// As [`JsRuntime::read_stdin`].
    pub fn read_stdin_to_end(&self) -> std::io::Result<Vec<u8>> {
        self.io.read_to_end()
    }

    /// Writes bytes to stdout (buffered; see [`JsRuntime::flush`]).
    ///
    /// # Errors
    ///
    /// The host's write error, or stdout being sealed at build time.
    pub fn write_stdout(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.io.write(1, bytes)
    }

    /// Forgets the random seed, so the next `Math.random()` draws a fresh one
    /// from the host.
    ///
    /// Call this when a pre-initialised instance starts: the generator's state
    /// in the snapshot is the same for every instance, and must not be reused.
    /// It costs nothing until `Math.random` is actually called.
    pub fn reseed_random(&self) {
        self.random.forget_seed();
    }

    /// Prepares the API for a new run of a pre-initialised instance: a
    /// fresh random seed (see [`JsRuntime::reseed_random`]) and
    /// `performance.now()` counting from now.
    pub fn begin_run(&self) {
        self.reseed_random();
        self.clock.restart();
    }
}

/// Evaluates one of the runtime's JavaScript files (a function expression)
/// and calls it with the native object.
fn eval_installer<'js>(
    ctx: &Ctx<'js>,
    name: &str,
    source: &[u8],
    native: &Object<'js>,
) -> rquickjs::Result<Value<'js>> {
    let compiled = bytecode::compile_script(ctx, name, source, true, true)?;
    let installer: Function = bytecode::run_script(ctx, compiled)?
        .into_function()
        .ok_or_else(|| rquickjs::Error::new_from_js("value", "function"))?;
    installer.call((native.clone(),))
}

#[cfg(test)]
mod tests;
