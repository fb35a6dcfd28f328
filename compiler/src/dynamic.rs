//! Dynamic modules: a program module of a few hundred bytes that links
//! against one shared, pre-initialized engine (`kiln engine`).
//!
//! The shared engine is the engine's snapshot taken after it created its
//! runtime, context and JavaScript API, and before any program: every
//! static build passes through that same state (`kiln.init` is
//! `kiln.init_engine` then `kiln.init_program`). A dynamic build runs
//! `kiln.init_program` on an instance of that snapshot, exactly as a static
//! build would, and keeps only what the program changed in the engine's
//! memory: the *patch*. The program module imports the engine's memory and
//! entry points and holds the patch as data segments, which the wasm
//! instantiation of the program module writes into the engine's memory.
//! After that, the engine's memory is byte for byte the static module's,
//! so everything a static module does (function mode with its top level
//! run at build time, JSON modules, positions in stack traces) works the
//! same, at the same cost per run.
//!
//! The patch fits one engine only, so the namespace the program imports from
//! names that engine by the hash of its bytes (see [`kiln_abi::dynamic`]).
//! One engine instance serves one program instance: the patch assumes the
//! engine's memory as instantiation left it.

use crate::error::Error;
use crate::sections::{GLOBAL_SECTION, section, snapshot_parts};
use kiln_abi::dynamic::{ENGINE_SECTION, NAMESPACE_HASH_DIGITS, NAMESPACE_PREFIX};
use kiln_abi::exports::{INVOKE, MEMORY, START};
use sha2::{Digest, Sha256};
use std::ops::Range;
use wasm_encoder::{
    CodeSection, ConstExpr, DataCountSection, DataSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection, Instruction,
    MemoryType, Module, StartSection, TypeSection, ValType,
};

/// The shared engine, and what building programs against it needs.
pub struct SharedEngine {
    /// The module program modules link against (what `kiln engine`
    /// writes), with its namespace in its [`ENGINE_SECTION`].
    pub wasm: Vec<u8>,
    /// The namespace program modules import the engine under.
    pub namespace: String,
    /// The engine's snapshot as wizer made it, still exporting
    /// `kiln.init_program`: dynamic builds run their program's init on it.
    pub(crate) snapshot: Vec<u8>,
    /// Its linear memory as instantiation leaves it.
    image: Vec<u8>,
    /// Its global section: a program's init must leave it unchanged.
    globals: Vec<u8>,
    /// The host-stack cell, which hosts write before a run: a patch must not
    /// cover it.
    host_stack_cell: Option<Range<usize>>,
    /// Where the shadow stack ends: below it memory is dead between calls.
    stack_top: usize,
}

/// Wasm's page size.
const PAGE: usize = 64 << 10;

/// Runs of unchanged bytes up to this long are written again rather than
/// starting another segment (whose header costs 5-9 bytes).
const MAX_PATCH_GAP: usize = 6;

impl SharedEngine {
    /// The shared engine made of `snapshot` (the engine after
    /// `kiln.init_engine`) and `finished`, the module made of it for users.
    pub(crate) fn new(snapshot: Vec<u8>, finished: Vec<u8>) -> Result<Self, Error> {
        let digest = Sha256::digest(&finished);
        let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let namespace = format!("{NAMESPACE_PREFIX}{}", &hash[..NAMESPACE_HASH_DIGITS]);
        let mut wasm = finished;
        append_custom_section(&mut wasm, ENGINE_SECTION, namespace.as_bytes());
        let image = memory_image(&snapshot)?;
        let globals = globals_of(&snapshot)?;
        let host_stack_cell = crate::runner::host_stack_cell(&wasm).map(|at| at as usize..at as usize + 4);
        let stack_top = stack_pointer(&snapshot)?;
        Ok(SharedEngine { wasm, namespace, snapshot, image, globals, host_stack_cell, stack_top })
    }

