//! Cranelift's incremental compilation cache, on disk.
//!
//! Cranelift keys each compiled function by a hash of its body and the
//! target's settings, so functions that two modules share are compiled once:
//! every module Kiln builds carries the engine's code unchanged (only data
//! differs), so a module's first `kiln run` finds nearly all its functions
//! here.
//!
//! The store is a directory of *packs*: each process that compiled new
//! functions writes them as one new file ([`IncrementalStore::flush`]), so
//! concurrent processes never write the same file; all packs are read, once,
//! at the first lookup. A pack is a sequence of `(u32 length, key, u32
//! length, value)` records, little-endian; a damaged tail is ignored (a
//! lookup that misses only costs a compile).

use crate::ModuleCache;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// Compiled functions on disk, for [`wasmtime::Config::enable_incremental_compilation`].
#[derive(Debug)]
pub struct IncrementalStore {
    /// The cache the packs count towards (written through it, so that it
    /// stays under its limit).
    cache: ModuleCache,
    dir: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Every function in the packs, read at the first lookup.
    known: Option<HashMap<Vec<u8>, Vec<u8>>>,
    /// Functions compiled by this process, not yet written.
    new: Vec<(Vec<u8>, Vec<u8>)>,
}

impl IncrementalStore {
    /// Uses the packs in `cache`'s `incremental/` (created on the first
    /// flush).
    pub fn new(cache: ModuleCache) -> Self {
        let dir = cache.dir().join("incremental");
        IncrementalStore { cache, dir, state: Mutex::new(State::default()) }
    }

    /// Writes the functions compiled since the last flush as a new pack.
    /// Failures are ignored: the cache only saves time.
    pub fn flush(&self) {
        let new = match self.state.lock() {
            Ok(mut state) => std::mem::take(&mut state.new),
            Err(_) => return,
        };
        if new.is_empty() || std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let mut pack = Vec::new();
        for (key, value) in &new {
            for part in [key, value] {
                pack.extend_from_slice(&(part.len() as u32).to_le_bytes());
                pack.extend_from_slice(part);
            }
        }
        let name = format!("{}-{}.pack", std::process::id(), unique());
        self.cache.store(&self.dir.join(name), &pack);
    }

    fn load(&self) -> HashMap<Vec<u8>, Vec<u8>> {
        let mut known = HashMap::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return known };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "pack")
                && let Ok(bytes) = std::fs::read(&path)
            {
                crate::cache::touch(&path);
                read_pack(&bytes, &mut known);
            }
        }
        known
    }
}

/// A name no other pack of this process has.
fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Adds a pack's records to `known`, up to the first damaged one.
fn read_pack(mut bytes: &[u8], known: &mut HashMap<Vec<u8>, Vec<u8>>) {
    let take = |bytes: &mut &[u8]| -> Option<Vec<u8>> {
        let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        let part = bytes.get(4..4 + len)?.to_vec();
        *bytes = &bytes[4 + len..];
        Some(part)
    };
    while !bytes.is_empty() {
        let (Some(key), Some(value)) = (take(&mut bytes), take(&mut bytes)) else { return };
        known.insert(key, value);
    }
}

impl wasmtime::CacheStore for IncrementalStore {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        let mut state = self.state.lock().ok()?;
        if state.known.is_none() {
            state.known = Some(self.load());
        }
        state.known.as_ref()?.get(key).map(|value| Cow::Owned(value.clone()))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let Ok(mut state) = self.state.lock() else { return false };
        if let Some(known) = state.known.as_mut() {
            known.insert(key.to_vec(), value.clone());
        }
        state.new.push((key.to_vec(), value));
        true
    }
}

impl Drop for IncrementalStore {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::{IncrementalStore, ModuleCache};
    use wasmtime::CacheStore;

    #[test]
    fn functions_stored_by_one_process_are_found_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModuleCache::new(dir.path());
        let first = IncrementalStore::new(cache.clone());
        assert!(first.get(b"key").is_none());
        assert!(first.insert(b"key", b"compiled".to_vec()));
        assert_eq!(first.get(b"key").as_deref(), Some(&b"compiled"[..]));
        first.flush();
        let second = IncrementalStore::new(cache.clone());
        assert_eq!(second.get(b"key").as_deref(), Some(&b"compiled"[..]));
        // A damaged pack costs only its damaged records.
        std::fs::write(dir.path().join("incremental/bad.pack"), [9, 0, 0, 0, 1]).unwrap();
        let third = IncrementalStore::new(cache);
        assert_eq!(third.get(b"key").as_deref(), Some(&b"compiled"[..]));
    }

    #[test]
    fn a_module_compiled_twice_is_compiled_once() {
        // (module (func (export "f") (result i32) i32.const 42))
        const WASM: &[u8] = b"\0asm\x01\0\0\0\x01\x05\x01\x60\0\x01\x7f\x03\x02\x01\0\x07\x05\x01\x01f\0\0\x0a\x06\x01\x04\0\x41\x2a\x0b";
        let dir = tempfile::tempdir().unwrap();
        let packs = || std::fs::read_dir(dir.path().join("incremental")).map_or(0, |d| d.count());
        for expected_packs in [1, 1] {
            let store = std::sync::Arc::new(IncrementalStore::new(ModuleCache::new(dir.path())));
            let mut config = wasmtime::Config::new();
            config.enable_incremental_compilation(store.clone()).unwrap();
            wasmtime::Module::new(&wasmtime::Engine::new(&config).unwrap(), WASM).unwrap();
            store.flush();
            assert_eq!(packs(), expected_packs, "the second compile found every function");
        }
    }
}
