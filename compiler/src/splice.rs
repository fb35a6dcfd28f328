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
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasm_encoder::{ConstExpr, DataCountSection, DataSection, RawSection};
use wasmparser::{Parser, Payload};

/// Gaps of zeros up to this many bytes are cheaper to store than the header
/// of another data segment (flags, offset expression and length: 6-9 bytes).
const MAX_MERGED_GAP: usize = 8;

/// Section ids (see the core specification, "Modules > Sections").
const MEMORY_SECTION: u8 = 5;
const GLOBAL_SECTION: u8 = 6;
const DATA_SECTION: u8 = 11;
const DATA_COUNT_SECTION: u8 = 12;

/// SHA-256 of everything in a snapshot but its memory, globals and data.
type Fingerprint = [u8; 32];

/// What a snapshot brings to its module.
struct SnapshotParts<'a> {
    fingerprint: Fingerprint,
    memory: &'a [u8],
    globals: &'a [u8],
    /// Active segments of memory 0: (address, bytes).
    data: Vec<(usize, &'a [u8])>,
}

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
const SKELETON_FORMAT: u32 = 1;

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

/// The content range of the first section `id` of `wasm`.
fn section(wasm: &[u8], id: u8) -> Result<Option<Range<usize>>, Error> {
    for payload in Parser::new(0).parse_all(wasm) {
        if let Some((found, range)) = payload.map_err(invalid)?.as_section()
            && found == id
        {
            return Ok(Some(range));
        }
    }
    Ok(None)
}

fn invalid(e: wasmparser::BinaryReaderError) -> Error {
    Error::Rewrite(format!("reading the snapshot: {e}"))
}

/// Splits a snapshot into its fingerprint, memory, globals and data.
fn snapshot_parts(snapshot: &[u8]) -> Result<SnapshotParts<'_>, Error> {
    let mut hasher = Sha256::new();
    let (mut memory, mut globals, mut data) = (None, None, Vec::new());
    for payload in Parser::new(0).parse_all(snapshot) {
        let payload = payload.map_err(invalid)?;
        if let Payload::DataSection(reader) = &payload {
            for segment in reader.clone() {
                data.extend(active_segment(segment.map_err(invalid)?)?);
            }
        }
        let Some((id, range)) = payload.as_section() else { continue };
        match id {
            MEMORY_SECTION => memory = Some(&snapshot[range]),
            GLOBAL_SECTION => globals = Some(&snapshot[range]),
            DATA_SECTION | DATA_COUNT_SECTION => {}
            _ => {
                hasher.update([id]);
                hasher.update((range.len() as u64).to_le_bytes());
                hasher.update(&snapshot[range]);
            }
        }
    }
    let missing = |what: &str| Error::Rewrite(format!("the snapshot has no {what} section"));
    Ok(SnapshotParts {
        fingerprint: hasher.finalize().into(),
        memory: memory.ok_or_else(|| missing("memory"))?,
        globals: globals.ok_or_else(|| missing("global"))?,
        data,
    })
}

/// An active segment of memory 0 at a constant address, as the snapshot's
/// segments are; `None` for the empty passive segments wizer leaves in place
/// of the engine's own (already applied) segments, to keep their indices.
fn active_segment(segment: wasmparser::Data<'_>) -> Result<Option<(usize, &[u8])>, Error> {
    let unexpected = || Error::Rewrite("the snapshot has a data segment that is neither empty nor at a constant address of memory 0".into());
    let offset_expr = match segment.kind {
        wasmparser::DataKind::Passive if segment.data.is_empty() => return Ok(None),
        wasmparser::DataKind::Active { memory_index: 0, offset_expr } => offset_expr,
        _ => return Err(unexpected()),
    };
    let mut ops = offset_expr.get_operators_reader();
    let first = ops.read();
    let second = ops.read();
    match (first, second) {
        (Ok(wasmparser::Operator::I32Const { value }), Ok(wasmparser::Operator::End)) => Ok(Some((value as u32 as usize, segment.data))),
        _ => Err(unexpected()),
    }
}

/// Merges segments separated by short runs of zeros, in address order.
///
/// A snapshot has one segment per run of non-zero memory, thousands of
/// them for QuickJS's heap; their headers alone cost tens of kilobytes.
fn merge_segments(mut data: Vec<(usize, &[u8])>) -> Vec<(usize, Vec<u8>)> {
    data.sort_by_key(|&(at, _)| at);
    let mut merged: Vec<(usize, Vec<u8>)> = Vec::new();
    for (at, bytes) in data {
        match merged.last_mut() {
            Some((start, run)) if at >= *start + run.len() && at - (*start + run.len()) <= MAX_MERGED_GAP => {
                run.resize(at - *start, 0);
                run.extend_from_slice(bytes);
            }
            _ => merged.push((at, bytes.to_vec())),
        }
    }
    merged
}

/// The data section of a finished module.
fn data_section(data: Vec<(usize, &[u8])>) -> Result<(DataSection, u32), Error> {
    let mut section = DataSection::new();
    for (at, bytes) in merge_segments(data) {
        let at = i32::try_from(at).map(|a| a as u32 as i32).or_else(|_| u32::try_from(at).map(|a| a as i32));
        let at = at.map_err(|_| Error::Rewrite("a data segment lies beyond 4 GiB".into()))?;
        section.active(0, &ConstExpr::i32_const(at), bytes);
    }
    let count = section.len();
    Ok((section, count))
}

/// The skeleton with `parts` spliced in: its memory, global and data
/// sections replaced, everything else copied.
fn splice(skeleton: &[u8], parts: &SnapshotParts<'_>) -> Result<Vec<u8>, Error> {
    replace_sections(skeleton, Some(parts.memory), Some(parts.globals), parts.data.clone())
}

/// `module` with its data replaced by `data`, merged (see
/// [`merge_segments`]); the rewrite's last step.
pub(crate) fn with_data(module: &[u8], data: Vec<(usize, &[u8])>) -> Result<Vec<u8>, Error> {
    replace_sections(module, None, None, data)
}

/// The active data segments of `snapshot`.
pub(crate) fn snapshot_data(snapshot: &[u8]) -> Result<Vec<(usize, &[u8])>, Error> {
    snapshot_parts(snapshot).map(|parts| parts.data)
}

/// `module`, section by section, with the memory and global sections
/// replaced where given, and the data section (and its count) by `data`.
fn replace_sections(module: &[u8], memory: Option<&[u8]>, globals: Option<&[u8]>, data: Vec<(usize, &[u8])>) -> Result<Vec<u8>, Error> {
    let (data, count) = data_section(data)?;
    let mut out = wasm_encoder::Module::new();
    let mut data_placed = false;
    for payload in Parser::new(0).parse_all(module) {
        let Some((id, range)) = payload.map_err(invalid)?.as_section() else { continue };
        match (id, memory, globals) {
            (MEMORY_SECTION, Some(memory), _) => out.section(&RawSection { id, data: memory }),
            (GLOBAL_SECTION, _, Some(globals)) => out.section(&RawSection { id, data: globals }),
            (DATA_COUNT_SECTION, ..) => out.section(&DataCountSection { count }),
            (DATA_SECTION, ..) => {
                data_placed = true;
                out.section(&data)
            }
            _ => out.section(&RawSection { id, data: &module[range] }),
        };
    }
    if !data_placed && count > 0 {
        return Err(Error::Rewrite("the module has no data section to replace".into()));
    }
    Ok(out.finish())
}
