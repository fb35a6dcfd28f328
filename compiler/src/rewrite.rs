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
//! - the snapshot's data segments are merged across short runs of zeros;
//! - QuickJS's recursive functions with (almost) no shadow-stack frame are
//!   made to reserve some (see [`SHADOW_CHARGES`]), so that the engine's
//!   shadow-stack limit bounds the native stack they use too;
//! - WASI imports the module can never need are replaced by local stubs (see
//!   [`LOCAL_STUBS`]), so that it imports only what its engine calls.
//!
//! Builds seldom run this: see [`crate::splice`].

use crate::error::Error;

/// Exports every Kiln module keeps.
pub const KEPT_EXPORTS: &[&str] = kiln_abi::exports::KEPT;

/// The engine's function-mode entry point, `(index: i32) -> ()`.
const INVOKE_EXPORT: &str = kiln_abi::exports::INVOKE;
/// What the shared engine exports besides [`KEPT_EXPORTS`]: the entries of
/// program modules (function mode's and the bytecode form's).
const SHARED_ENGINE_EXPORTS: &[&str] = &[INVOKE_EXPORT, kiln_abi::exports::RUN_BYTECODE];

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
    /// The shared engine of dynamic modules: keep the engine's invoke
    /// export, which function-mode program modules call.
    pub shared_engine: bool,
}

/// Rewrites a snapshot into the final module.
pub fn finish_module(snapshot: &[u8], options: &RewriteOptions) -> Result<Vec<u8>, Error> {
    let mut config = walrus::ModuleConfig::new();
    config.generate_producers_section(true).generate_name_section(options.keep_names);
    let mut module = config.parse(snapshot).map_err(|e| Error::Rewrite(format!("{e:#}")))?;

    add_invoke_exports(&mut module, &options.invoked)?;
    stub_unneeded_imports(&mut module)?;
    charge_shadow_stack(&mut module)?;
    let host_stack_cell = host_stack_cell(&module)?;
    if !options.keep_parser {
        cut_off_parser(&mut module)?;
    }
    let unwanted: Vec<_> = module
        .exports
        .iter()
        .filter(|e| {
            let kept = KEPT_EXPORTS.contains(&e.name.as_str()) || (options.shared_engine && SHARED_ENGINE_EXPORTS.contains(&e.name.as_str()));
            !kept && !options.invoked.contains(&e.name) && e.name != HOST_STACK_EXPORT
        })
        .map(|e| e.id())
        .collect();
    for id in unwanted {
        module.exports.delete(id);
    }
    if options.shared_engine
        && let Some(start) = module.exports.iter_mut().find(|e| e.name == kiln_abi::exports::START)
    {
        start.name = kiln_abi::dynamic::ENGINE_START.to_string();
    }
    walrus::passes::gc::run(&mut module);
    // Only now: the cell's global must outlive the dead-code pass, so that
    // the global section stays the snapshot's (a splice puts the next
    // snapshot's globals in its place, see `crate::splice`).
    let cell_export = module.exports.iter().find(|e| e.name == HOST_STACK_EXPORT).map(|e| e.id());
    if let Some(export) = cell_export {
        module.exports.delete(export);
    }

    let customs: Vec<_> = module.customs.iter().map(|(id, _)| id).collect();
    for id in customs {
        module.customs.delete(id);
    }
    module.customs.add(walrus::RawCustomSection { name: HOST_STACK_SECTION.into(), data: host_stack_cell.to_le_bytes().to_vec() });
    module.producers.clear();
    module.producers.add_processed_by("kiln", env!("CARGO_PKG_VERSION"));
    if !options.keep_names {
        module.name = None;
    }
    // walrus keeps the snapshot's segments as they are; the data section
    // is re-encoded, merged, by the same code as a splice's.
    crate::sections::with_data(&module.emit_wasm(), crate::sections::snapshot_data(snapshot)?)
}

/// QuickJS functions that recurse (one call per nesting level of their
/// input) while keeping almost nothing on the shadow stack, and the shadow
/// bytes each call is charged.
///
/// The engine's recursion limit is a shadow-stack budget sized for the
/// host's native stack at a fixed ratio of native to shadow bytes (see
/// `engine/src/stack.rs`). JavaScript calls keep their frames on the shadow
/// stack and stay under that ratio; these functions do not (measured on
/// Cranelift, native/shadow bytes per level: `JSON.stringify` 15, `JSON.parse`
/// 12, regexp compilation 32), and nested input ran the native stack out
/// before QuickJS's check fired: a trap. Each call of them is wrapped in a
/// function that moves the shadow stack pointer down by its charge for the
/// duration of the call (the bytes are never touched), so QuickJS's own
/// check sees what the recursion costs. The charge is large (native use per
/// level is ~240 bytes): the wrapper is a second wasm call per level, and
/// wasmi allows only 1,000 nested calls whatever their size.
const SHADOW_CHARGES: &[(&str, i32)] = &[
    ("js_json_to_str", 192),
    ("json_parse_value", 192),
    ("internalize_json_property", 192),
    ("re_parse_disjunction", 192),
];

