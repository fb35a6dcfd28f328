//! Function mode: the module's top level runs at build time; each run calls
//! one exported function with stdin as its argument and writes its result.
//!
//! What persists: every instance starts from the snapshot, i.e. the state
//! right after the top level ran at build time. Changes an invocation makes
//! to module state are seen by later invocations *in the same instance* (a
//! host calling several exports of one instance) and by nothing else.

use crate::{Engine, Entry, Stage, exception_report, finish, internal, settle};
use kiln_abi::{FunctionMode, IoMode, Report};
use std::cell::RefCell;
use kiln_js_runtime::{JsRuntime, UnhandledRejections};
use rquickjs::{Context, Ctx, Function, Module, Object, Persistent, Runtime, TypedArray, Value};

/// The invoked exports, ready to call.
pub(crate) struct Functions {
    list: Vec<Persistent<Function<'static>>>,
    io: IoMode,
    /// What the last call read and returned, freed when the next call
    /// starts instead of when it ended: most instances serve one call and
    /// end, and freeing a parsed document costs ~12 fuel per input byte
    /// (1.25 M of a 100 KB identity's 8.9 M) for memory nobody would reuse.
    /// An instance that serves more calls holds one call's values at most.
    last_call: RefCell<Vec<Persistent<Value<'static>>>>,
}

/// Evaluates the module's top level (with stdin and stdout sealed) and looks
/// up the invoked exports.
pub(crate) fn prepare(
    rt: &Runtime,
    context: &Context,
    js: &JsRuntime,
    rejections: &UnhandledRejections,
    input: &Entry,
    mode: &FunctionMode,
) -> Result<Functions, Report> {
    let (namespace, promise) = context.with(|ctx| {
        let evaluated = Module::declare(ctx.clone(), input.file.as_str(), input.source.clone())
            .map_err(|e| caught(&ctx, e, Stage::Compile))?
            .eval()
            .map_err(|e| caught(&ctx, e, Stage::Link))?;
        let (module, promise) = evaluated;
        let namespace = module.namespace().map_err(|e| caught(&ctx, e, Stage::Link))?;
        Ok::<_, Report>((Persistent::save(&ctx, namespace), Persistent::save(&ctx, promise.into_value())))
    })?;
    settle(rt, context, js, rejections, Some(promise))
        .map_err(|description| Report::Uncaught { message: description.strip_prefix("Uncaught ").unwrap_or(&description).to_string() })?;

    context.with(|ctx| {
        let namespace = namespace.restore(&ctx).map_err(|e| internal(e.to_string()))?;
        let list = mode
            .invoke
            .iter()
            .map(|name| lookup(&ctx, &namespace, name).map(|f| Persistent::save(&ctx, f)))
            .collect::<Result<_, _>>()?;
        Ok(Functions { list, io: mode.io, last_call: RefCell::new(Vec::new()) })
    })
}

fn caught(ctx: &Ctx<'_>, error: rquickjs::Error, stage: Stage) -> Report {
    match error {
        rquickjs::Error::Exception => exception_report(ctx, stage),
        other => internal(other.to_string()),
    }
}

/// Finds export `name`, which must be a function.
fn lookup<'js>(ctx: &Ctx<'js>, namespace: &Object<'js>, name: &str) -> Result<Function<'js>, Report> {
    let value: Value = namespace.get(name).map_err(|e| caught(ctx, e, Stage::Link))?;
    if let Some(f) = value.as_function() {
        return Ok(f.clone());
    }
    let mut names: Vec<String> = namespace.keys::<String>().filter_map(Result::ok).collect();
    names.sort();
    let available = if names.is_empty() { "it has no exports".to_string() } else { format!("its exports are: {}", names.join(", ")) };
    let problem = if value.is_undefined() && !names.iter().any(|n| n == name) {
        format!("the module has no export named `{name}`")
    } else {
        format!("the export `{name}` is {}, not a function", describe_type(&value))
    };
    Err(Report::NotInvocable { export: name.to_string(), message: format!("{problem}; {available}") })
}

