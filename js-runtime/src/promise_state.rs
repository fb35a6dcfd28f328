//! `native.promiseState(p)`: what console shows for a Promise.

use rquickjs::{Ctx, Function, Object, Value, qjs};

/// Defines `native.promiseState(promise)` → `[state, result]` with state
/// `"pending"`, `"fulfilled"` or `"rejected"`.
pub(crate) fn register<'js>(ctx: &Ctx<'js>, native: &Object<'js>) -> rquickjs::Result<()> {
    native.set(
        "promiseState",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, promise: Value<'js>| -> rquickjs::Result<rquickjs::Array<'js>> {
            let raw = ctx.as_raw().as_ptr();
            // SAFETY: `promise` is a live value of this context; the result of
            // JS_PromiseResult is a new reference that Value takes over.
            let state = unsafe { qjs::JS_PromiseState(raw, promise.as_raw()) };
            let (name, result) = match state {
                qjs::JSPromiseStateEnum_JS_PROMISE_FULFILLED => ("fulfilled", unsafe { Value::from_raw(ctx.clone(), qjs::JS_PromiseResult(raw, promise.as_raw())) }),
                qjs::JSPromiseStateEnum_JS_PROMISE_REJECTED => ("rejected", unsafe { Value::from_raw(ctx.clone(), qjs::JS_PromiseResult(raw, promise.as_raw())) }),
                _ => ("pending", Value::new_undefined(ctx.clone())),
            };
            let pair = rquickjs::Array::new(ctx.clone())?;
            pair.set(0, name)?;
            pair.set(1, result)?;
            Ok(pair)
        }),
    )
}