/// The shadow stack pointer, as wasm-ld names it.
const STACK_POINTER: &str = "__stack_pointer";

/// Applies [`SHADOW_CHARGES`]: every call of each function (there are no
/// function-pointer uses of them) goes through a wrapper that charges it.
fn charge_shadow_stack(module: &mut walrus::Module) -> Result<(), Error> {
    let sp = module
        .globals
        .iter()
        .find(|g| g.name.as_deref() == Some(STACK_POINTER))
        .map(|g| g.id())
        .ok_or_else(|| Error::Rewrite(format!("the engine has no global named `{STACK_POINTER}` (built without its name section?)")))?;
    let mut wrappers = Vec::new();
    for &(name, charge) in SHADOW_CHARGES {
        let target = module
            .funcs
            .iter()
            .find(|f| f.name.as_deref() == Some(name))
            .map(|f| f.id())
            .ok_or_else(|| Error::Rewrite(format!("the engine has no function named `{name}`")))?;
        let in_table = module.elements.iter().any(|e| matches!(&e.items, walrus::ElementItems::Functions(fs) if fs.contains(&target)));
        if in_table {
            return Err(Error::Rewrite(format!("`{name}` is called through a function pointer; it cannot be charged")));
        }
        let ty = module.types.get(module.funcs.get(target).ty());
        let (params, results) = (ty.params().to_vec(), ty.results().to_vec());
        let args: Vec<_> = params.iter().map(|&t| module.locals.add(t)).collect();
        let mut builder = walrus::FunctionBuilder::new(&mut module.types, &params, &results);
        let mut body = builder.func_body();
        body.global_get(sp).i32_const(charge).binop(walrus::ir::BinaryOp::I32Sub).global_set(sp);
        for &arg in &args {
            body.local_get(arg);
        }
        body.call(target);
        body.global_get(sp).i32_const(charge).binop(walrus::ir::BinaryOp::I32Add).global_set(sp);
        let wrapper = builder.finish(args, &mut module.funcs);
        module.funcs.get_mut(wrapper).name = Some(format!("{name}.charged"));
        wrappers.push((target, wrapper));
    }
    struct Redirect<'a>(&'a [(walrus::FunctionId, walrus::FunctionId)]);
    impl walrus::ir::VisitorMut for Redirect<'_> {
        fn visit_instr_mut(&mut self, instr: &mut walrus::ir::Instr, _: &mut walrus::InstrLocId) {
            if let walrus::ir::Instr::Call(call) = instr {
                if let Some(&(_, wrapper)) = self.0.iter().find(|(target, _)| *target == call.func) {
                    call.func = wrapper;
                }
            }
        }
    }
    let wrapper_ids: Vec<_> = wrappers.iter().map(|w| w.1).collect();
    for (id, function) in module.funcs.iter_local_mut() {
        if !wrapper_ids.contains(&id) {
            let entry = function.entry_block();
            walrus::ir::dfs_pre_order_mut(&mut Redirect(&wrappers), function, entry);
        }
    }
    Ok(())
}

/// The engine's export of its host-stack cell, and the custom section that
/// tells `kiln run` where the cell is (see `kiln_abi::stack`).
use kiln_abi::stack::{HOST_STACK_EXPORT, HOST_STACK_SECTION};

