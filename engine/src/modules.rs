//! The program's own ES modules: the files it imports, served from memory.
//!
//! The compiler (its front end, `kiln-frontend`) collects the module graph
//! at build time and passes every file in the init input ([`kiln_abi::InitInput`]). This module
//! installs a resolver and loader on the runtime that serve those sources
//! while the program is compiled and linked during `kiln.init`; then every
//! file not reached by a static import (only by `import()`) is compiled too,
//! so that the snapshot holds the bytecode of the whole graph. A run never
//! reads a file and never parses: a dynamic `import()` of a file in the
//! graph finds its module already compiled.
//!
//! Module names are the compiler's (paths relative to the project root,
//! `lib/util.js`, `node_modules/zod/lib/index.js`); QuickJS uses the name as
//! the file name in stack traces.
//!
//! The compiler resolved every import: this module only looks them up in
//! the init input's import map, (importer, specifier, attributes) → name.
//! An import not in the map (an `import()` of a computed specifier) fails
//! with a `ReferenceError` saying it is not part of the build. An import
//! that fails is recorded as it fails, so that the build report says which
//! one it was ([`import_failure`]).
//!
//! # JSON and text modules
//!
//! `import data from "./d.json" with { type: "json" }` gives a module whose
//! default export is the parsed JSON; `with { type: "text" }` one whose
//! default export is the file's text (any file, this one included). As in
//! QuickJS-NG's `qjs`, a `.json` file imported without attributes is JSON
//! too. QuickJS keys loaded modules by name *and* attributes, so the same
//! file imported as text, as JSON and without attributes gives three
//! distinct modules, and equal attributes share one. Each is a C module
//! (`JS_NewCModule`) holding its value, parsed or made at build time and so
//! part of the snapshot; every form the program imports, statically or with
//! a literal `import()`, is loaded during `kiln.init` (see [`preload_data`]).

use crate::{Report, Stage, internal};
use kiln_abi::{ImportFailure, ImportMapping, ImportProblem, ModuleKind};
use kiln_js_runtime::UnhandledRejections;
use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::{Ctx, Exception, Module, Result, Runtime, Value, module::Declared, qjs};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The name of the synthetic module that checks, at build time, that the
/// program's module graph links (see [`check_links`]).
const LINK_CHECK: &str = "kiln:link-check";
/// A module whose evaluation throws at once: imported first by
/// [`LINK_CHECK`], it stops evaluation before any of the program runs.
const STOP: &str = "kiln:stop";
/// The name of the synthetic module that imports every JSON and text module
/// in each form the program uses (see [`preload_data`]).
const PRELOAD: &str = "kiln:preload-data";

/// What a data module's default export is made from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum DataKind {
    /// The parsed JSON.
    Json,
    /// The file's text, as a string.
    Text,
}

/// A file imported as JSON or text.
struct DataModule {
    kind: DataKind,
    name: String,
    /// Imported `with { type: ... }`.
    typed: bool,
    /// Imported without attributes (a `.json` file: JSON by its suffix).
    untyped: bool,
    source: Vec<u8>,
}

/// The files of the build, shared by the resolver, the loader and `init`.
#[derive(Default)]
pub(crate) struct Catalog {
    /// The imports the compiler resolved: (importer, specifier) → the
    /// attributes each was written with and its module.
    import_map: BTreeMap<(String, String), Vec<(Vec<(String, String)>, String)>>,
    /// Sources not compiled yet. Taken out as each is compiled, so that none
    /// stays in the snapshot.
    sources: RefCell<BTreeMap<String, Vec<u8>>>,
    /// The files imported as JSON or text. A file may be loaded more than
    /// once (typed and untyped JSON are distinct modules), so these stay
    /// until [`preload_data`] has loaded every form, and are dropped then.
    data: RefCell<Vec<DataModule>>,
}