    /// The program module of `program`, the snapshot of this engine after
    /// `kiln.init_program`. `invoked` names function mode's wasm exports,
    /// in `--invoke` order (empty for a script or module program).
    pub(crate) fn program_module(&self, program: &[u8], invoked: &[String]) -> Result<Vec<u8>, Error> {
        if globals_of(program)? != self.globals {
            return Err(Error::Rewrite("building the program changed the shared engine's globals: it cannot be a dynamic module".into()));
        }
        let after = memory_image(program)?;
        // The engine is linked stack-first: the shadow stack is memory
        // below the stack pointer, dead once the init has returned (wizer
        // snapshots after it has). What the program's build left there is
        // garbage no run reads before writing.
        let runs = patch(&self.image, &after, self.stack_top, self.host_stack_cell.clone());
        let before_len = self.image.len();
        // Runs within the engine's memory as instantiated are active
        // segments; the rest (pages the program's build added) can only be
        // written once the start function has grown the memory.
        let (mut active, mut passive) = (Vec::new(), Vec::new());
        for (at, bytes) in runs {
            if at + bytes.len() <= before_len {
                active.push((at, bytes));
            } else if at >= before_len {
                passive.push((at, bytes));
            } else {
                let split = before_len - at;
                active.push((at, bytes[..split].to_vec()));
                passive.push((before_len, bytes[split..].to_vec()));
            }
        }
        let grow_pages = after.len().saturating_sub(before_len) / PAGE;
        encode_program(&self.namespace, invoked, &active, &passive, grow_pages)
    }
}

/// The bytes of `after` from address `from` on that differ from `before`
/// (memory beyond `before` counts as zeros), as (address, bytes) runs in
/// address order, never covering `keep_out`.
fn patch(before: &[u8], after: &[u8], from: usize, keep_out: Option<Range<usize>>) -> Vec<(usize, Vec<u8>)> {
    let old = |i: usize| before.get(i).copied().unwrap_or(0);
    let keep_out = keep_out.unwrap_or(0..0);
    let mut runs: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut i = from;
    while i < after.len() {
        // Skip equal bytes eight at a time: memory is mostly unchanged.
        if i % 8 == 0 && i + 8 <= after.len() && i + 8 <= before.len() && after[i..i + 8] == before[i..i + 8] {
            i += 8;
            continue;
        }
        if after[i] == old(i) {
            i += 1;
            continue;
        }
        let merge = runs.last().is_some_and(|(at, bytes)| {
            let end = at + bytes.len();
            i - end <= MAX_PATCH_GAP && !(end < keep_out.end && keep_out.start < i)
        });
        if merge {
            let (at, bytes) = runs.last_mut().expect("checked above");
            let end = *at + bytes.len();
            bytes.extend_from_slice(&after[end..=i]);
        } else {
            runs.push((i, vec![after[i]]));
        }
        i += 1;
    }
    runs
}

