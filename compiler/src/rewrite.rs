//! The last step of a build: turn the pre-initialized engine into the module
//! users ship.
//!
//! - exports: only `memory` and `_start` remain (wizer already dropped the
//!   init export; this drops anything else the engine happened to export);
//! - code no longer reachable from them (the init path) is removed;
//! - custom sections (names, producers, target features) are dropped, and a
//!   producers entry names Kiln, unless names are kept for debugging.

use crate::error::Error;

/// Exports every Kiln module keeps.
pub const KEPT_EXPORTS: &[&str] = &["memory", "_start"];

/// The engine's function-mode entry point, `(index: i32) -> ()`.
const INVOKE_EXPORT: &str = "kiln.invoke";

/// Options for [`finish_module`].
#[derive(Debug, Clone, Default)]
pub struct RewriteOptions {
    /// Keep the function names section (for profiling and backtraces).
    pub keep_names: bool,
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
    Ok(module.emit_wasm())
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