/// Installs the resolver and loader on `rt` and returns the catalog they
/// share: `modules` are the files other than the entry.
pub(crate) fn install(rt: &Runtime, modules: Vec<kiln_abi::Module>, import_map: Vec<ImportMapping>) -> Rc<Catalog> {
    let mut sources = BTreeMap::new();
    let mut data = Vec::new();
    for module in modules {
        let (kind, typed, untyped) = match module.kind {
            ModuleKind::JavaScript(_) => {
                sources.insert(module.name, module.source);
                continue;
            }
            ModuleKind::Json { typed, untyped } => (DataKind::Json, typed, untyped),
            ModuleKind::Text => (DataKind::Text, true, false),
        };
        data.push(DataModule { kind, name: module.name, typed, untyped, source: module.source });
    }
    let mut map: BTreeMap<(String, String), Vec<(Vec<(String, String)>, String)>> = BTreeMap::new();
    for mapping in import_map {
        map.entry((mapping.importer, mapping.specifier)).or_default().push((mapping.attributes, mapping.target));
    }
    let catalog = Rc::new(Catalog { import_map: map, sources: RefCell::new(sources), data: RefCell::new(data) });
    rt.set_loader(FileResolver(catalog.clone()), FileLoader(catalog.clone()));
    catalog
}

/// Compiles every file of the graph that no static import reached, so that
/// `import()` finds it at run time without parsing.
pub(crate) fn compile_rest(ctx: &Ctx<'_>, catalog: &Catalog) -> std::result::Result<(), Report> {
    loop {
        // The loader takes sources out as the imports of this one are
        // compiled; take the first that is left each time round.
        let Some((name, source)) = catalog.sources.borrow_mut().pop_first() else { return Ok(()) };
        Module::declare(ctx.clone(), name.as_str(), source).map_err(|e| match e {
            rquickjs::Error::Exception => crate::exception_report(ctx, Stage::Compile),
            other => internal(format!("compiling {name}: {other}")),
        })?;
    }
}

