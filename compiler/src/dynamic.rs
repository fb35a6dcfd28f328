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
//! A lone classic script takes a smaller form instead (see
//! [`SharedEngine::bytecode_module`]): its serialized bytecode, which the
//! engine reads and runs in `_start`, at a cost in fuel per run that the
//! memory image does not have.
//!
//! The patch fits one engine only, so the namespace the program imports from
//! names that engine by the hash of its bytes (see [`kiln_abi::dynamic`]).
//! One engine instance serves one program instance: the patch assumes the
//! engine's memory as instantiation left it.

use crate::error::Error;
use crate::sections::snapshot_parts;
use kiln_abi::dynamic::{BYTECODE_AT, ENGINE_SECTION, ENGINE_START, NAMESPACE_HASH_DIGITS, NAMESPACE_PREFIX};
use kiln_abi::exports::{INVOKE, MEMORY, RUN_BYTECODE, START};
use sha2::{Digest, Sha256};
use std::ops::Range;
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, DataCountSection, DataSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection, Instruction, MemoryType, Module, StartSection, TypeSection, ValType,
};

/// The shared engine, and what building programs against it needs.
pub struct SharedEngine {
    /// The module program modules link against (what `kiln engine`
    /// writes), with its namespace in its [`ENGINE_SECTION`].
    pub wasm: Vec<u8>,
    /// The namespace program modules import the engine under.
    pub namespace: String,
    /// The engine's snapshot as wizer made it, still exporting
    /// `kiln.init_program`, and instrumented (see
    /// [`kiln_snapshot::instrument`]): dynamic builds run their program's
    /// init on it and read the memory it leaves.
    pub(crate) snapshot: Vec<u8>,
    /// Its linear memory as instantiation leaves it.
    image: Vec<u8>,
    /// Its mutable globals' initial values: a program's init must leave
    /// them unchanged, since a patch holds memory only.
    globals: Vec<(u32, u128)>,
    /// The host-stack cell, which hosts write before a run: a patch must not
    /// cover it.
    host_stack_cell: Option<Range<usize>>,
    /// Where the shadow stack ends: below it memory is dead between calls.
    stack_top: usize,
}

/// Wasm's page size.
const PAGE: usize = 64 << 10;

impl SharedEngine {
    /// The shared engine made of `snapshot` (the engine after
    /// `kiln.init_engine`, instrumented) and `finished`, the module made of
    /// it for users.
    pub(crate) fn new(snapshot: Vec<u8>, finished: Vec<u8>) -> Result<Self, Error> {
        let digest = Sha256::digest(&finished);
        let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let namespace = format!("{NAMESPACE_PREFIX}{}", &hash[..NAMESPACE_HASH_DIGITS]);
        let mut wasm = finished;
        append_custom_section(&mut wasm, ENGINE_SECTION, namespace.as_bytes());
        let image = memory_image(&snapshot)?;
        let globals = mutable_globals(&snapshot)?;
        let host_stack_cell = crate::runner::host_stack_cell(&wasm).map(|at| at as usize..at as usize + 4);
        let stack_top = stack_pointer(&snapshot)?;
        Ok(SharedEngine { wasm, namespace, snapshot, image, globals, host_stack_cell, stack_top })
    }

    /// The program module of `program`, the state of this engine after
    /// `kiln.init_program`. `invoked` names function mode's wasm exports,
    /// in `--invoke` order (empty for a script or module program). For
    /// [`DynamicFor::Fuel`](crate::DynamicFor::Fuel), always as data
    /// segments: the records' loop costs ~25 fuel per run of changed bytes.
    pub(crate) fn program_module(&self, program: &kiln_snapshot::InitState, invoked: &[String], priority: crate::DynamicFor) -> Result<Vec<u8>, Error> {
        if program.globals != self.globals {
            return Err(Error::Rewrite("building the program changed the shared engine's globals: it cannot be a dynamic module".into()));
        }
        let after = &program.memory;
        let grow_pages = after.len().saturating_sub(self.image.len()) / PAGE;
        // The engine is linked stack-first: the shadow stack is the memory
        // below the stack pointer, dead once the init has returned (wizer
        // snapshots after it has). What the program's build left there is
        // garbage no run reads before writing, so the patch leaves it out,
        // and the record layout uses it as scratch space.
        let runs = |gap| patch(&self.image, &after, self.stack_top, self.host_stack_cell.clone(), gap);
        let segments = Patch { grow_pages, layout: Layout::segments(runs(SEGMENT_GAP), self.image.len()) };
        let segments = encode_program(&self.namespace, invoked, &segments)?;
        if priority == crate::DynamicFor::Fuel {
            return Ok(segments);
        }
        let records = Patch { grow_pages, layout: Layout::records(&runs(RECORD_GAP), self.stack_top)? };
        let records = encode_program(&self.namespace, invoked, &records)?;
        Ok(if records.len() < segments.len() { records } else { segments })
    }
}