impl Functions {
    /// Calls function `index` according to the I/O mode; returns the exit
    /// status.
    pub(crate) fn invoke(&self, engine: &Engine, index: usize) -> i32 {
        let Some(function) = self.list.get(index) else {
            eprintln!("kiln: no invoked function number {index}");
            return 2;
        };
        let outcome = match self.io {
            IoMode::Ndjson => self.stream_lines(engine, function),
            io => engine
                .js
                .read_stdin_to_end()
                .map_err(|e| format!("reading stdin: {e}"))
                .and_then(|input| call(engine, function, io, input, &self.last_call))
                .and_then(|output| engine.js.write_stdout(&output).map_err(|e| format!("writing stdout: {e}"))),
        };
        finish(engine, outcome)
    }

    /// NDJSON: one call per input line, each result written (and flushed) as
    /// soon as it is ready. Only the current line is held in memory.
    fn stream_lines(&self, engine: &Engine, function: &Persistent<Function<'static>>) -> Result<(), String> {
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let chunk = engine.js.read_stdin_some().map_err(|e| format!("reading stdin: {e}"))?;
            if chunk.is_empty() {
                break;
            }
            let mut rest = &chunk[..];
            while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
                pending.extend_from_slice(&rest[..newline]);
                rest = &rest[newline + 1..];
                self.one_line(engine, function, std::mem::take(&mut pending))?;
            }
            pending.extend_from_slice(rest);
        }
        self.one_line(engine, function, pending)
    }

    fn one_line(&self, engine: &Engine, function: &Persistent<Function<'static>>, mut line: Vec<u8>) -> Result<(), String> {
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let output = call(engine, function, IoMode::Json, line, &self.last_call)?;
        engine.js.write_stdout(&output).and_then(|()| engine.js.flush()).map_err(|e| format!("writing stdout: {e}"))
    }
}

/// Converts the input, calls the function, awaits a returned promise and
/// converts the result; returns the bytes to write. A value the function gave
/// `ShopifyFunction.writeOutput` is the result, whatever it returned.
/// The call's input and result are kept in `last_call` (see
/// [`Functions::last_call`]), whose previous values are freed first.
fn call(engine: &Engine, function: &Persistent<Function<'static>>, io: IoMode, input: Vec<u8>, last_call: &RefCell<Vec<Persistent<Value<'static>>>>) -> Result<Vec<u8>, String> {
    drop(last_call.take());
    let returned = call_and_settle(engine, function, io, input).map(|(argument, returned)| {
        last_call.borrow_mut().push(argument);
        returned
    });
    // Ended whatever happened: the next invocation starts afresh.
    let written = engine.ctx.with(|ctx| {
        let written = engine.js.end_invocation(&ctx).map_err(|e| e.to_string())?;
        Ok::<_, String>(written.map(|value| Persistent::save(&ctx, value)))
    });
    let value = match (returned, written) {
        (Err(e), _) | (Ok(_), Err(e)) => return Err(e),
        (Ok(_), Ok(Some(written))) => written,
        (Ok(returned), Ok(None)) => returned,
    };
    let output = engine.ctx.with(|ctx| {
        let value = value.clone().restore(&ctx).map_err(|e| e.to_string())?;
        encode_result(&ctx, io, value).map_err(|e| describe(engine, &ctx, e))
    });
    last_call.borrow_mut().push(value);
    output
}

/// What a module reports for a failed call into JavaScript.
fn describe(engine: &Engine, ctx: &Ctx<'_>, error: rquickjs::Error) -> String {
    match error {
        rquickjs::Error::Exception => engine.js.describe_uncaught(ctx, ctx.catch()),
        other => format!("Uncaught Error: {other}"),
    }
}

