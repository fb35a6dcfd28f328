//! Where the CLI keeps compiled code between invocations, and `kiln cache`.

use clap::{Args, Subcommand};
use kiln::ModuleCache;
use std::path::PathBuf;
use std::process::ExitCode;

/// Inspect or empty the cache of compiled code.
///
/// `kiln build` and `kiln run` keep compiled code here: the engine, the
/// code of the modules run before (one entry for all modules that differ
/// only in their data, so that a module built a moment ago runs without
/// being compiled), and the engine's functions one by one. The directory is
/// $KILN_CACHE_DIR, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln. It is kept
/// under a size limit by removing the least recently used entries: 256M
/// unless $KILN_CACHE_SIZE says otherwise (e.g. KILN_CACHE_SIZE=1G).
#[derive(Args)]
#[command(after_help = "Examples:\n  kiln cache size\n  kiln cache clear\n  KILN_CACHE_SIZE=1G kiln run app.wasm")]
pub(crate) struct CacheArgs {
    #[command(subcommand)]
    action: CacheAction,
}

#[derive(Subcommand)]
enum CacheAction {
    /// Print the cache's directory, size and limit.
    Size,
    /// Remove everything in the cache.
    Clear,
}

/// The cache, as configured by the environment; `None` when no directory
/// can be found or `no_cache` is given.
pub(crate) fn module_cache(no_cache: bool) -> Option<ModuleCache> {
    if no_cache {
        return None;
    }
    configured().ok().flatten()
}

/// `$KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`,
/// limited to `$KILN_CACHE_SIZE`.
fn configured() -> anyhow::Result<Option<ModuleCache>> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let dir = env("KILN_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| env("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("kiln")))
        .or_else(|| env("HOME").map(|d| PathBuf::from(d).join(".cache").join("kiln")));
    let Some(dir) = dir else { return Ok(None) };
    let mut cache = ModuleCache::new(dir);
    if let Some(size) = env("KILN_CACHE_SIZE") {
        let size = size.to_string_lossy();
        let bytes = super::run::parse_size(&size).map_err(|e| anyhow::anyhow!("KILN_CACHE_SIZE: {e}"))?;
        cache = cache.with_limit(bytes as u64);
    }
    Ok(Some(cache))
}

pub(crate) fn execute(args: CacheArgs) -> anyhow::Result<ExitCode> {
    let Some(cache) = configured()? else { anyhow::bail!("no cache directory: set KILN_CACHE_DIR or HOME") };
    let dir = cache.dir().display();
    match args.action {
        CacheAction::Size => {
            let size = cache.size().map_err(|e| anyhow::anyhow!("reading {dir}: {e}"))?;
            println!("{dir}: {} of {}", super::run::show_size_rounded(size), super::run::show_size_rounded(cache.limit()));
        }
        CacheAction::Clear => {
            let freed = cache.clear().map_err(|e| anyhow::anyhow!("clearing {dir}: {e}"))?;
            println!("{dir}: removed {}", super::run::show_size_rounded(freed));
        }
    }
    Ok(ExitCode::SUCCESS)
}