/// The address of the engine's host-stack cell.
fn host_stack_cell(module: &walrus::Module) -> Result<u32, Error> {
    let missing = || Error::Rewrite(format!("the engine has no `{HOST_STACK_EXPORT}` global export"));
    let export = module.exports.iter().find(|e| e.name == HOST_STACK_EXPORT).ok_or_else(missing)?;
    let walrus::ExportItem::Global(global) = export.item else { return Err(missing()) };
    match module.globals.get(global).kind {
        walrus::GlobalKind::Local(walrus::ConstExpr::Value(walrus::ir::Value::I32(address))) => Ok(address as u32),
        _ => Err(Error::Rewrite(format!("`{HOST_STACK_EXPORT}` is not a constant address"))),
    }
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

/// The module WASI preview 1 imports come from.
const WASI: &str = "wasi_snapshot_preview1";

/// What a stubbed import does instead of calling the host.
#[derive(Clone, Copy)]
enum Stub {
    /// Returns this WASI errno, touching nothing.
    Errno(i32),
    /// `environ_sizes_get(count_ptr, size_ptr)`: an empty environment
    /// (writes 0 to both and succeeds).
    NoEnvironment,
}

/// WASI's `notsup`, `spipe` and `notty` errnos.
const ERRNO_NOTSUP: i32 = 58;
const ERRNO_SPIPE: i32 = 70;
const ERRNO_NOTTY: i32 = 59;

/// Imports the engine's libraries link but a Kiln module never needs, and
/// the stub each becomes. Found with the engine's name section: each is
/// reached only through one wasi-libc or Rust std path that Kiln does not
/// take, or takes only where the stub's answer is the true one.
///
/// - `fd_close`: only from `close`, only from `__stdio_close`, the close
///   entry of wasi-libc's standard `FILE`s (reached by `fclose(stdout)`,
///   which nothing does). The module holds only fds 0-2 and never closes
///   them.
/// - `fd_seek`: only from `lseek`, only from `__stdio_seek`, the seek entry
///   of those `FILE`s; stdio is a stream, where seeking is `ESPIPE` anyway.
/// - `fd_fdstat_get`: only from `isatty`, only from `__stdout_write`, which
///   asks once whether C's `stdout` is a terminal to choose line buffering.
///   Kiln writes stdout and stderr from Rust (`fd_write`); "not a terminal"
///   only means that C `printf` output, if any, is flushed at exit.
/// - `environ_get`, `environ_sizes_get`: only from `getenv`, only from Rust
///   std's panic machinery (`RUST_BACKTRACE`). Every Kiln runner gives a
///   module no environment; now no host can give it one.
const LOCAL_STUBS: &[(&str, Stub)] = &[
    ("fd_close", Stub::Errno(ERRNO_NOTSUP)),
    ("fd_seek", Stub::Errno(ERRNO_SPIPE)),
    ("fd_fdstat_get", Stub::Errno(ERRNO_NOTTY)),
    ("environ_get", Stub::Errno(0)),
    ("environ_sizes_get", Stub::NoEnvironment),
];

/// A [`Stub`] with what its code needs.
#[derive(Clone, Copy)]
enum StubBody {
    Errno(i32),
    NoEnvironment(walrus::MemoryId),
}

/// Turns each import of [`LOCAL_STUBS`] the module has into a local
/// function (callers keep calling the same function index).
fn stub_unneeded_imports(module: &mut walrus::Module) -> Result<(), Error> {
    let memory = module.memories.iter().next().map(|m| m.id());
    for &(name, stub) in LOCAL_STUBS {
        let Some(import) = module.imports.find(WASI, name) else { continue };
        let walrus::ImportKind::Function(function) = module.imports.get(import).kind else {
            return Err(Error::Rewrite(format!("the engine's import {WASI}.{name} is not a function")));
        };
        let (params, results) = {
            let ty = module.types.get(module.funcs.get(function).ty());
            (ty.params().to_vec(), ty.results().to_vec())
        };
        let expected_params = if matches!(stub, Stub::NoEnvironment) { 2 } else { params.len() };
        if results != [walrus::ValType::I32] || params.len() != expected_params {
            return Err(Error::Rewrite(format!("the engine's import {WASI}.{name} has an unexpected type")));
        }
        let body = match stub {
            Stub::Errno(errno) => StubBody::Errno(errno),
            Stub::NoEnvironment => StubBody::NoEnvironment(memory.ok_or_else(|| Error::Rewrite("the engine has no memory".into()))?),
        };
        module
            .replace_imported_func(function, |(builder, args)| match body {
                StubBody::Errno(errno) => {
                    builder.i32_const(errno);
                }
                StubBody::NoEnvironment(memory) => {
                    let aligned = walrus::ir::MemArg { align: 4, offset: 0 };
                    for &ptr in args.iter() {
                        builder.local_get(ptr).i32_const(0).store(memory, walrus::ir::StoreKind::I32 { atomic: false }, aligned);
                    }
                    builder.i32_const(0);
                }
            })
            .map_err(|e| Error::Rewrite(format!("stubbing {WASI}.{name}: {e:#}")))?;
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