/// Loads every JSON and text module in each form the program imports it
/// (`with { type }`, or untyped for a `.json` file), so that the values are
/// made at build time and a run's `import()` finds the module already
/// loaded — QuickJS finds a loaded module only under the attributes it was
/// first requested with, and records those only when a module is loaded
/// through an import. So this compiles a synthetic module importing each
/// form (`import "d.json" with { type: "json" };`) and resolves its imports
/// without evaluating it; forms the program's static imports already loaded
/// are found, not loaded again. The sources are dropped afterwards.
pub(crate) fn preload_data(ctx: &Ctx<'_>, catalog: &Catalog) -> std::result::Result<(), Report> {
    let mut source = String::new();
    for module in catalog.data.borrow().iter() {
        let name = crate::json_string(&module.name);
        let kind = match module.kind {
            DataKind::Json => "json",
            DataKind::Text => "text",
        };
        if module.typed {
            source.push_str(&format!("import {name} with {{ type: \"{kind}\" }};\n"));
        }
        if module.untyped {
            source.push_str(&format!("import {name};\n"));
        }
    }
    if source.is_empty() {
        return Ok(());
    }
    let raw = ctx.as_raw().as_ptr();
    let len = source.len();
    let mut bytes = source.into_bytes();
    bytes.push(0);
    let name = std::ffi::CString::new(PRELOAD).map_err(|_| internal("bad preload name"))?;
    let flags = (qjs::JS_EVAL_TYPE_MODULE | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
    // SAFETY: `raw` is the live context of `ctx`; the source is followed by
    // a NUL and outlives the call.
    let value = unsafe { qjs::JS_Eval(raw, bytes.as_ptr().cast(), len as _, name.as_ptr(), flags) };
    if unsafe { qjs::JS_IsException(value) } {
        return Err(crate::exception_report(ctx, Stage::Link));
    }
    // SAFETY: `value` is the compiled module, owned here.
    let resolved = unsafe { qjs::JS_ResolveModule(raw, value) };
    // The loaded modules stay in the context's list; the synthetic one,
    // never evaluated, is not needed again.
    unsafe { qjs::JS_FreeValue(raw, value) };
    if resolved < 0 {
        return Err(crate::exception_report(ctx, Stage::Link));
    }
    catalog.data.borrow_mut().clear();
    Ok(())
}

/// Links the compiled module `entry` (its imports resolved against their
/// exports) without evaluating any of it, so that an import of a name a
/// module does not export — or an unresolvable cycle of re-exports — is a
/// build error, not a run-time one.
///
/// QuickJS links only as part of evaluating, so this evaluates a synthetic
/// module `import "kiln:stop"; import "<entry>";`: linking covers the whole
/// graph, then evaluation starts with `kiln:stop`, which throws before any
/// of the program runs. The program's modules stay linked but unevaluated
/// (evaluation stops at the first failing dependency), and `_start`
/// evaluates them as usual. The rejected promise of the synthetic module is
/// dropped from `rejections`.
pub(crate) fn check_links(ctx: &Ctx<'_>, entry: &str, rejections: &UnhandledRejections) -> std::result::Result<(), Report> {
    let source = format!("import {}; import {};", crate::json_string(STOP), crate::json_string(entry));
    let name = std::ffi::CString::new(LINK_CHECK).map_err(|_| internal("bad link-check name"))?;
    let mut bytes = source.into_bytes();
    let len = bytes.len();
    bytes.push(0);
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: `raw` is the live context of `ctx`; the source is followed by
    // a NUL and outlives the call.
    let value = unsafe { qjs::JS_Eval(raw, bytes.as_ptr().cast(), len as _, name.as_ptr(), qjs::JS_EVAL_TYPE_MODULE as i32) };
    if unsafe { qjs::JS_IsException(value) } {
        match crate::exception_report(ctx, Stage::Link) {
            Report::Exception(error) if error.message == STOP => {}
            report => return Err(report),
        }
    } else {
        // SAFETY: we own `value` (the evaluation's promise).
        unsafe { qjs::JS_FreeValue(raw, value) };
    }
    rejections.take_first(ctx);
    Ok(())
}

thread_local! {
    /// The import that failed last, and the message it was thrown with.
    static FAILED_IMPORT: RefCell<Option<(String, ImportFailure)>> = const { RefCell::new(None) };
}

/// Throws `exception` for an import that failed, and records `failure`
/// for [`import_failure`].
fn fail_import<'js, T>(ctx: &Ctx<'js>, failure: ImportFailure, message: String, throw: fn(&Ctx<'js>, &str) -> rquickjs::Error) -> Result<T> {
    let error = throw(ctx, &message);
    FAILED_IMPORT.with(|f| *f.borrow_mut() = Some((message, failure)));
    Err(error)
}

/// Which import an exception with `message` is about: the import the
/// resolver or loader failed with that message, or one QuickJS found not
/// to link. `None`: the exception is not about an import.
///
/// QuickJS-NG links modules in C and says which export failed only in its
/// message (`Could not find export 'x' in module 'lib.js'`); this is the one
/// place that reads its wording, next to the QuickJS it is built with.
pub(crate) fn import_failure(message: &str) -> Option<ImportFailure> {
    if let Some((_, failure)) = FAILED_IMPORT.with(|f| f.borrow_mut().take_if(|(thrown, _)| thrown == message)) {
        return Some(failure);
    }
    let quoted: Vec<&str> = message.split('\'').skip(1).step_by(2).collect();
    let [name, module, ..] = quoted[..] else { return None };
    let name = name.to_string();
    let problem = if message.starts_with("Could not find export") {
        ImportProblem::NotExported { name }
    } else if message.starts_with("circular reference when looking for export") {
        ImportProblem::Circular { name }
    } else if message.starts_with("export '") && message.ends_with("is ambiguous") {
        ImportProblem::Ambiguous { name }
    } else {
        return None;
    };
    Some(ImportFailure { importer: None, specifier: None, module: Some(module.to_string()), problem })
}

/// The value of each import attribute, sorted by key.
fn attribute_pairs(attributes: Option<&ImportAttributes<'_>>) -> Vec<(String, String)> {
    let Some(attributes) = attributes else { return Vec::new() };
    let mut pairs = Vec::new();
    for key in attributes.keys().flatten() {
        if let Ok(Some(value)) = attributes.get(&key) {
            pairs.push((key, value));
        }
    }
    pairs.sort();
    pairs
}

struct FileResolver(Rc<Catalog>);

impl Resolver for FileResolver {
    fn resolve<'js>(&mut self, ctx: &Ctx<'js>, base: &str, name: &str, attributes: Option<ImportAttributes<'js>>) -> Result<String> {
        if base == LINK_CHECK || base == PRELOAD {
            return Ok(name.to_string());
        }
        if let Some(mapped) = self.0.import_map.get(&(base.to_string(), name.to_string())) {
            let pairs = attribute_pairs(attributes.as_ref());
            if let Some((_, target)) = mapped.iter().find(|(written, _)| *written == pairs) {
                return Ok(target.clone());
            }
            // `import(specifier, options)` whose options were not written
            // out at build time: the file is the same, whatever they ask
            // (the loader checks what they ask for).
            if let Some((_, target)) = mapped.first() {
                return Ok(target.clone());
            }
        }
        let failure = ImportFailure { importer: Some(base.to_string()), specifier: Some(name.to_string()), module: None, problem: ImportProblem::NotFound };
        fail_import(
            ctx,
            failure,
            format!(
                "could not load module '{name}' imported from '{base}': it is not part of the build (Kiln resolves the imports written as string literals at build time)"
            ),
            Exception::throw_reference,
        )
    }
}