impl SharedEngine {
    /// The program module of a lone classic script in bytecode form (see
    /// [`kiln_abi::dynamic`]): `bytecode` as an active data segment at
    /// [`BYTECODE_AT`], and a `_start` that has the engine read and run it.
    /// `None` when the bytecode would reach too close to the stack's top,
    /// where `_start`'s own frames could overwrite it before it is read (the
    /// memory-image form serves such a program).
    pub(crate) fn bytecode_module(&self, bytecode: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        if BYTECODE_AT + bytecode.len() + BYTECODE_STACK_ROOM > self.stack_top {
            return Ok(None);
        }
        let mut types = TypeSection::new();
        types.ty().function([], []);
        types.ty().function([ValType::I32, ValType::I32], []);
        let mut imports = ImportSection::new();
        imports.import(&self.namespace, MEMORY, MemoryType { minimum: 0, maximum: None, memory64: false, shared: false, page_size_log2: None });
        imports.import(&self.namespace, RUN_BYTECODE, EntityType::Function(1));
        let mut functions = FunctionSection::new();
        functions.function(0);
        let mut exports = ExportSection::new();
        exports.export(START, ExportKind::Func, 1);
        exports.export(MEMORY, ExportKind::Memory, 0);
        let mut start = Function::new([]);
        start.instruction(&Instruction::I32Const(i32_of(BYTECODE_AT)?));
        start.instruction(&Instruction::I32Const(i32_of(bytecode.len())?));
        start.instruction(&Instruction::Call(0));
        start.instruction(&Instruction::End);
        let mut code = CodeSection::new();
        code.function(&start);
        let mut data = DataSection::new();
        data.active(0, &ConstExpr::i32_const(i32_of(BYTECODE_AT)?), bytecode.iter().copied());
        let mut module = Module::new();
        module.section(&types).section(&imports).section(&functions).section(&exports).section(&code).section(&data);
        Ok(Some(module.finish()))
    }
}

/// How much of the shadow stack below its top a bytecode module leaves
/// free for `_start`'s frames up to the read (a few KiB are used).
const BYTECODE_STACK_ROOM: usize = 256 << 10;

/// Runs of unchanged bytes up to this long are written again rather than
/// starting another data segment (whose header costs 5-9 bytes)...
const SEGMENT_GAP: usize = 6;
/// ...or another record (3 bytes).
const RECORD_GAP: usize = 3;

/// How a program module writes its patch into the engine's memory.
struct Patch {
    /// Pages to grow the engine's memory by first.
    grow_pages: usize,
    layout: Layout,
}

enum Layout {
    /// One data segment per run: active where the engine's memory already
    /// reaches (wasm writes them at instantiation, no code needed), passive
    /// beyond (written by the start function once it has grown memory).
    Segments { active: Vec<(usize, Vec<u8>)>, passive: Vec<(usize, Vec<u8>)> },
    /// One passive segment of records (the distance from the end of the
    /// previous run as a little-endian u16, the length as a u8, the
    /// bytes), which the start function copies to `scratch` (dead
    /// shadow-stack memory) and then applies with a small loop: 3 bytes per
    /// run instead of 5-9, for ~60 bytes of code and ~25 fuel per run.
    /// Smaller once a patch has more than ~20 runs.
    Records { blob: Vec<u8>, scratch: usize, base: usize },
}

impl Layout {
    fn segments(runs: Vec<(usize, Vec<u8>)>, memory_len: usize) -> Layout {
        let (mut active, mut passive) = (Vec::new(), Vec::new());
        for (at, bytes) in runs {
            if at + bytes.len() <= memory_len {
                active.push((at, bytes));
            } else if at >= memory_len {
                passive.push((at, bytes));
            } else {
                let split = memory_len - at;
                active.push((at, bytes[..split].to_vec()));
                passive.push((memory_len, bytes[split..].to_vec()));
            }
        }
        Layout::Segments { active, passive }
    }

