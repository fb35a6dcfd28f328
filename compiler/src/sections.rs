//! The section codec under [`crate::rewrite`] and [`crate::splice`]: a
//! snapshot split into what differs from one program to the next (memory
//! size, globals, data segments) and the rest, and a module re-encoded
//! section by section with some sections replaced.

use crate::error::Error;
use sha2::{Digest, Sha256};
use std::ops::Range;
use wasm_encoder::{ConstExpr, DataCountSection, DataSection, RawSection};
use wasmparser::{Parser, Payload};

/// Gaps of zeros up to this many bytes are cheaper to store than the header
/// of another data segment (flags, offset expression and length: 6-9 bytes).
const MAX_MERGED_GAP: usize = 8;

/// Section ids (see the core specification, "Modules > Sections").
pub(crate) const MEMORY_SECTION: u8 = 5;
pub(crate) const GLOBAL_SECTION: u8 = 6;
pub(crate) const DATA_SECTION: u8 = 11;
pub(crate) const DATA_COUNT_SECTION: u8 = 12;

/// SHA-256 of everything in a snapshot but its memory, globals and data.
pub(crate) type Fingerprint = [u8; 32];

/// What a snapshot brings to its module.
pub(crate) struct SnapshotParts<'a> {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) memory: &'a [u8],
    pub(crate) globals: &'a [u8],
    /// Active segments of memory 0: (address, bytes).
    pub(crate) data: Vec<(usize, &'a [u8])>,
}

/// The content range of the first section `id` of `wasm`.
pub(crate) fn section(wasm: &[u8], id: u8) -> Result<Option<Range<usize>>, Error> {
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
pub(crate) fn snapshot_parts(snapshot: &[u8]) -> Result<SnapshotParts<'_>, Error> {
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
pub(crate) fn merge_segments(mut data: Vec<(usize, &[u8])>) -> Vec<(usize, Vec<u8>)> {
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
pub(crate) fn replace_sections(module: &[u8], memory: Option<&[u8]>, globals: Option<&[u8]>, data: Vec<(usize, &[u8])>) -> Result<Vec<u8>, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{GlobalSection, GlobalType, MemorySection, MemoryType, Module, ValType};

    /// A module with a memory of `pages`, one i32 global and `data`.
    fn module(pages: u64, global: i32, data: &[(i32, &[u8])]) -> Vec<u8> {
        let mut memories = MemorySection::new();
        memories.memory(MemoryType { minimum: pages, maximum: None, memory64: false, shared: false, page_size_log2: None });
        let mut globals = GlobalSection::new();
        globals.global(GlobalType { val_type: ValType::I32, mutable: true, shared: false }, &ConstExpr::i32_const(global));
        let mut segments = DataSection::new();
        for (at, bytes) in data {
            segments.active(0, &ConstExpr::i32_const(*at), bytes.iter().copied());
        }
        let mut module = Module::new();
        module.section(&memories).section(&globals).section(&segments);
        module.finish()
    }

    #[test]
    fn short_gaps_of_zeros_are_merged_and_long_ones_kept() {
        let merged = merge_segments(vec![(20, &b"c"[..]), (0, b"ab"), (2 + MAX_MERGED_GAP, b"x")]);
        assert_eq!(merged, vec![(0, b"ab\0\0\0\0\0\0\0\0x".to_vec()), (20, b"c".to_vec())]);
        assert_eq!(merge_segments(vec![(0, &b"a"[..]), (2 + MAX_MERGED_GAP, b"b")]).len(), 2);
    }

    #[test]
    fn a_snapshot_splits_into_its_parts_and_the_rest_is_fingerprinted() {
        let a = module(2, 7, &[(16, b"hello"), (64, b"world")]);
        let parts = snapshot_parts(&a).unwrap();
        assert_eq!(parts.data, vec![(16, &b"hello"[..]), (64, &b"world"[..])]);
        // Memory, globals and data differ; nothing else does: same fingerprint.
        let b = module(3, 9, &[(8, b"x")]);
        assert_eq!(snapshot_parts(&b).unwrap().fingerprint, parts.fingerprint);
        assert_ne!(snapshot_parts(&b).unwrap().memory, parts.memory);
    }

    #[test]
    fn replacing_sections_keeps_the_others_and_merges_the_data() {
        let skeleton = module(1, 0, &[(0, b"old")]);
        let snapshot = module(4, 42, &[(100, b"ab"), (103, b"cd")]);
        let parts = snapshot_parts(&snapshot).unwrap();
        let spliced = replace_sections(&skeleton, Some(parts.memory), Some(parts.globals), parts.data.clone()).unwrap();
        wasmparser::validate(&spliced).unwrap();
        let again = snapshot_parts(&spliced).unwrap();
        assert_eq!((again.memory, again.globals), (parts.memory, parts.globals));
        assert_eq!(again.data, vec![(100, &b"ab\0cd"[..])]);
        // Without a data section there is nothing to replace.
        let mut bare = Module::new();
        bare.section(&MemorySection::new());
        assert!(with_data(&bare.finish(), vec![(0, &b"x"[..])]).is_err());
    }
}