/// The failure of a module that was resolved but is not in the build.
fn not_compiled<T>(ctx: &Ctx<'_>, name: &str) -> Result<T> {
    let failure = ImportFailure { importer: None, specifier: None, module: Some(name.to_string()), problem: ImportProblem::NotCompiled };
    fail_import(ctx, failure, format!("could not load module '{name}': it was not compiled into this module"), Exception::throw_reference)
}

struct FileLoader(Rc<Catalog>);

impl Loader for FileLoader {
    fn load<'js>(&mut self, ctx: &Ctx<'js>, name: &str, attributes: Option<ImportAttributes<'js>>) -> Result<Module<'js, Declared>> {
        if name == STOP {
            return Module::declare(ctx.clone(), STOP, format!("throw {};", crate::json_string(STOP)));
        }
        let kind = match requested_type(ctx, name, attributes)? {
            Some(kind) => Some(kind),
            // As QuickJS's `qjs` does: the suffix makes a `.json` file JSON.
            None if name.ends_with(".json") => Some(DataKind::Json),
            None => None,
        };
        if let Some(kind) = kind {
            let value = {
                let data = self.0.data.borrow();
                let Some(module) = data.iter().find(|m| m.kind == kind && m.name == name) else { return not_compiled(ctx, name) };
                match kind {
                    DataKind::Json => parse_json(ctx, name, &module.source)?,
                    DataKind::Text => {
                        let text = std::str::from_utf8(&module.source).map_err(|_| Exception::throw_type(ctx, &format!("{name} is not UTF-8 text")))?;
                        rquickjs::String::from_str(ctx.clone(), text)?.into_value()
                    }
                }
            };
            return data_module(ctx, name, value);
        }
        let source = self.0.sources.borrow_mut().remove(name);
        match source {
            Some(source) => Module::declare(ctx.clone(), name, source),
            None => not_compiled(ctx, name),
        }
    }
}

/// The `type` of an import's attributes; other keys are refused (the
/// specification requires hosts to reject attributes they do not know).
fn requested_type<'js>(ctx: &Ctx<'js>, name: &str, attributes: Option<ImportAttributes<'js>>) -> Result<Option<DataKind>> {
    let Some(attributes) = attributes else { return Ok(None) };
    let bad = |message: String| {
        let failure = ImportFailure { importer: None, specifier: None, module: Some(name.to_string()), problem: ImportProblem::BadAttributes };
        fail_import(ctx, failure, message, Exception::throw_type)
    };
    for key in attributes.keys() {
        let key: String = key?;
        if key != "type" {
            return bad(format!("import attribute '{key}' is not supported (only 'type' is)"));
        }
    }
    match attributes.get_type()?.as_deref() {
        None => Ok(None),
        Some("json") => Ok(Some(DataKind::Json)),
        Some("text") => Ok(Some(DataKind::Text)),
        Some(other) => bad(format!("unsupported module type '{other}': Kiln supports with {{ type: \"json\" }} and with {{ type: \"text\" }}")),
    }
}

