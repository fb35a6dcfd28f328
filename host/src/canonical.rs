//! Compiled code keyed by a module's *canonical* form, so that modules that
//! differ only in their initial memory share one compiled artifact.
//!
//! Every module Kiln builds from one engine is the same code: a build
//! splices its snapshot's memory size, globals and data segments into the
//! engine's finished module (see the compiler's `splice.rs`), and the
//! globals come out the same for every program (the shadow stack pointer is
//! back at its top when the snapshot is taken; the host-stack cell is a
//! fixed address of the engine). What varies is the data and the memory's
//! minimum. A cache keyed by the whole module therefore compiles every
//! freshly built module again (0.8-2.6 s of Cranelift).
//!
//! [`Split`] takes a module apart into
//!
//! - its canonical form: the same bytes with the data section left out and
//!   the memory's minimum set to 0 (written in as many LEB128 bytes as the
//!   real minimum, so that the code section stays at the same offset and a
//!   trap's backtrace names the same code offsets), and
//! - what the canonical form lacks: the real minimum and the data segments.
//!
//! The canonical form is compiled (and cached) once; [`Split::restore`],
//! called after instantiation and before any of the module's code runs,
//! grows the memory to the real minimum and writes the segments, in order,
//! into it. That is the state in which instantiating the real module leaves
//! its memory; tables, globals and everything else are the canonical form's
//! own, which are the real module's. Growing the memory goes through the
//! store's resource limiter as the real module's creation does (the same
//! desired size), and neither costs fuel.
//!
//! A module is split only where this equivalence is plain (one defined
//! memory of 64 KiB pages, exported; active segments of that memory at
//! constant addresses, inside its minimum; no start function, which would
//! run before the restore; no data count section, so no code refers to
//! segments); [`Split::new`] returns `None` for any other, which is then
//! compiled as it is.

use std::ops::Range;
use wasmparser::{Encoding, ExternalKind, Parser, Payload, TypeRef};

/// A wasm page (the default page size; modules with custom page sizes are
/// not split).
const PAGE: u64 = 64 << 10;

/// The data section's id.
const DATA_SECTION: u8 = 11;

/// A module as its canonical form plus the memory that makes it the real
/// module again.
#[derive(Debug)]
pub struct Split<'a> {
    canonical: Vec<u8>,
    /// The real module's memory minimum, in pages.
    pages: u64,
    /// The name under which the module exports its memory.
    memory_export: String,
    /// The active data segments, in the module's order: (address, bytes).
    data: Vec<(usize, &'a [u8])>,
}

