//! A directory of compiled code, bounded in size.
//!
//! Whole compiled modules (`<purpose>-<key>.cwasm`) are named by the SHA-256
//! of wasmtime's compatibility hash for the engine's configuration
//! ([`wasmtime::Engine::precompile_compatibility_hash`]) and the wasm bytes:
//! an entry is only ever loaded by an engine that can run it, with no
//! version string to keep in step. `kiln run` stores most modules as their
//! canonical form (`<purpose>-canonical-<key>.cwasm`, see
//! [`crate::Split`]), one entry for every module that differs from it only
//! in its data. Cranelift's per-function cache lives in
//! `incremental/` ([`crate::IncrementalStore`]); other users (the
//! compiler's skeletons) may keep files here too. Everything in the
//! directory counts towards the limit: after each write the least recently
//! used files (by modification time, which a hit refreshes) are removed
//! until the whole fits.

use crate::incremental::IncrementalStore;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmtime::{Engine, Module};

/// The size a cache may grow to unless told otherwise: a few dozen
/// modules' compiled code, and the engine's functions.
pub const DEFAULT_CACHE_LIMIT: u64 = 256 << 20;

/// A cache of compiled code in one directory.
#[derive(Debug, Clone)]
pub struct ModuleCache {
    dir: PathBuf,
    limit: u64,
}

impl ModuleCache {
    /// Uses `dir` (created on first write), bounded by [`DEFAULT_CACHE_LIMIT`].
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ModuleCache { dir: dir.into(), limit: DEFAULT_CACHE_LIMIT }
    }

    /// Bounds the cache to `bytes`.
    pub fn with_limit(mut self, bytes: u64) -> Self {
        self.limit = bytes;
        self
    }

    /// The directory entries live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The size the cache is kept under.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Makes Cranelift look compiled functions up in (and add them to) this
    /// cache: a module whose functions were compiled before, under the same
    /// configuration, is then mostly a cache lookup. Returns the store, whose
    /// [`IncrementalStore::flush`] writes the new functions out.
    pub fn enable_incremental(&self, config: &mut wasmtime::Config) -> wasmtime::Result<Arc<IncrementalStore>> {
        let store = Arc::new(IncrementalStore::new(self.clone()));
        config.enable_incremental_compilation(store.clone())?;
        Ok(store)
    }

    /// Returns the compiled module for `wasm`, from the cache if possible.
    /// A cache that cannot be read or written only costs time: the module
    /// is then compiled as if there were no cache.
    ///
    /// # Errors
    ///
    /// Only compilation errors of `wasm` itself.
    pub fn load_or_compile(&self, engine: &Engine, wasm: &[u8], purpose: &str) -> wasmtime::Result<Module> {
        let path = self.dir.join(format!("{purpose}-{}.cwasm", entry_key(engine, wasm)));
        if path.is_file() {
            // SAFETY: entries are written only by `store` below from
            // `Module::serialize` of the same wasm under a compatible engine
            // (the name is their hash), and wasmtime checks the artifact's
            // version and configuration again.
            if let Ok(module) = unsafe { Module::deserialize_file(engine, &path) } {
                touch(&path);
                return Ok(module);
            }
        }
        let module = Module::new(engine, wasm)?;
        if let Ok(bytes) = module.serialize() {
            self.store(&path, &bytes);
        }
        Ok(module)
    }

    /// Writes a file into the cache atomically, then trims the cache to its
    /// limit; failures are ignored (see [`load_or_compile`](Self::load_or_compile)).
    pub fn store(&self, path: &Path, bytes: &[u8]) {
        if std::fs::create_dir_all(&self.dir).is_ok() && crate::write_atomically(path, bytes, 0o644).is_ok() {
            self.trim();
        }
    }

    /// The bytes the cache takes.
    ///
    /// # Errors
    ///
    /// Reading the directory failed (a missing one is empty).
    pub fn size(&self) -> std::io::Result<u64> {
        Ok(files(&self.dir)?.iter().map(|f| f.size).sum())
    }

    /// Removes every entry; returns the bytes freed.
    ///
    /// # Errors
    ///
    /// Removing a file failed.
    pub fn clear(&self) -> std::io::Result<u64> {
        let mut freed = 0;
        for file in files(&self.dir)? {
            std::fs::remove_file(&file.path)?;
            freed += file.size;
        }
        Ok(freed)
    }

    /// Removes the least recently used files until the cache fits its limit.
    pub fn trim(&self) {
        let Ok(mut files) = files(&self.dir) else { return };
        let mut total: u64 = files.iter().map(|f| f.size).sum();
        files.sort_by_key(|f| f.used);
        for file in files {
            if total <= self.limit {
                break;
            }
            if std::fs::remove_file(&file.path).is_ok() {
                total -= file.size;
            }
        }
    }
}

