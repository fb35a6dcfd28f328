//! `kiln build`: compile a JavaScript file into a WebAssembly module.

use anyhow::Context;
use clap::Args;
use kiln::{Compiler, FunctionMode, IoMode, Profile, RewriteOptions, STDIN_NAME, Source, SourceKind};
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Compile a JavaScript program into a WASI module.
///
/// The program is parsed, compiled to bytecode and loaded into a QuickJS
/// engine at build time; the engine's memory is then saved into the module,
/// so running it starts straight at the program. The module reads stdin,
/// writes stdout and stderr, and runs on any WASI preview 1 host.
#[derive(Args)]
#[command(after_help = "\
Examples:
  kiln build app.js                  # writes app.wasm next to app.js
  kiln build src/main.mjs -o out.wasm
  cat app.js | kiln build - -o app.wasm
  kiln build discount.js --invoke run     # function mode: JSON in, JSON out
  kiln build --lean discount.js --invoke run   # ~375 KB smaller, runs slower

  kiln build src/index.ts -o fn.wasm      # TypeScript, npm packages, CommonJS
  kiln build app.js --define DEBUG=false  # build-time constants

  kiln engine -o kiln-engine.wasm         # dynamic modules: the shared engine, once
  kiln build --dynamic app.js -o app.wasm # the program only: a few hundred bytes
  kiln run --engine kiln-engine.wasm app.wasm

A program using import/export or top-level await, or named *.mjs, is an ES
module; anything else is a classic script (sloppy mode allowed), or, when it
uses require/module/exports (or is named *.cjs), a CommonJS module.