impl<'a> Split<'a> {
    /// Splits `wasm`, or `None` if it is not a module this can be done for
    /// exactly (see the module documentation), including any module that
    /// does not parse.
    pub fn new(wasm: &'a [u8]) -> Option<Self> {
        let mut memory: Option<Range<usize>> = None;
        let mut memory_export = None;
        let mut data_section: Option<Range<usize>> = None;
        let mut data = Vec::new();
        // Where the previous section ended: a section's header (id and
        // size) starts there.
        let mut previous_end = 0;
        for payload in Parser::new(0).parse_all(wasm) {
            let payload = payload.ok()?;
            match &payload {
                Payload::Version { encoding: Encoding::Module, range, .. } => previous_end = range.end,
                Payload::Version { .. } => return None,
                Payload::ImportSection(reader) => {
                    for import in reader.clone().into_imports() {
                        if matches!(import.ok()?.ty, TypeRef::Memory(_)) {
                            return None;
                        }
                    }
                }
                Payload::MemorySection(reader) => memory = Some(reader.range()),
                Payload::ExportSection(reader) => {
                    for export in reader.clone() {
                        let export = export.ok()?;
                        if export.kind == ExternalKind::Memory && export.index == 0 && memory_export.is_none() {
                            memory_export = Some(export.name.to_string());
                        }
                    }
                }
                Payload::StartSection { .. } | Payload::DataCountSection { .. } => return None,
                Payload::DataSection(reader) => {
                    data_section = Some(previous_end..reader.range().end);
                    for segment in reader.clone() {
                        data.push(active_segment(segment.ok()?)?);
                    }
                }
                Payload::End(_) => break,
                _ => {}
            }
            // (The code section is one payload for its start, with the
            // whole section's range, then one per function.)
            if let Some((_, range)) = payload.as_section() {
                previous_end = range.end;
            }
        }
        let (memory, memory_export) = (memory?, memory_export?);
        let (pages, min) = memory_minimum(&wasm[memory.clone()])?;
        let size = usize::try_from(pages.checked_mul(PAGE)?).ok()?;
        if data.iter().any(|&(at, bytes)| at.checked_add(bytes.len()).is_none_or(|end| end > size)) {
            // The real module traps while instantiating: let it.
            return None;
        }
        let mut canonical = Vec::with_capacity(wasm.len());
        let cut = data_section.unwrap_or(wasm.len()..wasm.len());
        if !cut.is_empty() && wasm[cut.start] != DATA_SECTION {
            return None;
        }
        let min = memory.start + min.start..memory.start + min.end;
        canonical.extend_from_slice(&wasm[..min.start]);
        canonical.extend(padded_zero(min.len()));
        canonical.extend_from_slice(&wasm[min.end..cut.start]);
        canonical.extend_from_slice(&wasm[cut.end..]);
        Some(Split { canonical, pages, memory_export, data })
    }

    /// The canonical module: what is compiled and cached.
    pub fn canonical(&self) -> &[u8] {
        &self.canonical
    }

    /// The bytes of memory the real module starts with (its minimum).
    pub fn memory_bytes(&self) -> u64 {
        self.pages * PAGE
    }

    /// Gives an instance of the canonical module the memory an instance of
    /// the real module starts with. Call it right after instantiation,
    /// before calling any export.
    ///
    /// # Errors
    ///
    /// The instance exports no such memory (it is not of this split's
    /// canonical module), or the store's limiter refused the memory.
    pub fn restore(&self, mut store: impl wasmtime::AsContextMut, instance: &wasmtime::Instance) -> wasmtime::Result<()> {
        let memory = instance
            .get_memory(&mut store, &self.memory_export)
            .ok_or_else(|| wasmtime::format_err!("the instance exports no memory `{}`", self.memory_export))?;
        let grown = memory.size(&store);
        if grown < self.pages {
            memory.grow(&mut store, self.pages - grown)?;
        }
        let memory = memory.data_mut(&mut store);
        for &(at, bytes) in &self.data {
            let target = memory.get_mut(at..at + bytes.len()).ok_or_else(|| wasmtime::format_err!("a data segment lies outside the memory"))?;
            target.copy_from_slice(bytes);
        }
        Ok(())
    }
}

impl crate::ModuleCache {
    /// Like [`load_or_compile`](crate::ModuleCache::load_or_compile), but
    /// for a module that splits ([`Split::new`]) it compiles, or finds
    /// compiled, its canonical form (entries `<purpose>-canonical-<key>`),
    /// shared by every module that differs from it only in its memory, and
    /// returns the split: instances of the module returned then need
    /// [`Split::restore`] before anything else. `max_memory`, the most
    /// memory the store's limiter allows, keeps a module whose minimum it
    /// refuses whole, so that its instantiation fails as it always did.
    ///
    /// # Errors
    ///
    /// Only compilation errors of `wasm` itself (a canonical form that does
    /// not compile is retried as the module itself, for the module's own
    /// error).
    pub fn load_or_compile_split<'a>(
        &self,
        engine: &wasmtime::Engine,
        wasm: &'a [u8],
        purpose: &str,
        max_memory: Option<u64>,
    ) -> wasmtime::Result<(wasmtime::Module, Option<Split<'a>>)> {
        let split = Split::new(wasm).filter(|split| max_memory.is_none_or(|max| split.memory_bytes() <= max));
        if let Some(split) = split
            && let Ok(module) = self.load_or_compile(engine, split.canonical(), &format!("{purpose}-canonical"))
        {
            return Ok((module, Some(split)));
        }
        Ok((self.load_or_compile(engine, wasm, purpose)?, None))
    }
}

