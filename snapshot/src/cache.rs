//! A directory of precompiled modules, so that the engine (and any module
//! `kiln run` has seen before) is compiled by Cranelift once, not per build.
//!
//! Entries are named by the SHA-256 of the wasm bytes and the wasmtime
//! version; wasmtime itself also refuses artifacts from another version or
//! configuration, in which case the entry is recompiled and replaced.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use wasmtime::{Engine, Module};

/// A cache of compiled modules in one directory.
#[derive(Debug, Clone)]
pub struct ModuleCache {
    dir: PathBuf,
}

impl ModuleCache {
    /// Uses `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ModuleCache { dir: dir.into() }
    }

    /// The directory entries live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the compiled module for `wasm`, from the cache if possible.
    /// A cache that cannot be read or written only costs time: the module
    /// is then compiled as if there were no cache.
    ///
    /// # Errors
    ///
    /// Only compilation errors of `wasm` itself.
    pub fn load_or_compile(&self, engine: &Engine, wasm: &[u8], purpose: &str) -> wasmtime::Result<Module> {
        let mut hasher = Sha256::new();
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update(purpose.as_bytes());
        hasher.update(wasm);
        let key: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let path = self.dir.join(format!("{purpose}-{}.cwasm", &key[..32]));

        if path.is_file() {
            // SAFETY: entries are written only by `store` below from
            // `Module::serialize` of the same wasm (the name is its hash), and
            // wasmtime checks the artifact's version and configuration.
            if let Ok(module) = unsafe { Module::deserialize_file(engine, &path) } {
                return Ok(module);
            }
        }
        let module = Module::new(engine, wasm)?;
        self.store(&path, &module);
        Ok(module)
    }

    /// Writes an entry atomically; failures are ignored (see above).
    fn store(&self, path: &Path, module: &Module) {
        let Ok(bytes) = module.serialize() else { return };
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let Ok(mut temp) = tempfile::NamedTempFile::new_in(&self.dir) else { return };
        if std::io::Write::write_all(&mut temp, &bytes).is_ok() {
            let _ = temp.persist(path);
        }
    }
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
    fn an_unwritable_cache_only_costs_time() {
        let file = tempfile::NamedTempFile::new().unwrap();
        // A cache "directory" that is a file: nothing can be stored in it.
        let cache = ModuleCache::new(file.path());
        let engine = wasmtime::Engine::default();
        assert!(cache.load_or_compile(&engine, EMPTY_MODULE, "test").is_ok());
    }
}
