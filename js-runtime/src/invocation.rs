//! The current invocation of a function-mode export: its input, and the
//! result `ShopifyFunction.writeOutput` gave (see `js/shopify.js`).
//!
//! The engine converts stdin and passes it to the invoked function; a
//! function written for Shopify instead asks `ShopifyFunction.readInput()`
//! for it and hands its result to `writeOutput`, returning nothing. Both
//! styles see the same input and produce the same output.

use rquickjs::{Ctx, Function, Object, Persistent, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// The input and result of the invocation under way, if any.
#[derive(Default)]
pub(crate) struct Invocation {
    state: RefCell<Option<Call>>,
}

struct Call {
    input: Persistent<Value<'static>>,
    output: Option<Persistent<Value<'static>>>,
}

impl Invocation {
    pub(crate) fn begin<'js>(&self, ctx: &Ctx<'js>, input: Value<'js>) {
        *self.state.borrow_mut() = Some(Call { input: Persistent::save(ctx, input), output: None });
    }

    /// Ends the invocation; returns what `writeOutput` was given, if it was
    /// called.
    pub(crate) fn end<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Option<Value<'js>>> {
        match self.state.borrow_mut().take() {
            Some(Call { output: Some(output), .. }) => output.restore(ctx).map(Some),
            _ => Ok(None),
        }
    }
}

/// Defines `native.invocationInput()` (`[input]` during an invocation, else
/// `null`) and `native.invocationOutput(value)` (records `value` as the
/// result and returns true during an invocation, else returns false).
pub(crate) fn register<'js>(ctx: &Ctx<'js>, native: &Object<'js>, invocation: &Rc<Invocation>) -> rquickjs::Result<()> {
    let current = invocation.clone();
    native.set(
        "invocationInput",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
            let input = match current.state.borrow().as_ref() {
                Some(call) => call.input.clone().restore(&ctx)?,
                None => return Ok(Value::new_null(ctx)),
            };
            let boxed = rquickjs::Array::new(ctx.clone())?;
            boxed.set(0, input)?;
            Ok(boxed.into_value())
        }),
    )?;
    let current = invocation.clone();
    native.set(
        "invocationOutput",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, value: Value<'js>| -> bool {
            match current.state.borrow_mut().as_mut() {
                Some(call) => {
                    call.output = Some(Persistent::save(&ctx, value));
                    true
                }
                None => false,
            }
        }),
    )
}