    fn records(runs: &[(usize, Vec<u8>)], stack_top: usize) -> Result<Layout, Error> {
        let mut blob = Vec::new();
        // Distances count from the first run, where the loop starts.
        let base = runs.first().map_or(0, |(at, _)| *at);
        let mut end = base;
        for (at, bytes) in runs {
            let mut distance = at - end;
            // A distance past a u16 takes empty records first.
            while distance > usize::from(u16::MAX) {
                blob.extend_from_slice(&[0xff, 0xff, 0]);
                distance -= usize::from(u16::MAX);
            }
            // A run past a u8 continues in records of distance 0.
            for (i, chunk) in bytes.chunks(usize::from(u8::MAX)).enumerate() {
                let distance = if i == 0 { distance } else { 0 };
                blob.extend_from_slice(&(distance as u16).to_le_bytes());
                blob.push(chunk.len() as u8);
                blob.extend_from_slice(chunk);
            }
            end = at + bytes.len();
        }
        // Just below the stack pointer, aligned: the stack's own top.
        let scratch = stack_top.checked_sub(blob.len()).map(|at| at & !15).filter(|&at| at >= 1024);
        let scratch = scratch.ok_or_else(|| Error::Rewrite("the program's patch is larger than the engine's shadow stack".into()))?;
        Ok(Layout::Records { blob, scratch, base })
    }
}

/// The shared engine's two parts (its snapshot and the finished module) in
/// the cache directory, so that a dynamic build does not initialize and
/// finish the engine again in every process. Stored with the SHA-256 of the
/// contents in front: a damaged file is made again, never trusted.
pub(crate) struct StoredEngine {
    path: Option<std::path::PathBuf>,
    cache: Option<kiln_host::ModuleCache>,
}

/// Bump with any change to how the shared engine is made from the engine's
/// bytes that they do not show (the init, the rewrite, this format).
const STORED_ENGINE_FORMAT: u32 = 3;

impl StoredEngine {
    pub(crate) fn new(cache: Option<&kiln_host::ModuleCache>, engine: &[u8], options: &crate::RewriteOptions) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(STORED_ENGINE_FORMAT.to_le_bytes());
        // The finished engine is the rewrite's output too.
        hasher.update(crate::splice::SKELETON_FORMAT.to_le_bytes());
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update(env!("KILN_REWRITE_CRATES").as_bytes());
        hasher.update(format!("{options:?}").as_bytes());
        hasher.update(engine);
        let key: String = hasher.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect();
        StoredEngine { path: cache.map(|c| c.dir().join(format!("shared-engine-{key}.bin"))), cache: cache.cloned() }
    }

    /// (snapshot, finished module), if stored and intact.
    pub(crate) fn load(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        let stored = std::fs::read(self.path.as_ref()?).ok()?;
        let (hash, rest) = stored.split_at_checked(32)?;
        if Sha256::digest(rest).as_slice() != hash {
            return None;
        }
        let (len, rest) = rest.split_at_checked(8)?;
        let len = usize::try_from(u64::from_le_bytes(len.try_into().ok()?)).ok()?;
        let (snapshot, finished) = rest.split_at_checked(len)?;
        Some((snapshot.to_vec(), finished.to_vec()))
    }

    /// Stores both parts; a cache that cannot be written only costs time.
    pub(crate) fn store(&self, snapshot: &[u8], finished: &[u8]) {
        let (Some(path), Some(cache)) = (&self.path, &self.cache) else { return };
        let mut rest = (snapshot.len() as u64).to_le_bytes().to_vec();
        rest.extend_from_slice(snapshot);
        rest.extend_from_slice(finished);
        let mut contents = Sha256::digest(&rest).to_vec();
        contents.extend_from_slice(&rest);
        cache.store(path, &contents);
    }
}

