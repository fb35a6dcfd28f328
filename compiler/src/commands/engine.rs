//! `kiln engine`: write the shared engine that dynamic modules link against.

use clap::Args;
use kiln::{Compiler, Profile, RewriteOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Write the shared engine of dynamic modules (`kiln build --dynamic`).
///
/// The engine is QuickJS with Kiln's JavaScript API, pre-initialized
/// (runtime, context and API already in its memory) and without a program.
/// Program modules built by this same kiln with the same --lean and --eval
/// link against it under its namespace, which names its exact bytes.
#[derive(Args)]
#[command(after_help = "\
Examples:
  kiln engine -o kiln-engine.wasm
  kiln build --dynamic app.js -o app.wasm
  wasmtime run --preload $(kiln engine --namespace)=kiln-engine.wasm app.wasm
  kiln run --engine kiln-engine.wasm app.wasm")]
pub(crate) struct EngineArgs {
    /// Where to write the engine.
    #[arg(short, long, value_name = "OUTPUT", required_unless_present = "namespace")]
    output: Option<PathBuf>,

    /// Print the engine's namespace (what program modules import it as) on
    /// stdout.
    #[arg(long)]
    namespace: bool,

    /// The engine compiled for size (for modules built with --dynamic --lean).
    #[arg(long)]
    lean: bool,

    /// Keep QuickJS's parser, so that `eval` works (for modules built with
    /// --dynamic --eval).
    #[arg(long)]
    eval: bool,

    /// Do not read or write the cache of compiled code.
    #[arg(long)]
    no_cache: bool,

    /// Print nothing on success but what was asked for.
    #[arg(short, long)]
    quiet: bool,
}

pub(crate) fn execute(args: EngineArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut compiler = Compiler::new()?;
    if let Some(cache) = super::module_cache(args.no_cache) {
        compiler.cache(cache);
    }
    compiler.profile(if args.lean { Profile::Lean } else { Profile::Default });
    compiler.rewrite_options(RewriteOptions { keep_parser: args.eval, ..RewriteOptions::default() });
    let engine = compiler.shared_engine()?;
    if let Some(path) = &args.output {
        kiln::write_atomically(path, &engine.wasm)?;
        if !args.quiet {
            eprintln!("Wrote the shared engine {} -> {} ({} bytes) in {:.2}s", engine.namespace, path.display(), engine.wasm.len(), started.elapsed().as_secs_f64());
        }
    }
    if args.namespace {
        println!("{}", engine.namespace);
    }
    Ok(ExitCode::SUCCESS)
}