/// Parses a JSON module's source with QuickJS's own JSON parser, under the
/// file's name, so that a syntax error names `file:line:column`.
fn parse_json<'js>(ctx: &Ctx<'js>, name: &str, source: &[u8]) -> Result<Value<'js>> {
    let file = std::ffi::CString::new(name)?;
    let mut bytes = source.to_vec();
    bytes.push(0); // QuickJS's tokenizer reads up to a NUL.
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: `raw` is the live context of `ctx`; the text (NUL after its
    // length) and the name outlive the call.
    let value = unsafe { qjs::JS_ParseJSON(raw, bytes.as_ptr().cast(), source.len() as _, file.as_ptr()) };
    if unsafe { qjs::JS_IsException(value) } {
        return Err(rquickjs::Error::Exception);
    }
    // SAFETY: `value` is a fresh, owned value of this context.
    Ok(unsafe { Value::from_raw(ctx.clone(), value) })
}

thread_local! {
    /// The value [`new_data_module`] gives the module it creates. A
    /// `ModuleLoadFn` takes no data of its own.
    static DATA_VALUE: std::cell::Cell<Option<qjs::JSValue>> = const { std::cell::Cell::new(None) };
}

/// A module named `name` whose only export, `default`, is `value`.
fn data_module<'js>(ctx: &Ctx<'js>, name: &str, value: Value<'js>) -> Result<Module<'js, Declared>> {
    // SAFETY: `value` is live; the duplicate is an owned reference, handed
    // to the module (or freed below).
    let owned = unsafe { qjs::JS_DupValue(ctx.as_raw().as_ptr(), value.as_raw()) };
    drop(value);
    DATA_VALUE.with(|v| v.set(Some(owned)));
    // SAFETY: `new_data_module` returns a module created in this context,
    // or null with an exception pending.
    let module = unsafe { Module::from_load_fn(ctx.clone(), name, new_data_module) };
    if let Some(left) = DATA_VALUE.with(|v| v.take()) {
        // SAFETY: the value was not handed over (the call failed early).
        unsafe { qjs::JS_FreeValue(ctx.as_raw().as_ptr(), left) };
    }
    module
}

/// Creates the C module for [`data_module`]: the value is its private
/// value, exported as `default` when the module is evaluated (see
/// [`export_data`]).
unsafe extern "C" fn new_data_module(ctx: *mut qjs::JSContext, name: *const std::ffi::c_char) -> *mut qjs::JSModuleDef {
    let Some(value) = DATA_VALUE.with(|v| v.take()) else { return std::ptr::null_mut() };
    // SAFETY: QuickJS gets a live context and a NUL-terminated name.
    unsafe {
        let m = qjs::JS_NewCModule(ctx, name, Some(export_data));
        if m.is_null() || qjs::JS_AddModuleExport(ctx, m, c"default".as_ptr()) < 0 {
            qjs::JS_FreeValue(ctx, value);
            return std::ptr::null_mut();
        }
        // Takes over our reference to `value`.
        qjs::JS_SetModulePrivateValue(ctx, m, value);
        m
    }
}

/// A data module's init function: exports its private value as `default`.
unsafe extern "C" fn export_data(ctx: *mut qjs::JSContext, m: *mut qjs::JSModuleDef) -> std::ffi::c_int {
    // SAFETY: called by QuickJS with the live module; JS_GetModulePrivateValue
    // returns a new reference, which JS_SetModuleExport takes over.
    unsafe {
        let value = qjs::JS_GetModulePrivateValue(ctx, m);
        qjs::JS_SetModuleExport(ctx, m, c"default".as_ptr(), value)
    }
}

#[cfg(test)]
mod tests {
    use super::{ImportProblem, import_failure};

    #[test]
    fn reads_quickjs_link_errors() {
        let failure = import_failure("Could not find export 'missing' in module 'a.js'").unwrap();
        assert_eq!((failure.module.as_deref(), failure.problem), (Some("a.js"), ImportProblem::NotExported { name: "missing".into() }));
        let failure = import_failure("circular reference when looking for export 'x' in module 'r1.js'").unwrap();
        assert_eq!(failure.problem, ImportProblem::Circular { name: "x".into() });
        let failure = import_failure("export 'x' in module 'm.js' is ambiguous").unwrap();
        assert_eq!(failure.problem, ImportProblem::Ambiguous { name: "x".into() });
        assert_eq!(import_failure("x is not defined"), None);
        assert_eq!(import_failure("'a' and 'b'"), None);
    }
}