Everything the entry imports is resolved at build time as Node and bundlers
do and compiled into the module: relative files with or without extension
(./x -> x.ts, x.tsx, x.js, x.mjs, ..., x/index.*), npm packages from
node_modules (package.json exports with the conditions kiln, wasi,
import|require, module, default; imports (#internal); module/main), tsconfig
paths/baseUrl, JSON, and with { type: \"text\" } any file. TypeScript and JSX
are compiled (types removed; tsconfig.json's jsx, experimentalDecorators,
useDefineForClassFields, verbatimModuleSyntax apply) but NOT type-checked:
run tsc for that. process.env.NODE_ENV is \"production\". Node built-in
modules (node:fs, ...) are a build error: the module runs on WASI. URLs are
not supported.")]
pub(crate) struct BuildArgs {
    /// The JavaScript or TypeScript file to compile, or `-` to read
    /// JavaScript from stdin.
    #[arg(value_name = "INPUT")]
    input: PathBuf,

    /// Where to write the module (default: INPUT with the extension .wasm;
    /// stdout when INPUT is `-`). `-` writes to stdout.
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,

    /// Compile as an ES module, whatever the syntax or file name says.
    #[arg(long, conflicts_with = "script")]
    module: bool,

    /// Compile as a classic script, whatever the syntax or file name says.
    #[arg(long)]
    script: bool,

    /// Keep the function names section (useful for profiling; larger module).
    #[arg(long)]
    keep_names: bool,

    /// Keep QuickJS's parser in the module so that `eval` and `new Function`
    /// work when it runs (~200 KB larger). Without it they throw a TypeError;
    /// the program itself is always compiled at build time.
    #[arg(long)]
    eval: bool,

    /// Build from QuickJS compiled for size instead of speed: ~375 KB
    /// smaller modules that run CPU-bound code ~1.3-1.5x slower. Everything
    /// else is the same: same JavaScript, same API, same output.
    #[arg(long)]
    lean: bool,

    /// Build a dynamic module: the program only (kilobytes), linked when it
    /// runs against the shared engine that `kiln engine` writes (same kiln,
    /// same --lean and --eval). It imports the engine under a namespace that
    /// names the engine's exact bytes: `wasmtime run --preload
    /// NAMESPACE=kiln-engine.wasm app.wasm`, `kiln run --engine
    /// kiln-engine.wasm app.wasm`; `kiln inspect` shows the namespace.
    /// Everything else works as in a static module, at the same cost per run.
    #[arg(long)]
    dynamic: bool,

    /// What a --dynamic module is made small in. `bytes` (default): a lone
    /// script ships as its bytecode, which the engine reads on every run
    /// (hello world: 245 bytes, 2.4x the fuel of its static build); other
    /// programs as the smallest memory patch. `fuel`: always the memory
    /// patch, as data segments the host writes when it instantiates the
    /// module, so a run costs about what the static module's does (hello
    /// world: 1,076 bytes, 1.1x). For platforms that meter instructions more
    /// tightly than bytes.
    #[arg(long, value_enum, value_name = "WHAT", default_value = "bytes", requires = "dynamic")]
    dynamic_for: DynamicForArg,

    /// Stop the build if compiling the program (and, in function mode,
    /// evaluating its top level) takes longer than this: 500ms, 2s, 1m.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = super::run::parse_duration)]
    build_timeout: std::time::Duration,

    /// Stop the build if compiling the program (and, in function mode,
    /// evaluating its top level) allocates more than this much JavaScript
    /// memory: 64M, 1G.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = super::run::parse_size)]
    build_max_memory: usize,

    /// Function mode: evaluate the module's top level at build time and make
    /// export NAME a wasm export that reads stdin, calls it and writes its
    /// result (`default` is the default export). NAME=EXPORT names the wasm
    /// export EXPORT instead (`--invoke cartLinesDiscountsGenerateRun=cart-lines-discounts-generate-run`).
    /// Repeatable; `_start` runs the first. Only stdout carries results:
    /// console output goes to stderr.
    #[arg(long, value_name = "NAME[=EXPORT]")]
    invoke: Vec<String>,

    /// How invoked functions do I/O: json (stdin parsed as JSON, result
    /// written as JSON), text (string in, string out), bytes (Uint8Array in
    /// and out), ndjson (one call per stdin line, one result line each).
    #[arg(long, value_name = "MODE", default_value = "json", requires = "invoke")]
    io: IoArg,

    /// Do not read or write the cache of compiled code ($KILN_CACHE_DIR,
    /// default ~/.cache/kiln).
    #[arg(long)]
    no_cache: bool,

    /// Replace KEY (an identifier or dotted path, e.g. process.env.DEBUG)
    /// by the JavaScript expression VALUE in every file at build time, as
    /// esbuild's --define: strings need their quotes (`--define
    /// 'process.env.API="v2"'`). Branches made dead are dropped.
    /// `process.env.NODE_ENV` is `"production"` unless defined. Repeatable.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_define)]
    define: Vec<(String, String)>,

    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,

    /// Print how long each build step took.
    #[arg(long)]
    timings: bool,
}

fn parse_define(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got `{arg}`")),
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DynamicForArg {
    Bytes,
    Fuel,
}

impl From<DynamicForArg> for kiln::DynamicFor {
    fn from(arg: DynamicForArg) -> Self {
        match arg {
            DynamicForArg::Bytes => kiln::DynamicFor::Bytes,
            DynamicForArg::Fuel => kiln::DynamicFor::Fuel,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum IoArg {
    Json,
    Text,
    Bytes,
    Ndjson,
}

impl From<IoArg> for IoMode {
    fn from(arg: IoArg) -> Self {
        match arg {
            IoArg::Json => IoMode::Json,
            IoArg::Text => IoMode::Text,
            IoArg::Bytes => IoMode::Bytes,
            IoArg::Ndjson => IoMode::Ndjson,
        }
    }
}

/// Where the program comes from and where the module goes.
enum Input {
    Stdin,
    File(PathBuf),
}

enum Output {
    Stdout,
    File(PathBuf),
}

/// What `kiln build` will do, decided from the flags before any work: a
/// bad combination (a module to a terminal, a malformed `--invoke`) fails
/// before the program is read or compiled.
struct Plan {
    input: Input,
    output: Output,
    /// `--module` / `--script`, overriding what the file says.
    kind: Option<SourceKind>,
    function_mode: Option<(FunctionMode, Vec<String>)>,
    rewrite: RewriteOptions,
    profile: Profile,
}

impl Plan {
    fn from_args(args: &BuildArgs) -> anyhow::Result<Plan> {
        let input = if args.input.as_os_str() == "-" { Input::Stdin } else { Input::File(args.input.clone()) };
        let output = match (&args.output, &input) {
            (Some(path), _) if path.as_os_str() == "-" => Output::Stdout,
            (Some(path), _) => Output::File(path.clone()),
            (None, Input::Stdin) => Output::Stdout,
            (None, Input::File(path)) => Output::File(path.with_extension("wasm")),
        };
        if matches!(output, Output::Stdout) && std::io::stdout().is_terminal() {
            anyhow::bail!("refusing to write a wasm module to a terminal; pass -o FILE");
        }
        let kind = if args.module {
            Some(SourceKind::Module)
        } else if args.script {
            Some(SourceKind::Script)
        } else {
            None
        };
        let function_mode = (!args.invoke.is_empty()).then(|| {
            let (invoke, exports) = args.invoke.iter().map(|spec| kiln::split_invoke_spec(spec)).unzip();
            (FunctionMode { invoke, io: args.io.into() }, exports)
        });
        let rewrite = RewriteOptions { keep_names: args.keep_names, keep_parser: args.eval, ..RewriteOptions::default() };
        let profile = if args.lean { Profile::Lean } else { Profile::Default };
        Ok(Plan { input, output, kind, function_mode, rewrite, profile })
    }

    fn read_source(&self) -> anyhow::Result<Source> {
        let mut source = match &self.input {
            Input::Stdin => {
                let mut bytes = Vec::new();
                std::io::stdin().read_to_end(&mut bytes).context("reading the program from stdin")?;
                let mut source = Source::from_bytes(STDIN_NAME.into(), bytes, SourceKind::Detect)?;
                // A program on stdin imports relative to the current directory.
                source.base_dir = Some(PathBuf::from("."));
                source
            }
            Input::File(path) => Source::from_path(path)?,
        };
        if let Some(kind) = self.kind {
            source.kind = kind;
        }
        Ok(source)
    }
}

pub(crate) fn execute(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let plan = Plan::from_args(&args)?;
    let mut compiler = Compiler::new()?;
    if let Some(cache) = super::module_cache(args.no_cache) {
        compiler.cache(cache);
    }
    compiler.build_time_limit(args.build_timeout);
    compiler.build_memory_limit(args.build_max_memory as u64);
    compiler.profile(plan.profile);
    compiler.defines(args.define.clone());
    compiler.rewrite_options(plan.rewrite.clone());
    compiler.dynamic(args.dynamic);
    compiler.dynamic_for(args.dynamic_for.into());
    if let Some((mode, exports)) = plan.function_mode.clone() {
        compiler.function_mode_exporting(mode, exports)?;
    }
    let source = plan.read_source()?;
    let compiled = compiler.compile(&source)?;
    if !compiled.build_output.is_empty() && !args.quiet {
        eprint!("{}", compiled.build_output);
    }

    match &plan.output {
        Output::Stdout => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&compiled.wasm).and_then(|()| stdout.flush()).context("writing the module to stdout")?;
        }
        Output::File(path) => kiln::write_atomically(path, &compiled.wasm)?,
    }

    if args.timings {
        let t = &compiled.timings;
        eprintln!(
            "timings: front end {:.1?}, engine compile {:.0?}, init {:.0?}, snapshot {:.0?}, rewrite {:.0?}",
            t.frontend, t.engine_compile, t.init, t.snapshot, t.rewrite
        );
    }
    if !args.quiet {
        let shown = match &plan.output {
            Output::Stdout => "stdout".to_string(),
            Output::File(path) => path.display().to_string(),
        };
        eprintln!("Compiled {} -> {shown} ({} bytes) in {:.2}s", source.name, compiled.wasm.len(), started.elapsed().as_secs_f64());
    }
    Ok(ExitCode::SUCCESS)
}