/// The program module: imports the engine's memory and entry, writes the
/// patch into that memory when instantiated, and exports `_start` (and in
/// function mode one export per invoked function) plus the memory, so that
/// loaders which look for a command's memory find the engine's.
fn encode_program(namespace: &str, invoked: &[String], active: &[(usize, Vec<u8>)], passive: &[(usize, Vec<u8>)], grow_pages: usize) -> Result<Vec<u8>, Error> {
    const NO_ARGS: u32 = 0;
    const INDEX_ARG: u32 = 1;
    let address = |at: usize| u32::try_from(at).map(|a| a as i32).map_err(|_| Error::Rewrite("a patch lies beyond 4 GiB".into()));

    let mut types = TypeSection::new();
    types.ty().function([], []);
    types.ty().function([ValType::I32], []);

    let mut imports = ImportSection::new();
    imports.import(namespace, MEMORY, MemoryType { minimum: 0, maximum: None, memory64: false, shared: false, page_size_log2: None });
    let function_mode = !invoked.is_empty();
    let imported = if function_mode { (INVOKE, INDEX_ARG) } else { (START, NO_ARGS) };
    imports.import(namespace, imported.0, EntityType::Function(imported.1));
    let entry_import = 0;

    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    let mut exports = ExportSection::new();
    let mut next_function = 1;
    if function_mode {
        // One wrapper per invoked function: `kiln.invoke(index)`.
        for (index, name) in invoked.iter().enumerate() {
            functions.function(NO_ARGS);
            let mut body = Function::new([]);
            body.instruction(&Instruction::I32Const(i32::try_from(index).map_err(|_| Error::Rewrite("too many invoked functions".into()))?));
            body.instruction(&Instruction::Call(entry_import));
            body.instruction(&Instruction::End);
            code.function(&body);
            if index == 0 {
                exports.export(START, ExportKind::Func, next_function);
            }
            exports.export(name, ExportKind::Func, next_function);
            next_function += 1;
        }
    } else {
        exports.export(START, ExportKind::Func, entry_import);
    }
    exports.export(MEMORY, ExportKind::Memory, 0);

    let mut start = None;
    if grow_pages > 0 || !passive.is_empty() {
        functions.function(NO_ARGS);
        let mut body = Function::new([]);
        if grow_pages > 0 {
            let pages = i32::try_from(grow_pages).map_err(|_| Error::Rewrite("the program's memory is too large".into()))?;
            // memory.grow gives -1 when the host refuses: then the module
            // cannot be instantiated, as a static one could not.
            body.instruction(&Instruction::I32Const(pages));
            body.instruction(&Instruction::MemoryGrow(0));
            body.instruction(&Instruction::I32Const(-1));
            body.instruction(&Instruction::I32Eq);
            body.instruction(&Instruction::If(wasm_encoder::BlockType::Empty));
            body.instruction(&Instruction::Unreachable);
            body.instruction(&Instruction::End);
        }
        for (index, (at, bytes)) in passive.iter().enumerate() {
            let index = u32::try_from(active.len() + index).map_err(|_| Error::Rewrite("too many data segments".into()))?;
            body.instruction(&Instruction::I32Const(address(*at)?));
            body.instruction(&Instruction::I32Const(0));
            body.instruction(&Instruction::I32Const(address(bytes.len())?));
            body.instruction(&Instruction::MemoryInit { mem: 0, data_index: index });
            body.instruction(&Instruction::DataDrop(index));
        }
        body.instruction(&Instruction::End);
        code.function(&body);
        start = Some(next_function);
    }

    let mut data = DataSection::new();
    for (at, bytes) in active {
        data.active(0, &ConstExpr::i32_const(address(*at)?), bytes.iter().copied());
    }
    for (_, bytes) in passive {
        data.passive(bytes.iter().copied());
    }

    let mut module = Module::new();
    module.section(&types).section(&imports);
    if !functions.is_empty() {
        module.section(&functions);
    }
    module.section(&exports);
    if let Some(function_index) = start {
        module.section(&StartSection { function_index });
    }
    if !passive.is_empty() {
        module.section(&DataCountSection { count: data.len() });
    }
    if !code.is_empty() {
        module.section(&code);
    }
    if !data.is_empty() {
        module.section(&data);
    }
    Ok(module.finish())
}

/// The linear memory a snapshot's module starts with: its minimum size,
/// zeros, and its active data segments.
fn memory_image(snapshot: &[u8]) -> Result<Vec<u8>, Error> {
    let pages = memory_pages(snapshot)?;
    let size = usize::try_from(pages).ok().and_then(|p| p.checked_mul(PAGE)).ok_or_else(|| Error::Rewrite("the snapshot's memory is too large".into()))?;
    let mut image = vec![0; size];
    for (at, bytes) in snapshot_parts(snapshot)?.data {
        let target = image.get_mut(at..at + bytes.len()).ok_or_else(|| Error::Rewrite("a snapshot's data segment lies outside its memory".into()))?;
        target.copy_from_slice(bytes);
    }
    Ok(image)
}

/// The minimum size, in pages, of a module's (only) memory.
fn memory_pages(wasm: &[u8]) -> Result<u64, Error> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::MemorySection(reader) = payload.map_err(|e| Error::Rewrite(format!("reading the snapshot: {e}")))? {
            for memory in reader {
                return Ok(memory.map_err(|e| Error::Rewrite(format!("reading the snapshot: {e}")))?.initial);
            }
        }
    }
    Err(Error::Rewrite("the snapshot defines no memory".into()))
}

