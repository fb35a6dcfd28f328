//! Where the CLI keeps compiled code between invocations.

use kiln::ModuleCache;
use std::path::PathBuf;

/// `$KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`;
/// `None` when none is set or `no_cache` is given.
pub(crate) fn module_cache(no_cache: bool) -> Option<ModuleCache> {
    if no_cache {
        return None;
    }
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = env("KILN_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("kiln")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("kiln")))?;
    Some(ModuleCache::new(dir))
}
