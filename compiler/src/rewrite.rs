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

/// Options for [`finish_module`].
#[derive(Debug, Clone, Default)]
pub struct RewriteOptions {
    /// Keep the function names section (for profiling and backtraces).
    pub keep_names: bool,
}

/// Rewrites a snapshot into the final module.
pub fn finish_module(snapshot: &[u8], options: &RewriteOptions) -> Result<Vec<u8>, Error> {
    let mut config = walrus::ModuleConfig::new();
    config.generate_producers_section(true).generate_name_section(options.keep_names);
    let mut module = config.parse(snapshot).map_err(|e| Error::Rewrite(format!("{e:#}")))?;

    let unwanted: Vec<_> = module.exports.iter().filter(|e| !KEPT_EXPORTS.contains(&e.name.as_str())).map(|e| e.id()).collect();
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
