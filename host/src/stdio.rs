//! Where a module's stdin, stdout and stderr go: the process's own, or
//! memory the host gives and reads back.
//!
//! `kiln run` passes the process's stdio through, or captures it to measure
//! a run against a platform's limits; the benchmark feeds inputs from
//! memory and discards what comes out; the build-time init reads its init
//! input from memory and may write nothing that lasts. One type says which.

use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

/// A module's stdin.
#[derive(Debug, Clone)]
pub enum Input {
    /// The process's stdin.
    Inherit,
    /// These bytes, then end of file.
    Bytes(Vec<u8>),
}

/// A module's stdout or stderr.
#[derive(Debug, Clone, Copy)]
pub enum Output {
    /// The process's own stream.
    Inherit,
    /// Kept in memory, to be read back with [`Captured`]; writes past
    /// `limit` bytes fail.
    Capture {
        /// The most bytes kept.
        limit: usize,
    },
}

/// All three streams of one instance.
#[derive(Debug, Clone)]
pub struct Stdio {
    /// Where stdin comes from.
    pub stdin: Input,
    /// Where stdout goes.
    pub stdout: Output,
    /// Where stderr goes.
    pub stderr: Output,
}

impl Stdio {
    /// The process's stdio, passed through.
    pub fn inherit() -> Self {
        Stdio { stdin: Input::Inherit, stdout: Output::Inherit, stderr: Output::Inherit }
    }

    /// `input` on stdin; stdout and stderr kept in memory, up to `limit`
    /// bytes each.
    pub fn in_memory(input: Vec<u8>, limit: usize) -> Self {
        Stdio { stdin: Input::Bytes(input), stdout: Output::Capture { limit }, stderr: Output::Capture { limit } }
    }

    /// Points `wasi`'s streams where this says, and returns handles on
    /// what is captured.
    pub fn apply(self, wasi: &mut WasiCtxBuilder) -> Captured {
        match self.stdin {
            Input::Inherit => wasi.inherit_stdin(),
            Input::Bytes(bytes) => wasi.stdin(MemoryInputPipe::new(bytes)),
        };
        let stdout = match self.stdout {
            Output::Inherit => {
                wasi.inherit_stdout();
                None
            }
            Output::Capture { limit } => {
                let pipe = MemoryOutputPipe::new(limit);
                wasi.stdout(pipe.clone());
                Some(pipe)
            }
        };
        let stderr = match self.stderr {
            Output::Inherit => {
                wasi.inherit_stderr();
                None
            }
            Output::Capture { limit } => {
                let pipe = MemoryOutputPipe::new(limit);
                wasi.stderr(pipe.clone());
                Some(pipe)
            }
        };
        Captured { stdout, stderr }
    }
}

/// What a module wrote to its captured streams ([`Output::Capture`]).
#[derive(Debug, Clone)]
pub struct Captured {
    stdout: Option<MemoryOutputPipe>,
    stderr: Option<MemoryOutputPipe>,
}

impl Captured {
    /// Everything written to stdout so far (empty when it was inherited).
    pub fn stdout(&self) -> Vec<u8> {
        self.stdout.as_ref().map_or_else(Vec::new, |pipe| pipe.contents().to_vec())
    }

    /// Everything written to stderr so far (empty when it was inherited).
    pub fn stderr(&self) -> Vec<u8> {
        self.stderr.as_ref().map_or_else(Vec::new, |pipe| pipe.contents().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Engine, Linker, Module, Store};
    use wasmtime_wasi::p1::WasiP1Ctx;

    /// A WASI command that copies up to 64 bytes of stdin to stdout and
    /// writes "!" to stderr.
    fn echo() -> Vec<u8> {
        use wasm_encoder::{
            CodeSection, ConstExpr, DataSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection, Instruction, MemArg,
            MemorySection, MemoryType, Module, TypeSection, ValType,
        };
        let mut types = TypeSection::new();
        types.ty().function([ValType::I32; 4], [ValType::I32]);
        types.ty().function([], []);
        let mut imports = ImportSection::new();
        imports.import("wasi_snapshot_preview1", "fd_read", EntityType::Function(0));
        imports.import("wasi_snapshot_preview1", "fd_write", EntityType::Function(0));
        let mut functions = FunctionSection::new();
        functions.function(1);
        let mut memories = MemorySection::new();
        memories.memory(MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None });
        let mut exports = ExportSection::new();
        exports.export("memory", ExportKind::Memory, 0).export("_start", ExportKind::Func, 2);
        let at = |offset| MemArg { offset, align: 2, memory_index: 0 };
        let mut start = Function::new([]);
        // The iovec at 0 (buffer, length); the count at 8.
        let call = |f: &mut Function, func: u32, fd: i32| {
            f.instructions().i32_const(fd).i32_const(0).i32_const(1).i32_const(8).call(func).drop();
        };
        start.instructions().i32_const(0).i32_const(100).i32_store(at(0)).i32_const(0).i32_const(64).i32_store(at(4));
        call(&mut start, 0, 0);
        start.instructions().i32_const(0).i32_const(0).i32_load(at(8)).i32_store(at(4));
        call(&mut start, 1, 1);
        start.instructions().i32_const(0).i32_const(200).i32_store(at(0)).i32_const(0).i32_const(1).i32_store(at(4));
        call(&mut start, 1, 2);
        start.instruction(&Instruction::End);
        let mut code = CodeSection::new();
        code.function(&start);
        let mut data = DataSection::new();
        data.active(0, &ConstExpr::i32_const(200), *b"!");
        let mut module = Module::new();
        module.section(&types).section(&imports).section(&functions).section(&memories).section(&exports).section(&code).section(&data);
        module.finish()
    }

    #[test]
    fn memory_stdio_feeds_stdin_and_captures_both_outputs() {
        let engine = Engine::default();
        let module = Module::new(&engine, echo()).expect("a valid module");
        let mut wasi = WasiCtxBuilder::new();
        let captured = Stdio::in_memory(b"kiln".to_vec(), 1 << 10).apply(&mut wasi);
        let mut store = Store::new(&engine, wasi.build_p1());
        let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx).expect("links");
        let instance = linker.instantiate(&mut store, &module).expect("instantiates");
        instance.get_typed_func::<(), ()>(&mut store, "_start").expect("exported").call(&mut store, ()).expect("runs");
        assert_eq!(captured.stdout(), b"kiln");
        assert_eq!(captured.stderr(), b"!");
    }

    #[test]
    fn inherited_streams_capture_nothing() {
        let mut wasi = WasiCtxBuilder::new();
        let captured = Stdio::inherit().apply(&mut wasi);
        assert!(captured.stdout().is_empty() && captured.stderr().is_empty());
    }
}