/// The name of `wasm`'s entry under `engine`'s configuration.
fn entry_key(engine: &Engine, wasm: &[u8]) -> String {
    use std::hash::Hash;
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.update(wasm);
    hasher.0.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Feeds a [`std::hash::Hash`] into SHA-256, which, unlike std's hashers,
/// is the same in every build.
struct Sha256Hasher(Sha256);

impl std::hash::Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes([digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7]])
    }
}

/// Marks a file as just used.
pub(crate) fn touch(path: &Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(path) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

struct CacheFile {
    path: PathBuf,
    size: u64,
    used: std::time::SystemTime,
}

/// Every file under `dir`, recursively; a missing `dir` has none.
fn files(dir: &Path) -> std::io::Result<Vec<CacheFile>> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                dirs.push(entry.path());
            } else {
                found.push(CacheFile { path: entry.path(), size: meta.len(), used: meta.modified().unwrap_or(std::time::UNIX_EPOCH) });
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::ModuleCache;

    const EMPTY_MODULE: &[u8] = b"\0asm\x01\0\0\0";

    #[test]
    fn stores_an_entry_and_survives_a_corrupt_one() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModuleCache::new(dir.path().join("cache"));
        let engine = wasmtime::Engine::default();
        cache.load_or_compile(&engine, EMPTY_MODULE, "test").unwrap();
        let entries: Vec<_> = std::fs::read_dir(cache.dir()).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(entries.len(), 1);
        assert!(entries[0].file_name().unwrap().to_string_lossy().starts_with("test-"));

        // A damaged entry is recompiled and replaced, not trusted.
        std::fs::write(&entries[0], b"garbage").unwrap();
        cache.load_or_compile(&engine, EMPTY_MODULE, "test").unwrap();
        assert_ne!(std::fs::read(&entries[0]).unwrap(), b"garbage");
    }

    #[test]
    fn another_configuration_has_entries_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModuleCache::new(dir.path());
        cache.load_or_compile(&wasmtime::Engine::default(), EMPTY_MODULE, "test").unwrap();
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        cache.load_or_compile(&wasmtime::Engine::new(&config).unwrap(), EMPTY_MODULE, "test").unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn an_unwritable_cache_only_costs_time() {
        let file = tempfile::NamedTempFile::new().unwrap();
        // A cache "directory" that is a file: nothing can be stored in it.
        let cache = ModuleCache::new(file.path());
        let engine = wasmtime::Engine::default();
        assert!(cache.load_or_compile(&engine, EMPTY_MODULE, "test").is_ok());
    }

    #[test]
    fn keeps_under_its_limit_dropping_the_least_recently_used() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModuleCache::new(dir.path()).with_limit(2500);
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(100);
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            let path = dir.path().join(name);
            std::fs::write(&path, vec![0u8; 1000]).unwrap();
            let file = std::fs::File::options().append(true).open(&path).unwrap();
            file.set_modified(old + std::time::Duration::from_secs(i as u64)).unwrap();
        }
        super::touch(&dir.path().join("a")); // used last: kept
        cache.store(&dir.path().join("d"), &[0u8; 400]);
        let mut left: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        assert_eq!(left, ["a", "c", "d"]);
        assert_eq!(cache.size().unwrap(), 2400);
        assert_eq!(cache.clear().unwrap(), 2400);
        assert_eq!(cache.size().unwrap(), 0);
    }
}