/// The minimum of the one memory in a memory section's contents, and the
/// range of its LEB128 encoding there; `None` unless the section defines
/// exactly one 32-bit, unshared memory of 64 KiB pages whose limits are
/// valid (a canonical minimum of 0 must not make a module valid that was
/// not).
fn memory_minimum(section: &[u8]) -> Option<(u64, Range<usize>)> {
    // Count 1, then the limits' flags: 0 (minimum only) or 1 (and maximum).
    let (&[1, flags], rest) = section.split_first_chunk::<2>()? else { return None };
    if flags > 1 {
        return None;
    }
    let (min, min_len) = read_leb_u32(rest)?;
    let after = &rest[min_len..];
    let max_limit = 1 << 16;
    if u64::from(min) > max_limit {
        return None;
    }
    let end = if flags == 1 {
        let (max, max_len) = read_leb_u32(after)?;
        if max < min || u64::from(max) > max_limit {
            return None;
        }
        max_len
    } else {
        0
    };
    if after.len() != end {
        return None;
    }
    Some((u64::from(min), 2..2 + min_len))
}

/// An unsigned LEB128 number of at most 5 bytes, and its length.
fn read_leb_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    for (i, &byte) in bytes.iter().enumerate().take(5) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

/// 0 in LEB128, padded to `len` bytes.
fn padded_zero(len: usize) -> impl Iterator<Item = u8> {
    (0..len).map(move |i| if i + 1 < len { 0x80 } else { 0 })
}