/// The initial value of global 0, the shadow stack pointer in every module
/// wasm-ld links (`__stack_pointer`), which must be a mutable `i32`.
fn stack_pointer(wasm: &[u8]) -> Result<usize, Error> {
    let invalid = |e: wasmparser::BinaryReaderError| Error::Rewrite(format!("reading the snapshot: {e}"));
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::GlobalSection(reader) = payload.map_err(invalid)? {
            if let Some(global) = reader.into_iter().next() {
                let global = global.map_err(invalid)?;
                let value = match global.init_expr.get_operators_reader().read().map_err(invalid)? {
                    wasmparser::Operator::I32Const { value } if global.ty.mutable && global.ty.content_type == wasmparser::ValType::I32 => value,
                    _ => break,
                };
                return Ok(value as u32 as usize);
            }
        }
    }
    Err(Error::Rewrite("the engine's first global is not its stack pointer".into()))
}

fn globals_of(wasm: &[u8]) -> Result<Vec<u8>, Error> {
    Ok(section(wasm, GLOBAL_SECTION)?.map(|range| wasm[range].to_vec()).unwrap_or_default())
}

/// Appends a custom section (id 0) named `name` holding `data`.
fn append_custom_section(wasm: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut content = Vec::new();
    leb128(&mut content, name.len());
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(data);
    wasm.push(0);
    leb128(wasm, content.len());
    wasm.extend_from_slice(&content);
}

fn leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// What a module is to Kiln, from its imports and custom sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleRole {
    /// A module that links against the shared engine of this namespace.
    Dynamic {
        /// The namespace it imports from.
        namespace: String,
    },
    /// A shared engine (`kiln engine`) with this namespace.
    Engine {
        /// Its namespace.
        namespace: String,
    },
    /// Anything else: a static Kiln module or any other WASI module.
    Standalone,
}

/// Tells what `wasm` is; `None` if it is not a readable module.
pub fn module_role(wasm: &[u8]) -> Option<ModuleRole> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            wasmparser::Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.ok()?;
                    if import.module.starts_with(NAMESPACE_PREFIX) {
                        return Some(ModuleRole::Dynamic { namespace: import.module.to_string() });
                    }
                }
            }
            wasmparser::Payload::CustomSection(custom) if custom.name() == ENGINE_SECTION => {
                return Some(ModuleRole::Engine { namespace: String::from_utf8_lossy(custom.data()).into_owned() });
            }
            _ => {}
        }
    }
    Some(ModuleRole::Standalone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_holds_the_changed_bytes_and_short_gaps() {
        let before = vec![0u8; 64];
        let mut after = before.clone();
        after[3] = 1;
        after[5] = 2; // gap of 1: merged
        after[40] = 3; // far: its own run
        after.extend_from_slice(&[0, 0, 9]); // beyond `before`: against zeros
        let runs = patch(&before, &after, 0, None);
        assert_eq!(runs, vec![(3, vec![1, 0, 2]), (40, vec![3]), (66, vec![9])]);
    }

    #[test]
    fn a_patch_never_covers_the_kept_out_range() {
        let before = vec![0u8; 32];
        let mut after = before.clone();
        after[8] = 1;
        after[14] = 2;
        assert_eq!(patch(&before, &after, 0, None), vec![(8, vec![1, 0, 0, 0, 0, 0, 2])]);
        assert_eq!(patch(&before, &after, 0, Some(10..14)), vec![(8, vec![1]), (14, vec![2])]);
        assert_eq!(patch(&before, &after, 9, None), vec![(14, vec![2])]);
    }

    #[test]
    fn a_program_module_validates_and_names_its_engine() {
        let wasm = encode_program("kiln-engine-v1-0123456789ab", &[], &[(16, vec![1, 2])], &[(70000, vec![3])], 1).expect("encodes");
        wasmparser::Validator::new().validate_all(&wasm).expect("valid");
        assert_eq!(module_role(&wasm), Some(ModuleRole::Dynamic { namespace: "kiln-engine-v1-0123456789ab".into() }));
        let invoked = encode_program("kiln-engine-v1-0123456789ab", &["a".into(), "b-c".into()], &[], &[], 0).expect("encodes");
        wasmparser::Validator::new().validate_all(&invoked).expect("valid");
    }
}
