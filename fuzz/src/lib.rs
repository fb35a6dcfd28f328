//! What the `compile` fuzz target checks, as a plain function so that the
//! main test suite can replay the seed corpus without libFuzzer
//! (`compiler/tests/all/fuzz_corpus.rs` includes this file).
//!
//! The property: any bytes given to `kiln build` end in a module or a clean
//! error — never a panic, an abort, a trap or a hang (libFuzzer's `-timeout`
//! catches hangs).

use kiln::{Compiler, Error, Source, SourceKind};

/// The verdict on one input, for the corpus replay's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A module was built.
    Compiled,
    /// Rejected before compiling (not UTF-8).
    Rejected,
    /// The JavaScript failed: a syntax error or an exception.
    JsError,
}

/// Builds `data` as a program the way `kiln build` does (`Source::from_bytes`,
/// detected script or module, then `Compiler::compile`).
///
/// # Panics
///
/// When the pipeline does not end cleanly: an error that is Kiln's own
/// failure (a trap during pre-initialization, a failed rewrite) or an output
/// that is not a wasm module. That is what the fuzzer reports.
pub fn build_one(compiler: &Compiler, data: &[u8]) -> Outcome {
    let source = match Source::from_bytes("fuzz.js".into(), data.to_vec(), SourceKind::Detect) {
        Ok(source) => source,
        Err(Error::InvalidInput(message)) => {
            assert!(message.contains("UTF-8"), "unexpected rejection: {message}");
            return Outcome::Rejected;
        }
        Err(other) => panic!("Source::from_bytes failed uncleanly: {other:?}"),
    };
    match compiler.compile(&source) {
        Ok(compiled) => {
            assert!(compiled.wasm.starts_with(b"\0asm"), "the output is not a wasm module");
            Outcome::Compiled
        }
        Err(e @ (Error::JsSyntax { .. } | Error::JsException { .. } | Error::Import { .. })) => {
            assert!(!e.to_string().is_empty(), "an empty diagnostic: {e:?}");
            Outcome::JsError
        }
        Err(other) => panic!("the build failed uncleanly: {other}\n{other:?}"),
    }
}

/// The compiler the fuzz target reuses: one wasmtime engine, and the engine
/// compiled once into `cache_dir`.
///
/// # Panics
///
/// If wasmtime cannot be set up on this host.
pub fn compiler(cache_dir: &std::path::Path) -> Compiler {
    let mut compiler = Compiler::new().expect("wasmtime works on this host");
    compiler.cache(kiln::ModuleCache::new(cache_dir));
    compiler
}
