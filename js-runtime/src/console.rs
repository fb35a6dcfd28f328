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

use crate::io::Stdio;
use rquickjs::function::Rest;
use rquickjs::{Ctx, Exception, Function, Object, Persistent, Value, qjs};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// State shared by the fast console methods.
pub(crate) struct Console {
    io: Rc<Stdio>,
    /// Whether `console.group` indentation is active (kept by console.js).
    grouped: Cell<bool>,
    /// The JavaScript implementations, by method. Emptied when the
    /// [`crate::JsRuntime`] is dropped, so that no value outlives its
    /// runtime.
    slow: RefCell<Vec<Persistent<Function<'static>>>>,
}

impl Console {
    pub(crate) fn new(io: Rc<Stdio>) -> Self {
        Console { io, grouped: Cell::new(false), slow: RefCell::new(Vec::new()) }
    }

    pub(crate) fn forget_slow_paths(&self) {
        self.slow.borrow_mut().clear();
    }

    /// Writes the call's line if every argument is a string that the
    /// formatter would print as it is; returns `Ok(false)` if the call needs
    /// the formatter.
    fn try_fast<'js>(&self, ctx: &Ctx<'js>, is_error: bool, args: &[Value<'js>]) -> rquickjs::Result<bool> {
        if self.grouped.get() || args.len() > MAX_FAST_ARGS {
            return Ok(false);
        }
        let mut pieces: [Option<JsUtf8<'js>>; MAX_FAST_ARGS] = Default::default();
        for (i, arg) in args.iter().enumerate() {
            let Some(s) = arg.as_string() else { return Ok(false) };
            let Some(text) = JsUtf8::new(ctx, s) else { return Ok(false) };
            // With more arguments, a `%` in the first may be a specifier.
            if i == 0 && args.len() > 1 && text.bytes().contains(&b'%') {
                return Ok(false);
            }
            pieces[i] = Some(text);
        }
        let fd = if is_error || self.io.console_to_stderr() { 2 } else { 1 };
        let parts = pieces.iter().flatten().map(JsUtf8::bytes);
        self.io
            .write_line(fd, parts)
            .map_err(|e| Exception::throw_message(ctx, &format!("console: {e}")))?;
        Ok(true)
    }
}

/// Calls with more arguments than this take the JavaScript path.
const MAX_FAST_ARGS: usize = 8;

/// The UTF-8 bytes of a JavaScript string, borrowed from QuickJS (no copy
/// for ASCII strings) and released on drop.
struct JsUtf8<'js> {
    ctx: Ctx<'js>,
    ptr: *const std::ffi::c_char,
    len: usize,
}

impl<'js> JsUtf8<'js> {
    /// `None` if QuickJS fails or the text is not valid UTF-8 (a lone
    /// surrogate), exactly when rquickjs's `String::to_string` fails.
    fn new(ctx: &Ctx<'js>, s: &rquickjs::String<'js>) -> Option<Self> {
        let mut len = 0;
        // SAFETY: `s` is a live string of `ctx`.
        let ptr = unsafe { qjs::JS_ToCStringLen(ctx.as_raw().as_ptr(), &mut len, s.as_raw()) };
        if ptr.is_null() {
            return None;
        }
        let text = JsUtf8 { ctx: ctx.clone(), ptr, len };
        std::str::from_utf8(text.bytes()).is_ok().then_some(text)
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: QuickJS returned `len` bytes at `ptr`, alive until freed.
        unsafe { std::slice::from_raw_parts(self.ptr.cast(), self.len) }
    }
}

impl Drop for JsUtf8<'_> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from JS_ToCStringLen on this context.
        unsafe { qjs::JS_FreeCString(self.ctx.as_raw().as_ptr(), self.ptr) };
    }
}

/// Defines `native.fastConsole(name, isError, slow)`, which returns the
/// native method, and `native.setGrouped(bool)`.
pub(crate) fn register<'js>(ctx: &Ctx<'js>, native: &Object<'js>, console: &Rc<Console>) -> rquickjs::Result<()> {
    let c = console.clone();
    native.set(
        "fastConsole",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, name: String, is_error: bool, slow: Function<'js>| -> rquickjs::Result<Function<'js>> {
            let index = {
                let mut list = c.slow.borrow_mut();
                list.push(Persistent::save(&ctx, slow));
                list.len() - 1
            };
            let c = c.clone();
            Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> rquickjs::Result<()> {
                if c.try_fast(&ctx, is_error, &args.0)? {
                    return Ok(());
                }
                let slow = c.slow.borrow().get(index).cloned();
                match slow {
                    Some(slow) => slow.restore(&ctx)?.call((args,)),
                    None => Ok(()),
                }
            })?
            .with_name(name)
        })?,
    )?;
    let c = console.clone();
    native.set("setGrouped", Function::new(ctx.clone(), move |grouped: bool| c.grouped.set(grouped))?)?;
    Ok(())
}
