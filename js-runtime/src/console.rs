//! The native fast path of `console.log/info/debug/warn/error`.
//!
//! `js/console.js` formats values like Node's `util.inspect`. Most calls,
//! though, print only strings (`console.log("done")`), and for those the
//! JavaScript formatter returns its arguments joined by spaces. The methods
//! are therefore native functions that write such calls straight to the
//! stream and hand every other call (any argument not a string, a `%` in a
//! first argument followed by more, an open `console.group`, a string that
//! does not convert) to the JavaScript implementation, unchanged. The output
//! is the same either way; only the cost differs (the JavaScript path costs
//! several thousand units of fuel per call).
//!
//! The methods are raw QuickJS C functions (`JS_NewCFunctionData2`): the
//! JavaScript implementation rides in the function's data slot, where the
//! garbage collector sees it, and the magic number says which runtime's
//! [`Console`] to write through and whether the method writes to stderr.

use crate::io::Stdio;
use crate::utf8::JsUtf8;
use rquickjs::{Ctx, Function, Object, qjs};
use std::cell::{Cell, RefCell};
use std::ffi::c_int;
use std::rc::{Rc, Weak};

/// State shared by the fast console methods.
pub(crate) struct Console {
    io: Rc<Stdio>,
    /// Whether `console.group` indentation is active (kept by console.js).
    grouped: Cell<bool>,
    /// This console's number in [`CONSOLES`].
    index: usize,
}

thread_local! {
    /// Every console installed on this thread, by number (the methods'
    /// magic number carries it). A dropped runtime leaves a dead entry.
    static CONSOLES: RefCell<Vec<Weak<Console>>> = const { RefCell::new(Vec::new()) };
}

/// What the fast path did.
enum Fast {
    /// Written.
    Done,
    /// The call needs the JavaScript formatter.
    NotHandled,
    /// Writing failed.
    Failed(std::io::Error),
}

impl Console {
    pub(crate) fn new(io: Rc<Stdio>) -> Rc<Self> {
        CONSOLES.with(|all| {
            let mut all = all.borrow_mut();
            let console = Rc::new(Console { io, grouped: Cell::new(false), index: all.len() });
            all.push(Rc::downgrade(&console));
            console
        })
    }

    /// Writes the call's line if every argument is a string that the
    /// formatter would print as it is.
    ///
    /// # Safety
    ///
    /// `ctx` is a live context and `args` live values of it.
    unsafe fn try_fast(&self, ctx: *mut qjs::JSContext, is_error: bool, args: &[qjs::JSValue]) -> Fast {
        if self.grouped.get() || args.len() > MAX_FAST_ARGS {
            return Fast::NotHandled;
        }
        let mut pieces: [Option<JsUtf8>; MAX_FAST_ARGS] = Default::default();
        for (i, &arg) in args.iter().enumerate() {
            // SAFETY: per this function's contract.
            let Some(text) = (unsafe { JsUtf8::new(ctx, arg) }) else { return Fast::NotHandled };
            // With more arguments, a `%` in the first may be a specifier.
            if i == 0 && args.len() > 1 && text.bytes().contains(&b'%') {
                return Fast::NotHandled;
            }
            pieces[i] = Some(text);
        }
        let fd = if is_error || self.io.console_to_stderr() { 2 } else { 1 };
        match self.io.write_line(fd, pieces.iter().flatten().map(JsUtf8::bytes)) {
            Ok(()) => Fast::Done,
            Err(e) => Fast::Failed(e),
        }
    }
}

/// Calls with more arguments than this take the JavaScript path.
const MAX_FAST_ARGS: usize = 8;

/// A console method: magic is `index * 2 + is_error`, data slot 0 the
/// JavaScript implementation.
unsafe extern "C" fn console_method(
    ctx: *mut qjs::JSContext,
    this: qjs::JSValue,
    argc: c_int,
    argv: *mut qjs::JSValue,
    magic: c_int,
    data: *mut qjs::JSValue,
) -> qjs::JSValue {
    let is_error = magic & 1 == 1;
    let index = (magic >> 1) as usize;
    let console = CONSOLES.with(|all| all.borrow().get(index).and_then(Weak::upgrade));
    if let Some(console) = console {
        let args: &[qjs::JSValue] = if argc > 0 {
            // SAFETY: QuickJS passes `argc` live arguments at `argv`.
            unsafe { std::slice::from_raw_parts(argv, argc as usize) }
        } else {
            &[]
        };
        // SAFETY: QuickJS calls us with a live context and arguments.
        match unsafe { console.try_fast(ctx, is_error, args) } {
            Fast::Done => return qjs::JS_UNDEFINED,
            Fast::NotHandled => {}
            Fast::Failed(error) => {
                // SAFETY: `ctx` is live (and not null) for this call.
                let ctx = unsafe { Ctx::from_raw(std::ptr::NonNull::new_unchecked(ctx)) };
                // As the formatter's path does: a closed stdout is uncatchable.
                let _ = crate::io::io_error(&ctx, &console.io, "console", &error);
                return qjs::JS_EXCEPTION;
            }
        }
    }
    // SAFETY: slot 0 holds the JavaScript implementation (see `register`).
    unsafe { qjs::JS_Call(ctx, *data, this, argc, argv) }
}

/// Defines `native.fastConsole(name, isError, slow)`, which returns the
/// native method, and `native.setGrouped(bool)`.
pub(crate) fn register<'js>(ctx: &Ctx<'js>, native: &Object<'js>, console: &Rc<Console>) -> rquickjs::Result<()> {
    let index = console.index;
    native.set(
        "fastConsole",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, name: String, is_error: bool, slow: Function<'js>| -> rquickjs::Result<Function<'js>> {
            let magic = c_int::try_from(index * 2 + usize::from(is_error)).map_err(|_| rquickjs::Error::new_from_js("console", "magic"))?;
            let name = std::ffi::CString::new(name).map_err(|_| rquickjs::Error::new_from_js("string", "name"))?;
            let mut data = [slow.as_raw()];
            let raw = ctx.as_raw().as_ptr();
            // SAFETY: `raw` is live; QuickJS copies (dups) the data value.
            let f = unsafe { qjs::JS_NewCFunctionData2(raw, Some(console_method), name.as_ptr(), 0, magic, 1, data.as_mut_ptr()) };
            // SAFETY: `f` is a new owned value of this context.
            if unsafe { qjs::JS_IsException(f) } {
                return Err(rquickjs::Error::Exception);
            }
            // SAFETY: as above.
            let f = unsafe { rquickjs::Value::from_raw(ctx.clone(), f) };
            f.into_function().ok_or_else(|| rquickjs::Error::new_from_js("value", "function"))
        })?,
    )?;
    let c = console.clone();
    native.set("setGrouped", Function::new(ctx.clone(), move |grouped: bool| c.grouped.set(grouped))?)?;
    Ok(())
}
