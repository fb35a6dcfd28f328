//! The program's own ES modules: the files it imports, served from memory.
//!
//! The compiler collects the graph of relative imports at build time and
//! passes every file in the init input (see `init_input`). This module
//! installs a resolver and loader on the runtime that serve those sources
//! while the program is compiled and linked during `kiln.init`; then every
//! file not reached by a static import (only by `import()`) is compiled too,
//! so that the snapshot holds the bytecode of the whole graph. A run never
//! reads a file and never parses: a dynamic `import()` of a file in the
//! graph finds its module already compiled.
//!
//! Module names are paths relative to the entry file's directory, with `/`
//! separators and `.`/`..` folded lexically (`lib/util.js`,
//! `../shared/a.mjs`); the compiler names the files the same way. QuickJS
//! uses the name as the file name in stack traces.
//!
//! Only relative specifiers (`./`, `../`) are supported; anything else
//! (packages, URLs, absolute paths) is an error naming what is supported.

use crate::BuildError;
use kiln_js_runtime::UnhandledRejections;
use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::{Ctx, Exception, Module, Result, Runtime, module::Declared, qjs};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// The name of the synthetic module that checks, at build time, that the
/// program's module graph links (see [`check_links`]).
const LINK_CHECK: &str = "kiln:link-check";
/// A module whose evaluation throws at once: imported first by
/// [`LINK_CHECK`], it stops evaluation before any of the program runs.
const STOP: &str = "kiln:stop";

/// The files of the build, shared by the resolver, the loader and `init`.
#[derive(Default)]
pub(crate) struct Catalog {
    /// Every module name the resolver may return (the entry's too).
    known: BTreeSet<String>,
    /// Sources not compiled yet. Taken out as each is compiled, so that none
    /// stays in the snapshot.
    sources: RefCell<BTreeMap<String, Vec<u8>>>,
}

/// Installs the resolver and loader on `rt` and returns the catalog they
/// share. `entry` is the program's own name.
pub(crate) fn install(rt: &Runtime, entry: &str, modules: Vec<(String, Vec<u8>)>) -> Rc<Catalog> {
    let mut known: BTreeSet<String> = modules.iter().map(|(name, _)| name.clone()).collect();
    known.insert(entry.to_string());
    let catalog = Rc::new(Catalog { known, sources: RefCell::new(modules.into_iter().collect()) });
    rt.set_loader(FileResolver(catalog.clone()), FileLoader(catalog.clone()));
    catalog
}

/// Compiles every file of the graph that no static import reached, so that
/// `import()` finds it at run time without parsing.
pub(crate) fn compile_rest(ctx: &Ctx<'_>, catalog: &Catalog) -> std::result::Result<(), BuildError> {
    loop {
        // The loader takes sources out as the imports of this one are
        // compiled; take the first that is left each time round.
        let Some((name, source)) = catalog.sources.borrow_mut().pop_first() else { return Ok(()) };
        Module::declare(ctx.clone(), name.as_str(), source).map_err(|e| match e {
            rquickjs::Error::Exception => crate::exception_report(ctx, "syntax"),
            other => BuildError::internal(format!("compiling {name}: {other}")),
        })?;
    }
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
pub(crate) fn check_links(ctx: &Ctx<'_>, entry: &str, rejections: &UnhandledRejections) -> std::result::Result<(), BuildError> {
    let source = format!("import {}; import {};", crate::json_string(STOP), crate::json_string(entry));
    let name = std::ffi::CString::new(LINK_CHECK).map_err(|_| BuildError::internal("bad link-check name"))?;
    let mut bytes = source.into_bytes();
    let len = bytes.len();
    bytes.push(0);
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: `raw` is the live context of `ctx`; the source is followed by
    // a NUL and outlives the call.
    let value = unsafe { qjs::JS_Eval(raw, bytes.as_ptr().cast(), len as _, name.as_ptr(), qjs::JS_EVAL_TYPE_MODULE as i32) };
    if unsafe { qjs::JS_IsException(value) } {
        let report = crate::exception_report(ctx, "link");
        if report.message != STOP {
            return Err(report);
        }
    } else {
        // SAFETY: we own `value` (the evaluation's promise).
        unsafe { qjs::JS_FreeValue(raw, value) };
    }
    rejections.take_first(ctx);
    Ok(())
}

/// Joins a relative specifier onto the directory of `base` and folds `.`
/// and `..` lexically. Returns `None` for a specifier that is not relative.
///
/// Must name files exactly as the compiler's `module_graph::resolve` does
/// (the compiler keys the init input's modules by those names); the engine
/// cannot share that code, as it depends on nothing but the runtime API.
pub(crate) fn resolve_relative(base: &str, specifier: &str) -> Option<String> {
    if !(specifier.starts_with("./") || specifier.starts_with("../")) {
        return None;
    }
    let mut parts: Vec<&str> = base.split('/').collect();
    parts.pop(); // the file name of `base`
    for part in specifier.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

struct FileResolver(Rc<Catalog>);

impl Resolver for FileResolver {
    fn resolve<'js>(&mut self, ctx: &Ctx<'js>, base: &str, name: &str, _attributes: Option<ImportAttributes<'js>>) -> Result<String> {
        if base == LINK_CHECK {
            return Ok(name.to_string());
        }
        match resolve_relative(base, name) {
            Some(resolved) if self.0.known.contains(&resolved) => Ok(resolved),
            Some(resolved) => Err(Exception::throw_reference(
                ctx,
                &format!(
                    "could not load module '{name}' imported from '{base}': {resolved} is not part of the build (Kiln bundles the files reached through string-literal imports at build time)"
                ),
            )),
            None => Err(Exception::throw_reference(
                ctx,
                &format!(
                    "unsupported import specifier '{name}' in '{base}': Kiln supports only relative paths to files ('./lib.js', '../util/a.mjs'); packages, URLs and absolute paths are not supported"
                ),
            )),
        }
    }
}

struct FileLoader(Rc<Catalog>);

impl Loader for FileLoader {
    fn load<'js>(&mut self, ctx: &Ctx<'js>, name: &str, _attributes: Option<ImportAttributes<'js>>) -> Result<Module<'js, Declared>> {
        if name == STOP {
            return Module::declare(ctx.clone(), STOP, format!("throw {};", crate::json_string(STOP)));
        }
        let source = self.0.sources.borrow_mut().remove(name);
        match source {
            Some(source) => Module::declare(ctx.clone(), name, source),
            None => Err(Exception::throw_reference(ctx, &format!("could not load module '{name}': it was not compiled into this module"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::resolve_relative;

    #[test]
    fn folds_dots_relative_to_the_importer() {
        assert_eq!(resolve_relative("main.js", "./lib.js").as_deref(), Some("lib.js"));
        assert_eq!(resolve_relative("lib/a.js", "./b.js").as_deref(), Some("lib/b.js"));
        assert_eq!(resolve_relative("lib/a.js", "../c.js").as_deref(), Some("c.js"));
        assert_eq!(resolve_relative("main.js", "../util/a.mjs").as_deref(), Some("../util/a.mjs"));
        assert_eq!(resolve_relative("../util/a.mjs", "./b.mjs").as_deref(), Some("../util/b.mjs"));
        assert_eq!(resolve_relative("../util/a.mjs", "../../x.js").as_deref(), Some("../../x.js"));
        assert_eq!(resolve_relative("main.js", "lodash"), None);
        assert_eq!(resolve_relative("main.js", "/abs.js"), None);
    }
}