/// An active segment of memory 0 at a constant address.
fn active_segment(segment: wasmparser::Data<'_>) -> Option<(usize, &[u8])> {
    let wasmparser::DataKind::Active { memory_index: 0, offset_expr } = segment.kind else { return None };
    let mut ops = offset_expr.get_operators_reader();
    match (ops.read().ok()?, ops.read().ok()?) {
        (wasmparser::Operator::I32Const { value }, wasmparser::Operator::End) if ops.eof() => Some((value as u32 as usize, segment.data)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Split;
    use wasm_encoder::{
        CodeSection, ConstExpr, DataCountSection, DataSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, MemorySection,
        MemoryType, Module, StartSection, TypeSection,
    };

    /// Options for [`module`].
    #[derive(Clone)]
    struct Shape {
        pages: u64,
        maximum: Option<u64>,
        data: Vec<(i32, Vec<u8>)>,
        export_memory: bool,
        start: bool,
        data_count: bool,
    }

    fn shape(pages: u64, data: &[(i32, &[u8])]) -> Shape {
        Shape { pages, maximum: None, data: data.iter().map(|(at, b)| (*at, b.to_vec())).collect(), export_memory: true, start: false, data_count: false }
    }

    /// A module with one memory, an exported function `f` that returns
    /// the i32 at address 16, and the given data.
    fn module(shape: &Shape) -> Vec<u8> {
        let mut types = TypeSection::new();
        types.ty().function([], [wasm_encoder::ValType::I32]);
        types.ty().function([], []);
        let mut functions = FunctionSection::new();
        functions.function(0);
        functions.function(1);
        let mut memories = MemorySection::new();
        memories.memory(MemoryType { minimum: shape.pages, maximum: shape.maximum, memory64: false, shared: false, page_size_log2: None });
        let mut exports = ExportSection::new();
        exports.export("f", ExportKind::Func, 0);
        if shape.export_memory {
            exports.export("memory", ExportKind::Memory, 0);
        }
        let mut code = CodeSection::new();
        let mut f = Function::new([]);
        f.instruction(&Instruction::I32Const(16)).instruction(&Instruction::I32Load(wasm_encoder::MemArg { offset: 0, align: 2, memory_index: 0 }));
        f.instruction(&Instruction::End);
        code.function(&f);
        let mut nop = Function::new([]);
        nop.instruction(&Instruction::End);
        code.function(&nop);
        let mut data = DataSection::new();
        for (at, bytes) in &shape.data {
            data.active(0, &ConstExpr::i32_const(*at), bytes.iter().copied());
        }
        let mut module = Module::new();
        module.section(&types).section(&functions).section(&memories).section(&exports);
        if shape.start {
            module.section(&StartSection { function_index: 1 });
        }
        if shape.data_count {
            module.section(&DataCountSection { count: data.len() });
        }
        module.section(&code).section(&data);
        module.finish()
    }

    #[test]
    fn modules_differing_only_in_memory_share_one_canonical_form() {
        let a = module(&shape(2, &[(16, b"\x2a\0\0\0"), (100, b"hello")]));
        let b = module(&shape(3, &[(16, b"\x07\0\0\0")]));
        let (a, b) = (Split::new(&a).unwrap(), Split::new(&b).unwrap());
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!((a.memory_bytes(), b.memory_bytes()), (2 << 16, 3 << 16));
        // No data, and a memory of 0 pages.
        let canonical = Split::new(a.canonical()).unwrap();
        assert_eq!((canonical.memory_bytes(), canonical.data.len()), (0, 0));
    }

    #[test]
    fn the_code_stays_where_it_was() {
        // 200 pages take two LEB128 bytes: so does the canonical 0.
        let wasm = module(&shape(200, &[(16, b"\x2a\0\0\0")]));
        let split = Split::new(&wasm).unwrap();
        let code = |wasm: &[u8]| {
            wasmparser::Parser::new(0).parse_all(wasm).find_map(|p| match p.unwrap() {
                wasmparser::Payload::CodeSectionStart { range, .. } => Some(range),
                _ => None,
            })
        };
        assert_eq!(code(split.canonical()), code(&wasm));
        assert_ne!(split.canonical(), Split::new(&module(&shape(2, &[]))).unwrap().canonical(), "a different encoded width is another form");
    }

    #[test]
    fn a_restored_instance_sees_the_real_modules_memory() {
        let engine = wasmtime::Engine::default();
        for shape in [shape(1, &[(16, b"\x01\x02\x03\x04")]), shape(2, &[(14, b"\xff\xff\xff\xff"), (16, b"\x2a\0\0\0"), (70000, b"x")])] {
            let wasm = module(&shape);
            let split = Split::new(&wasm).unwrap();
            let run = |bytes: &[u8], split: Option<&Split>| {
                let mut store = wasmtime::Store::new(&engine, ());
                let instance = wasmtime::Instance::new(&mut store, &wasmtime::Module::new(&engine, bytes).unwrap(), &[]).unwrap();
                if let Some(split) = split {
                    split.restore(&mut store, &instance).unwrap();
                }
                let memory = instance.get_memory(&mut store, "memory").unwrap();
                let value = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap().call(&mut store, ()).unwrap();
                (value, memory.data(&store).to_vec())
            };
            assert_eq!(run(split.canonical(), Some(&split)), run(&wasm, None));
        }
    }

    #[test]
    fn modules_it_cannot_restore_exactly_are_not_split() {
        let base = shape(1, &[(16, b"\x2a\0\0\0")]);
        assert!(Split::new(&module(&base)).is_some());
        let refused = [
            Shape { export_memory: false, ..base.clone() },
            Shape { start: true, ..base.clone() },
            Shape { data_count: true, ..base.clone() },
            // The segment ends past the memory: the real module traps.
            Shape { data: vec![(65534, vec![1, 2, 3])], ..base.clone() },
            // Invalid limits: a minimum of 0 would make it valid.
            Shape { maximum: Some(0), ..base.clone() },
        ];
        for shape in refused {
            assert!(Split::new(&module(&shape)).is_none());
        }
        assert!(Split::new(b"not wasm").is_none());
    }
}