/// The bytes of `after` from address `from` on that differ from `before`
/// (memory beyond `before` counts as zeros), as (address, bytes) runs in
/// address order, never covering `keep_out`.
fn patch(before: &[u8], after: &[u8], from: usize, keep_out: Option<Range<usize>>, max_gap: usize) -> Vec<(usize, Vec<u8>)> {
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
            i - end <= max_gap && !(end < keep_out.end && keep_out.start < i)
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
fn encode_program(namespace: &str, invoked: &[String], patch: &Patch) -> Result<Vec<u8>, Error> {
    const NO_ARGS: u32 = 0;
    const INDEX_ARG: u32 = 1;

    let mut types = TypeSection::new();
    types.ty().function([], []);
    types.ty().function([ValType::I32], []);

    let mut imports = ImportSection::new();
    imports.import(namespace, MEMORY, MemoryType { minimum: 0, maximum: None, memory64: false, shared: false, page_size_log2: None });
    let function_mode = !invoked.is_empty();
    let imported = if function_mode { (INVOKE, INDEX_ARG) } else { (ENGINE_START, NO_ARGS) };
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

    let mut data = DataSection::new();
    let mut start = Function::new([(3, ValType::I32)]);
    if patch.grow_pages > 0 {
        // memory.grow gives -1 when the host refuses: then the module
        // cannot be instantiated, as a static one could not.
        start.instruction(&Instruction::I32Const(i32_of(patch.grow_pages)?));
        start.instruction(&Instruction::MemoryGrow(0));
        start.instruction(&Instruction::I32Const(-1));
        start.instruction(&Instruction::I32Eq);
        start.instruction(&Instruction::If(BlockType::Empty));
        start.instruction(&Instruction::Unreachable);
        start.instruction(&Instruction::End);
    }
    let mut started = patch.grow_pages > 0;
    match &patch.layout {
        Layout::Segments { active, passive } => {
            for (at, bytes) in active {
                data.active(0, &ConstExpr::i32_const(i32_of(*at)?), bytes.iter().copied());
            }
            for (index, (at, bytes)) in passive.iter().enumerate() {
                let index = u32::try_from(active.len() + index).map_err(|_| Error::Rewrite("too many data segments".into()))?;
                copy_segment(&mut start, index, *at, bytes.len())?;
                data.passive(bytes.iter().copied());
                started = true;
            }
        }
        // The loop below runs at least once: an empty patch has no records.
        Layout::Records { blob, .. } if blob.is_empty() => {}
        Layout::Records { blob, scratch, base } => {
            data.passive(blob.iter().copied());
            copy_segment(&mut start, 0, *scratch, blob.len())?;
            apply_records(&mut start, *base, *scratch, scratch + blob.len())?;
            started = true;
        }
    }
    let start_index = started.then_some(next_function);
    if started {
        start.instruction(&Instruction::End);
        functions.function(NO_ARGS);
        code.function(&start);
    }

    let mut module = Module::new();
    module.section(&types).section(&imports);
    if !functions.is_empty() {
        module.section(&functions);
    }
    module.section(&exports);
    if let Some(function_index) = start_index {
        module.section(&StartSection { function_index });
    }
    let passive = matches!(&patch.layout, Layout::Records { .. }) || matches!(&patch.layout, Layout::Segments { passive, .. } if !passive.is_empty());
    if passive {
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

fn i32_of(value: usize) -> Result<i32, Error> {
    u32::try_from(value).map(|v| v as i32).map_err(|_| Error::Rewrite("a patch lies beyond 4 GiB".into()))
}

/// `memory.init` of all of passive segment `index` at `at`, then
/// `data.drop`: the segment is not needed again.
fn copy_segment(body: &mut Function, index: u32, at: usize, len: usize) -> Result<(), Error> {
    body.instruction(&Instruction::I32Const(i32_of(at)?));
    body.instruction(&Instruction::I32Const(0));
    body.instruction(&Instruction::I32Const(i32_of(len)?));
    body.instruction(&Instruction::MemoryInit { mem: 0, data_index: index });
    body.instruction(&Instruction::DataDrop(index));
    Ok(())
}

/// The loop that applies the records from `from` to `end` (see
/// [`Layout::Records`]): starting at `base`, for each, move the destination
/// on by its distance and copy its bytes there.
fn apply_records(body: &mut Function, base: usize, from: usize, end: usize) -> Result<(), Error> {
    let (dst, at, len) = (0, 1, 2);
    let header = |offset: u64| wasm_encoder::MemArg { offset, align: 0, memory_index: 0 };
    for instruction in [
        Instruction::I32Const(i32_of(base)?),
        Instruction::LocalSet(dst),
        Instruction::I32Const(i32_of(from)?),
        Instruction::LocalSet(at),
        Instruction::Loop(BlockType::Empty),
        // dst += distance
        Instruction::LocalGet(at),
        Instruction::I32Load16U(header(0)),
        Instruction::LocalGet(dst),
        Instruction::I32Add,
        Instruction::LocalTee(dst),
        // memory.copy(dst, at + 3, len)
        Instruction::LocalGet(at),
        Instruction::I32Const(3),
        Instruction::I32Add,
        Instruction::LocalGet(at),
        Instruction::I32Load8U(header(2)),
        Instruction::LocalTee(len),
        Instruction::MemoryCopy { src_mem: 0, dst_mem: 0 },
        // dst += len; at += 3 + len
        Instruction::LocalGet(dst),
        Instruction::LocalGet(len),
        Instruction::I32Add,
        Instruction::LocalSet(dst),
        Instruction::LocalGet(at),
        Instruction::LocalGet(len),
        Instruction::I32Add,
        Instruction::I32Const(3),
        Instruction::I32Add,
        Instruction::LocalTee(at),
        Instruction::I32Const(i32_of(end)?),
        Instruction::I32LtU,
        Instruction::BrIf(0),
        Instruction::End,
    ] {
        body.instruction(&instruction);
    }
    Ok(())
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

/// Each mutable global `wasm` defines, by index, with its initial value as
/// raw bits, as [`kiln_snapshot::InitState::globals`] reads them back.
fn mutable_globals(wasm: &[u8]) -> Result<Vec<(u32, u128)>, Error> {
    let invalid = |e: wasmparser::BinaryReaderError| Error::Rewrite(format!("reading the snapshot: {e}"));
    let mut globals = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::GlobalSection(reader) = payload.map_err(invalid)? {
            for (index, global) in (0u32..).zip(reader) {
                let global = global.map_err(invalid)?;
                if !global.ty.mutable {
                    continue;
                }
                let bits = match global.init_expr.get_operators_reader().read().map_err(invalid)? {
                    wasmparser::Operator::I32Const { value } => u128::from(value as u32),
                    wasmparser::Operator::I64Const { value } => u128::from(value as u64),
                    wasmparser::Operator::F32Const { value } => u128::from(value.bits()),
                    wasmparser::Operator::F64Const { value } => u128::from(value.bits()),
                    _ => return Err(Error::Rewrite("the shared engine has a mutable global that is not a constant".into())),
                };
                globals.push((index, bits));
            }
        }
    }
    Ok(globals)
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
        let runs = patch(&before, &after, 0, None, 6);
        assert_eq!(runs, vec![(3, vec![1, 0, 2]), (40, vec![3]), (66, vec![9])]);
    }

    #[test]
    fn a_patch_never_covers_the_kept_out_range() {
        let before = vec![0u8; 32];
        let mut after = before.clone();
        after[8] = 1;
        after[14] = 2;
        assert_eq!(patch(&before, &after, 0, None, 6), vec![(8, vec![1, 0, 0, 0, 0, 0, 2])]);
        assert_eq!(patch(&before, &after, 0, Some(10..14), 6), vec![(8, vec![1]), (14, vec![2])]);
        assert_eq!(patch(&before, &after, 9, None, 6), vec![(14, vec![2])]);
    }

    #[test]
    fn program_modules_of_both_layouts_validate_and_name_their_engine() {
        let namespace = "kiln-engine-v3-0123456789ab";
        let runs = vec![(4096, vec![1, 2]), (70000, vec![3])];
        let layouts = [Layout::segments(runs.clone(), 65536), Layout::records(&runs, 2048).expect("fits")];
        for layout in layouts {
            for invoked in [vec![], vec!["a".to_string(), "b-c".to_string()]] {
                let wasm = encode_program(namespace, &invoked, &Patch { grow_pages: 1, layout: layout_clone(&layout) }).expect("encodes");
                wasmparser::Validator::new().validate_all(&wasm).expect("valid");
                assert_eq!(module_role(&wasm), Some(ModuleRole::Dynamic { namespace: namespace.into() }));
            }
        }
    }

    #[test]
    fn records_are_distances_lengths_and_bytes() {
        let runs = [(5000, vec![7, 8]), (5003, vec![9]), (75538, vec![1; 300])];
        let Layout::Records { blob, scratch, base } = Layout::records(&runs, 8192).expect("fits") else { panic!("records") };
        assert_eq!(base, 5000);
        // Distance 0 from the base; then 1 past the end of the first run.
        assert_eq!(&blob[..9], &[0, 0, 2, 7, 8, 1, 0, 1, 9]);
        // 70,534 past the second run: one empty record of 65,535, then 4,999
        // (0x1387); 300 bytes take two records.
        assert_eq!(&blob[9..15], &[0xff, 0xff, 0, 0x87, 0x13, 255]);
        assert_eq!(&blob[15 + 255..15 + 255 + 3], &[0, 0, 45]);
        assert_eq!(scratch, (8192 - blob.len()) & !15);
        assert_eq!(scratch, (8192 - blob.len()) & !15);
    }

    fn layout_clone(layout: &Layout) -> Layout {
        match layout {
            Layout::Segments { active, passive } => Layout::Segments { active: active.clone(), passive: passive.clone() },
            Layout::Records { blob, scratch, base } => Layout::Records { blob: blob.clone(), scratch: *scratch, base: *base },
        }
    }
}