/// Converts the input, calls the function with it (the invocation's input
/// for `ShopifyFunction` too) and awaits a returned promise. Returns the
/// argument and the result.
fn call_and_settle(engine: &Engine, function: &Persistent<Function<'static>>, io: IoMode, input: Vec<u8>) -> Result<(Persistent<Value<'static>>, Persistent<Value<'static>>), String> {
    let describe = |ctx: &Ctx<'_>, e: rquickjs::Error| describe(engine, ctx, e);
    let returned = engine.ctx.with(|ctx| {
        let argument: Value = match io {
            IoMode::Json | IoMode::Ndjson => kiln_js_runtime::json::parse(&ctx, input).map_err(|e| match e {
                rquickjs::Error::Exception => {
                    let description = engine.js.describe_uncaught(&ctx, ctx.catch());
                    if description.starts_with("Uncaught SyntaxError") { format!("{description} (stdin must hold JSON)") } else { description }
                }
                other => format!("Uncaught SyntaxError: stdin is not valid JSON: {other}"),
            })?,
            IoMode::Text => kiln_js_runtime::utf8_string(&ctx, &kiln_js_runtime::utf8_lossy(&input)).map_err(|e| describe(&ctx, e))?.into_value(),
            IoMode::Bytes => TypedArray::<u8>::new(ctx.clone(), input).map_err(|e| describe(&ctx, e))?.into_value(),
        };
        engine.js.begin_invocation(&ctx, argument.clone());
        let kept = Persistent::save(&ctx, argument.clone());
        let f = function.clone().restore(&ctx).map_err(|e| describe(&ctx, e))?;
        let result: Value = f.call((argument,)).map_err(|e| describe(&ctx, e))?;
        Ok::<_, String>((kept, Persistent::save(&ctx, result)))
    })?;
    let (argument, returned) = returned;

    let is_promise = engine.ctx.with(|ctx| returned.clone().restore(&ctx).map(|v| v.is_promise()).unwrap_or(false));
    if is_promise {
        Ok((argument, settle(&engine.rt, &engine.ctx, &engine.js, &engine.rejections, Some(returned))?.ok_or("the function's promise has no value")?))
    } else {
        settle(&engine.rt, &engine.ctx, &engine.js, &engine.rejections, None)?;
        Ok((argument, returned))
    }
}

/// Turns the function's result into output bytes.
fn encode_result<'js>(ctx: &Ctx<'js>, io: IoMode, value: Value<'js>) -> rquickjs::Result<Vec<u8>> {
    let wrong_type = |expected: &str| {
        rquickjs::Exception::throw_type(ctx, &format!("the invoked function returned {}, expected {expected} (--io {})", describe_type(&value), io.name()))
    };
    match io {
        IoMode::Json | IoMode::Ndjson => {
            let mut text = match kiln_js_runtime::json::stringify(ctx, &value)? {
                Some(t) => t,
                // JSON.stringify gives undefined for undefined and functions.
                None => return Err(wrong_type("a JSON-serialisable value")),
            };
            text.push(b'\n');
            Ok(text)
        }
        IoMode::Text => match value.as_string() {
            Some(s) => Ok(kiln_js_runtime::utf8_bytes(s)?),
            None => Err(wrong_type("a string")),
        },
        IoMode::Bytes => match value.as_object().and_then(|o| o.as_typed_array::<u8>()) {
            // SAFETY: read while the array is alive, inside this call.
            Some(bytes) => Ok(bytes.as_raw().map(|raw| unsafe { raw.as_ref() }.to_vec()).unwrap_or_default()),
            None => Err(wrong_type("a Uint8Array")),
        },
    }
}

/// A value's type as a JavaScript programmer would name it.
fn describe_type(value: &Value<'_>) -> &'static str {
    use rquickjs::Type;
    match value.type_of() {
        Type::Int | Type::Float => "a number",
        Type::String => "a string",
        Type::Bool => "a boolean",
        Type::Undefined | Type::Uninitialized => "undefined",
        Type::Null => "null",
        Type::BigInt => "a bigint",
        Type::Symbol => "a symbol",
        Type::Array => "an array",
        Type::Promise => "a promise",
        _ => "an object",
    }
}
