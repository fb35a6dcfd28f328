//! The last step of a build: turn the pre-initialized engine into the module
//! users ship.
//!
//! - exports: only `memory` and `_start` remain (wizer already dropped the
//!   init export; this drops anything else the engine happened to export);
//! - code no longer reachable from them (the init path) is removed;
//! - unless the program may `eval`, QuickJS's parser is cut off (see
//!   [`RewriteOptions::keep_parser`]) and removed with the other dead code;
//! - custom sections (names, producers, target features) are dropped, and a
//!   producers entry names Kiln, unless names are kept for debugging;
//! - the snapshot's data segments are merged across short runs of zeros.
//!
//! Builds seldom run this: see [`crate::splice`].

use crate::error::Error;

/// Exports every Kiln module keeps.
pub const KEPT_EXPORTS: &[&str] = kiln_abi::exports::KEPT;

/// The engine's function-mode entry point, `(index: i32) -> ()`.
const INVOKE_EXPORT: &str = kiln_abi::exports::INVOKE;

/// Options for [`finish_module`].
#[derive(Debug, Clone, Default)]
pub struct RewriteOptions {
    /// Keep the function names section (for profiling and backtraces).
    pub keep_names: bool,
    /// Keep QuickJS's parser so that `eval` and `new Function` work at run
    /// time. Without it (the default) the program, compiled at build time,
    /// is all the module can run, and the module is ~200 KB smaller.
    pub keep_parser: bool,
    /// Function mode: for each name, in order, add an export of that name,
    /// type `() -> ()`, that calls the engine's invoke with its index.
    pub invoked: Vec<String>,
}

/// Rewrites a snapshot into the final module.
pub fn finish_module(snapshot: &[u8], options: &RewriteOptions) -> Result<Vec<u8>, Error> {
    let mut config = walrus::ModuleConfig::new();
    config.generate_producers_section(true).generate_name_section(options.keep_names);
    let mut module = config.parse(snapshot).map_err(|e| Error::Rewrite(format!("{e:#}")))?;

    add_invoke_exports(&mut module, &options.invoked)?;
    if !options.keep_parser {
        cut_off_parser(&mut module)?;
    }
    let unwanted: Vec<_> = module
        .exports
        .iter()
        .filter(|e| !KEPT_EXPORTS.contains(&e.name.as_str()) && !options.invoked.contains(&e.name))
        .map(|e| e.id())
        .collect();
    for id in unwanted {
        module.exports.delete(id);
    }
    walrus::passes::gc::run(&mut module);

    let customs: Vec<_> = module.customs.iter().map(|(id, _)| id).collect();
    for id in customs {
        module.customs.delete(id);
    }
    module.producers.clear();
    module.producers.add_processed_by("kiln", env!("CARGO_PKG_VERSION"));
    if !options.keep_names {
        module.name = None;
    }
    // walrus keeps the snapshot's segments as they are; the data section
    // is re-encoded, merged, by the same code as a splice's.
    crate::splice::with_data(&module.emit_wasm(), crate::splice::snapshot_data(snapshot)?)
}

/// QuickJS's entry to its parser, reached at run time only through the
/// function pointer `ctx->eval_internal`, i.e. through the function table.
const PARSER_ENTRY: &str = "__JS_EvalInternal";

/// The engine's replacement for [`PARSER_ENTRY`], which throws a TypeError.
const PARSER_STUB_EXPORT: &str = kiln_abi::exports::EVAL_DISABLED;

/// Points every function-table entry of [`PARSER_ENTRY`] at the engine's
/// stub, leaving the parser unreachable for the dead-code pass.
///
/// Function pointers are table indices, so the snapshot's `ctx->eval_internal`
/// keeps its value and now calls the stub. Relies on the engine's name
/// section (kept by the engine build) to find the parser's entry.
fn cut_off_parser(module: &mut walrus::Module) -> Result<(), Error> {
    let stub = module
        .exports
        .get_func(PARSER_STUB_EXPORT)
        .map_err(|_| Error::Rewrite(format!("the engine has no `{PARSER_STUB_EXPORT}` export")))?;
    let entry = module
        .funcs
        .iter()
        .find(|f| f.name.as_deref() == Some(PARSER_ENTRY))
        .map(|f| f.id())
        .ok_or_else(|| Error::Rewrite(format!("the engine has no function named `{PARSER_ENTRY}` (built without its name section?)")))?;
    if module.funcs.get(entry).ty() != module.funcs.get(stub).ty() {
        return Err(Error::Rewrite(format!("`{PARSER_STUB_EXPORT}` does not have the type of `{PARSER_ENTRY}`")));
    }
    let mut replaced = 0;
    for elem in module.elements.iter_mut() {
        if let walrus::ElementItems::Functions(funcs) = &mut elem.items {
            for f in funcs.iter_mut().filter(|f| **f == entry) {
                *f = stub;
                replaced += 1;
            }
        }
    }
    if replaced == 0 {
        return Err(Error::Rewrite(format!("`{PARSER_ENTRY}` is not in the function table")));
    }
    Ok(())
}

/// Adds one `() -> ()` export per invoked function: `i32.const index; call
/// kiln.invoke`.
fn add_invoke_exports(module: &mut walrus::Module, invoked: &[String]) -> Result<(), Error> {
    if invoked.is_empty() {
        return Ok(());
    }
    let invoke = match module.exports.get_func(INVOKE_EXPORT) {
        Ok(id) => id,
        Err(_) => return Err(Error::Rewrite(format!("the engine has no `{INVOKE_EXPORT}` export"))),
    };
    for (index, name) in invoked.iter().enumerate() {
        let index = i32::try_from(index).map_err(|_| Error::Rewrite("too many invoked functions".into()))?;
        let mut builder = walrus::FunctionBuilder::new(&mut module.types, &[], &[]);
        builder.func_body().i32_const(index).call(invoke);
        let function = builder.finish(vec![], &mut module.funcs);
        module.exports.add(name, function);
    }
    Ok(())
}
