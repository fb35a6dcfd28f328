//! Finishing a snapshot without re-walking the engine's code.
//!
//! [`finish_module`](crate::finish_module) parses the whole snapshot with
//! walrus, removes dead code and re-encodes every function: ~130 ms, most of
//! a build. Yet all of that work depends only on the engine and the
//! [`RewriteOptions`]: from one program to the next, a snapshot differs only
//! in its memory (the data segments and the memory's size) and the values
//! of its globals. So the finished module of one build, minus its data, is
//! a *skeleton* for every later build with the same engine and options: a
//! build splices its own snapshot's memory, globals and data segments into
//! it, section by section, in a few milliseconds.
//!
//! Soundness rests on two checks. A skeleton is used only for a snapshot
//! whose other sections hash the same as those of the snapshot it was made
//! from (the [`Fingerprint`]), and only if the rewrite left the memory and
//! global sections byte for byte as the snapshot had them (else the splice
//! could not copy them across). The data segments are merged and encoded
//! here in both cases, so a spliced module equals the walrus rewrite's.
//!
//! Skeletons are kept in memory and, with a cache directory, on disk: the
//! first build on a machine pays for the rewrite, later ones do not.

use crate::error::Error;
use crate::rewrite::{RewriteOptions, finish_module};
use crate::sections::{DATA_SECTION, Fingerprint, GLOBAL_SECTION, MEMORY_SECTION, SnapshotParts, replace_sections, section, snapshot_parts};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Finishes snapshots, reusing skeletons across builds.
#[derive(Default)]
pub(crate) struct Finisher {
    /// Where skeletons are kept across processes, if anywhere.
    cache: Option<kiln_host::ModuleCache>,
    /// Skeletons of this process, by [`skeleton_key`]. `None` records that
    /// this engine and these options cannot be spliced.
    skeletons: Mutex<HashMap<String, Option<Arc<Vec<u8>>>>>,
}

impl Finisher {
    /// Keeps skeletons in `dir` as well as in memory.
    pub(crate) fn set_cache(&mut self, cache: kiln_host::ModuleCache) {
        self.cache = Some(cache);
    }

    /// The finished module for `snapshot`: byte for byte what
    /// [`finish_module`] makes of it.
    pub(crate) fn finish(&self, snapshot: &[u8], options: &RewriteOptions) -> Result<Vec<u8>, Error> {
        let parts = snapshot_parts(snapshot)?;
        let key = skeleton_key(&parts.fingerprint, options);
        let known = self.skeletons.lock().map_err(|_| poisoned())?.get(&key).cloned();
        if let Some(skeleton) = known {
            return match skeleton {
                Some(skeleton) => splice(&skeleton, &parts),
                None => finish_module(snapshot, options),
            };
        }
        let (finished, skeleton) = match self.load(&key) {
            Some(stored) => (splice(&stored, &parts)?, Some(Arc::new(stored))),
            None => {
                // This build's own rewrite is both its module and, if
                // usable, the skeleton of later builds.
                let finished = finish_module(snapshot, options)?;
                let usable = usable_as_skeleton(&finished, &parts)?;
                if usable {
                    self.store(&key, &finished);
                }
                let skeleton = usable.then(|| Arc::new(finished.clone()));
                (finished, skeleton)
            }
        };
        self.skeletons.lock().map_err(|_| poisoned())?.insert(key, skeleton);
        Ok(finished)
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.cache.as_ref().map(|cache| cache.dir().join(format!("skeleton-{key}.wasm")))
    }

    /// A skeleton from disk: stored with the SHA-256 of its bytes in front,
    /// so a damaged file is recomputed rather than trusted.
    fn load(&self, key: &str) -> Option<Vec<u8>> {
        let stored = std::fs::read(self.path(key)?).ok()?;
        let (hash, skeleton) = stored.split_at_checked(32)?;
        (Sha256::digest(skeleton).as_slice() == hash).then(|| skeleton.to_vec())
    }

    /// Writes a skeleton atomically; a cache that cannot be written only
    /// costs time.
    fn store(&self, key: &str, skeleton: &[u8]) {
        let (Some(path), Some(cache)) = (self.path(key), self.cache.as_ref()) else { return };
        let mut contents = Sha256::digest(skeleton).to_vec();
        contents.extend_from_slice(skeleton);
        cache.store(&path, &contents);
    }
}

fn poisoned() -> Error {
    Error::Rewrite("a previous build panicked while finishing a module".into())
}

/// What the rewrite and the splice make of a snapshot, as a number: bump
/// it with any change to `rewrite.rs` or `splice.rs` that changes their
/// output, so that no skeleton made before is reused.
pub(crate) const SKELETON_FORMAT: u32 = 2;

/// Names a skeleton: [`SKELETON_FORMAT`], the versions of the crates the
/// rewrite is made of (walrus, wasm-encoder, wasmparser, from Cargo.lock by
/// build.rs), the options and the snapshot's fingerprint.
fn skeleton_key(fingerprint: &Fingerprint, options: &RewriteOptions) -> String {
    let mut hasher = Sha256::new();
    hasher.update(SKELETON_FORMAT.to_le_bytes());
    hasher.update(env!("KILN_REWRITE_CRATES").as_bytes());
    hasher.update(format!("{options:?}").as_bytes());
    hasher.update(fingerprint);
    hasher.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `finished`, the walrus rewrite of the snapshot of `parts`, can
/// serve as a skeleton: not if the rewrite changed the memory or global
/// section, which a splice copies from each snapshot as it is, or left no
/// data section to replace.
fn usable_as_skeleton(finished: &[u8], parts: &SnapshotParts<'_>) -> Result<bool, Error> {
    let same = |id: u8, expected: &[u8]| -> Result<bool, Error> { Ok(section(finished, id)?.map(|r| &finished[r]) == Some(expected)) };
    Ok(same(MEMORY_SECTION, parts.memory)? && same(GLOBAL_SECTION, parts.globals)? && section(finished, DATA_SECTION)?.is_some())
}

/// The skeleton with `parts` spliced in: its memory, global and data
/// sections replaced, everything else copied.
fn splice(skeleton: &[u8], parts: &SnapshotParts<'_>) -> Result<Vec<u8>, Error> {
    replace_sections(skeleton, Some(parts.memory), Some(parts.globals), parts.data.clone())
}
