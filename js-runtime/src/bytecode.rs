//! Compiling scripts to bytecode that carries no source text.
//!
//! QuickJS keeps the source text of every function it compiles (for
//! `Function.prototype.toString`), nested functions each with their own copy.
//! In a pre-initialised module that text would sit in the snapshot: for the
//! runtime API alone about 100 KB of every module. Writing the compiled script
//! out with `JS_WRITE_OBJ_STRIP_SOURCE` and reading it back drops the text
//! and keeps the line and column tables, so stack traces are unchanged.
//! `toString()` of such a function gives `function f() { [native code] }`.

use rquickjs::{Ctx, Value, qjs};
use std::ffi::CString;

/// Compiles `source` as a classic script named `file` (global scope,
/// `strict` if asked), without running it, and returns the bytecode
/// function; with `strip_text`, without its source text (see the module
/// documentation).
///
/// # Errors
///
/// [`rquickjs::Error::Exception`] with the pending exception (a
/// `SyntaxError`) if the source does not compile.
pub fn compile_script<'js>(ctx: &Ctx<'js>, file: &str, source: &[u8], strict: bool, strip_text: bool) -> rquickjs::Result<Value<'js>> {
    let mut flags = qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY;
    if strict {
        flags |= qjs::JS_EVAL_FLAG_STRICT;
    }
    let compiled = compile(ctx, file, source, flags as i32)?;
    if strip_text { strip_source(ctx, compiled) } else { Ok(compiled) }
}

/// `JS_Eval` with `flags`: returns the owned result or the pending exception.
pub(crate) fn compile<'js>(ctx: &Ctx<'js>, file: &str, source: &[u8], flags: i32) -> rquickjs::Result<Value<'js>> {
    let file = CString::new(file)?;
    let mut text = Vec::with_capacity(source.len() + 1);
    text.extend_from_slice(source);
    text.push(0); // JS_Eval requires a NUL after the source.
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: `raw` is the live context of `ctx`; the source (NUL-terminated)
    // and the file name outlive the call.
    let value = unsafe { qjs::JS_Eval(raw, text.as_ptr().cast(), source.len() as _, file.as_ptr(), flags) };
    owned(ctx, value)
}

/// Round-trips a compiled script through QuickJS's bytecode writer with the
/// source text left out. Takes ownership of `compiled`.
pub(crate) fn strip_source<'js>(ctx: &Ctx<'js>, compiled: Value<'js>) -> rquickjs::Result<Value<'js>> {
    let raw = ctx.as_raw().as_ptr();
    let mut len: qjs::size_t = 0;
    let flags = (qjs::JS_WRITE_OBJ_BYTECODE | qjs::JS_WRITE_OBJ_STRIP_SOURCE) as i32;
    // SAFETY: `compiled` is a live value of this context; the buffer QuickJS
    // returns is ours to free with `js_free`.
    unsafe {
        let buf = qjs::JS_WriteObject(raw, &mut len, compiled.as_raw(), flags);
        if buf.is_null() {
            return Err(rquickjs::Error::Exception);
        }
        let read = qjs::JS_ReadObject(raw, buf, len as _, qjs::JS_READ_OBJ_BYTECODE as i32);
        qjs::js_free(raw, buf.cast());
        drop(compiled);
        owned(ctx, read)
    }
}

/// Runs a compiled script and returns its completion value.
///
/// # Errors
///
/// [`rquickjs::Error::Exception`] if the script throws.
pub fn run_script<'js>(ctx: &Ctx<'js>, compiled: Value<'js>) -> rquickjs::Result<Value<'js>> {
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: JS_EvalFunction takes over one reference to the function: a
    // new one, so that `compiled` (which also holds a reference to the
    // context: forgetting it would leak the whole context) drops normally.
    let result = unsafe { qjs::JS_EvalFunction(raw, qjs::JS_DupValue(raw, compiled.as_raw())) };
    drop(compiled);
    owned(ctx, result)
}

fn owned<'js>(ctx: &Ctx<'js>, value: qjs::JSValue) -> rquickjs::Result<Value<'js>> {
    // SAFETY: `value` is a fresh, owned value of this context.
    if unsafe { qjs::JS_IsException(value) } {
        return Err(rquickjs::Error::Exception);
    }
    Ok(unsafe { Value::from_raw(ctx.clone(), value) })
}
