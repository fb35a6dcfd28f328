//! Kiln's benchmark suite.
//!
//! ```text
//! cargo run -p kiln-bench --release [-- --quick] [--json PATH] [--javy-only]
//! ```
//!
//! For each program in `bench/programs` (and the discount example) it
//! measures the output module's size, the median `kiln build` time (warm
//! compiled-code cache), the fuel one invocation consumes, the median wall
//! time of one invocation of a precompiled module (instantiate + run,
//! in-process, without fuel metering), and the same JavaScript on native
//! QuickJS (rquickjs on the host, same runtime API) as the lower bound an
//! interpreter can reach. It prints a table and writes it as JSON.
//!
//! Timings are medians and ratios for reading, never assertions.

mod javy;

use anyhow::{Context, Result, bail};
use kiln::{Compiler, FunctionMode, IoMode, ModuleCache, Profile, Source, SourceKind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use kiln_host::{HostConfig, Stdio};
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;

/// One benchmark: a program, how to build it, and its input.
struct Case {
    name: &'static str,
    file: &'static str,
    invoke: Option<&'static str>,
    input: Vec<u8>,
    /// Built with `--lean` (the engine compiled for size).
    lean: bool,
}

#[derive(serde::Serialize)]
struct Row {
    name: String,
    mode: &'static str,
    input_bytes: usize,
    module_bytes: usize,
    build_ms: f64,
    fuel: u64,
    /// Linear memory at the end of the metered run: wasm memory never
    /// shrinks, so this is the run's peak.
    memory_bytes: u64,
    wasm_ms: f64,
    native_ms: Option<f64>,
    ratio: Option<f64>,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let json_path = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/bench/latest.json"));
    let repeats = if quick { 3 } else { 7 };

    let javy_only = args.iter().any(|a| a == "--javy-only");
    let mut rows = Vec::new();
    if !javy_only {
        for case in cases(quick) {
            eprintln!("[kiln-bench] {}", case.name);
            rows.push(measure(&case, repeats).with_context(|| format!("benchmark {}", case.name))?);
        }
        print_table(&rows);
    }
    javy::side_by_side(&workspace(), if quick { 3 } else { 9 })?;
    if let Some(dir) = json_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&json_path, serde_json::to_string_pretty(&rows)?).with_context(|| format!("writing {}", json_path.display()))?;
    eprintln!("[kiln-bench] wrote {}", json_path.display());
    Ok(())
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("bench/ is in the workspace").to_path_buf()
}

/// An order document of about `bytes` bytes, the same on every run.
fn orders(bytes: usize) -> Vec<u8> {
    let mut out = String::from("{\"currency\":\"EUR\",\"orders\":[");
    let mut i = 0u64;
    while out.len() < bytes {
        if i > 0 {
            out.push(',');
        }
        let customer = (i * 7919) % 1000;
        out.push_str(&format!(
            "{{\"id\":{i},\"customer\":\"c{customer}\",\"lines\":[{{\"sku\":\"s{}\",\"qty\":{},\"price\":{}.5}},{{\"sku\":\"s{}\",\"qty\":1,\"price\":9.99}}]}}",
            i % 97,
            1 + i % 4,
            i % 50,
            i % 89
        ));
        i += 1;
    }
    out.push_str("]}");
    out.into_bytes()
}

fn cases(quick: bool) -> Vec<Case> {
    let cart = std::fs::read(workspace().join("examples/discount/input.json")).expect("examples/discount/input.json");
    let cart_lean = cart.clone();
    let big = if quick { 1 << 20 } else { 10 << 20 };
    vec![
        Case { name: "empty", file: "bench/programs/empty.js", invoke: None, input: vec![], lean: false },
        Case { name: "console hello", file: "bench/programs/hello.js", invoke: None, input: vec![], lean: false },
        Case { name: "json identity", file: "bench/programs/json-identity.js", invoke: None, input: cart.clone(), lean: false },
        Case { name: "json identity", file: "bench/programs/json-identity-fn.mjs", invoke: Some("run"), input: cart.clone(), lean: false },
        Case { name: "json transform 1MB", file: "bench/programs/json-transform-fn.mjs", invoke: Some("run"), input: orders(1 << 20), lean: false },
        Case { name: "json transform big", file: "bench/programs/json-transform-fn.mjs", invoke: Some("run"), input: orders(big), lean: false },
        Case { name: "Kiln.stdin.json big", file: "bench/programs/stdin-json.js", invoke: None, input: orders(big), lean: false },
        Case { name: "discount", file: "examples/discount/discount.js", invoke: None, input: cart.clone(), lean: false },
        Case { name: "discount", file: "examples/discount-function/discount.mjs", invoke: Some("run"), input: cart, lean: false },
        Case { name: "sieve 2,000,000", file: "examples/sieve/sieve.js", invoke: None, input: b"2000000".to_vec(), lean: false },
        Case { name: "richards-lite", file: "bench/programs/richards-lite.js", invoke: None, input: vec![], lean: false },
        Case { name: "string builder", file: "bench/programs/string-builder.js", invoke: None, input: vec![], lean: false },
        Case { name: "console hello --lean", file: "bench/programs/hello.js", invoke: None, input: vec![], lean: true },
        Case { name: "json transform 1MB --lean", file: "bench/programs/json-transform-fn.mjs", invoke: Some("run"), input: orders(1 << 20), lean: true },
        Case { name: "discount --lean", file: "examples/discount-function/discount.mjs", invoke: Some("run"), input: cart_lean, lean: true },
        Case { name: "sieve 2,000,000 --lean", file: "examples/sieve/sieve.js", invoke: None, input: b"2000000".to_vec(), lean: true },
        Case { name: "richards-lite --lean", file: "bench/programs/richards-lite.js", invoke: None, input: vec![], lean: true },
    ]
}

fn measure(case: &Case, repeats: usize) -> Result<Row> {
    let path = workspace().join(case.file);
    let source = Source::from_path(&path)?;
    let mut compiler = Compiler::new()?;
    compiler.cache(ModuleCache::new(workspace().join("target/bench/cache")));
    compiler.profile(if case.lean { Profile::Lean } else { Profile::Default });
    if let Some(name) = case.invoke {
        compiler.function_mode(FunctionMode { invoke: vec![name.to_string()], io: IoMode::Json })?;
    }
    compiler.compile(&source)?; // warm the cache
    let mut build_times = Vec::new();
    let mut wasm = Vec::new();
    for _ in 0..repeats {
        let started = Instant::now();
        wasm = compiler.compile(&source)?.wasm;
        build_times.push(started.elapsed());
    }

    let (_, fuel, memory_bytes) = run_wasm(&wasm, &case.input, true, 1)?;
    let (wasm_time, _, _) = run_wasm(&wasm, &case.input, false, repeats)?;
    let native = match case.invoke {
        None => Some(run_native(&source, &case.input, repeats)?),
        Some(_) => None,
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(Row {
        name: case.name.to_string(),
        mode: if case.invoke.is_some() { "function" } else { "script" },
        input_bytes: case.input.len(),
        module_bytes: wasm.len(),
        build_ms: ms(median(build_times)),
        fuel,
        memory_bytes,
        wasm_ms: ms(wasm_time),
        native_ms: native.map(ms),
        ratio: native.map(|n| wasm_time.as_secs_f64() / n.as_secs_f64().max(1e-9)),
    })
}

/// Instantiates and runs `_start` `repeats` times on a module compiled once;
/// returns the median wall time, and the fuel and linear memory size of the
/// last run.
pub(crate) fn run_wasm(wasm: &[u8], input: &[u8], metered: bool, repeats: usize) -> Result<(Duration, u64, u64)> {
    let prepared = Prepared::new(wasm, metered)?;
    let mut times = Vec::new();
    let (mut fuel, mut memory_bytes) = (0, 0);
    for _ in 0..repeats {
        let (time, f, m) = prepared.run(input)?;
        times.push(time);
        (fuel, memory_bytes) = (f, m);
    }
    Ok((median(times), fuel, memory_bytes))
}

/// A module compiled once, ready to instantiate.
pub(crate) struct Prepared {
    engine: Engine,
    pre: wasmtime::InstancePre<WasiP1Ctx>,
    host: HostConfig,
}

impl Prepared {
    /// Compiles `wasm` for `kiln run`'s configuration (Kiln's modules and
    /// Javy's alike), metered or not: a figure here is what `kiln run
    /// --stats` shows.
    pub(crate) fn new(wasm: &[u8], metered: bool) -> Result<Self> {
        let host = HostConfig { fuel: metered, ..HostConfig::run() };
        let engine = host.engine()?;
        let module = Module::new(&engine, wasm)?;
        let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx)?;
        let pre = linker.instantiate_pre(&module)?;
        Ok(Prepared { engine, pre, host })
    }

    /// One instantiate + `_start`: its wall time, fuel (0 unless metered)
    /// and final linear memory size. Runs on a thread with the stack `kiln
    /// run` gives (the time starts on it).
    pub(crate) fn run(&self, input: &[u8]) -> Result<(Duration, u64, u64)> {
        kiln_host::on_large_stack("kiln-bench", self.host.thread_stack(), || self.run_here(input))?
    }

    fn run_here(&self, input: &[u8]) -> Result<(Duration, u64, u64)> {
        let mut wasi = wasmtime_wasi::WasiCtxBuilder::new();
        let stdio = Stdio::in_memory(input.to_vec(), 1 << 30);
        let captured = stdio.apply(&mut wasi);
        let mut store = Store::new(&self.engine, wasi.build_p1());
        if self.host.fuel {
            store.set_fuel(u64::MAX)?;
        }
        // Epoch interruption is on in every host configuration: a deadline
        // no run reaches (nothing increments the epoch here).
        store.set_epoch_deadline(u64::MAX);
        let started = Instant::now();
        let instance = self.pre.instantiate(&mut store)?;
        let result = instance.get_typed_func::<(), ()>(&mut store, kiln_abi::exports::START)?.call(&mut store, ());
        let time = started.elapsed();
        if let Err(e) = result {
            match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(exit) if exit.0 == 0 => {}
                _ => bail!("module failed: {e:#}\n{}", String::from_utf8_lossy(&captured.stderr())),
            }
        }
        let fuel = if self.host.fuel { u64::MAX - store.get_fuel()? } else { 0 };
        let memory_bytes = instance.get_memory(&mut store, "memory").map_or(0, |m| m.data_size(&store) as u64);
        Ok((time, fuel, memory_bytes))
    }
}

/// Runs the program on native QuickJS with the same runtime API, from
/// context creation to the last job, `repeats` times.
fn run_native(source: &Source, input: &[u8], repeats: usize) -> Result<Duration> {
    use rquickjs::{Context, Runtime};
    let mut times = Vec::new();
    for _ in 0..repeats {
        let host = kiln_js_runtime::MemoryHost::new(input);
        let started = Instant::now();
        let rt = Runtime::new()?;
        let ctx = Context::full(&rt)?;
        let js = ctx.with(|ctx| kiln_js_runtime::JsRuntime::install(&ctx, host.clone()))?;
        let failed = ctx.with(|ctx| {
            let module = source.kind == SourceKind::Module || source.text.contains("export ");
            let result = if module {
                rquickjs::Module::evaluate(ctx.clone(), source.name.as_str(), source.text.as_str()).map(|_| ())
            } else {
                ctx.eval::<(), _>(source.text.as_str())
            };
            result.err().map(|_| js.describe_uncaught(&ctx, ctx.catch()))
        });
        if let Some(error) = failed {
            bail!("native run failed: {error}");
        }
        js.run_event_loop(&rt, &ctx).map_err(|e| anyhow::anyhow!("native run failed: {e}"))?;
        js.flush()?;
        times.push(started.elapsed());
        drop(js);
    }
    Ok(median(times))
}

pub(crate) fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn print_table(rows: &[Row]) {
    println!(
        "| {:<26} | {:<8} | {:>10} | {:>12} | {:>9} | {:>15} | {:>8} | {:>10} | {:>10} | {:>7} |",
        "program", "mode", "input B", "module B", "build ms", "fuel", "mem MiB", "wasm ms", "native ms", "ratio"
    );
    println!("|{}|", ["---"; 10].join("|"));
    for r in rows {
        println!(
            "| {:<26} | {:<8} | {:>10} | {:>12} | {:>9.0} | {:>15} | {:>8.1} | {:>10.2} | {:>10} | {:>7} |",
            r.name,
            r.mode,
            r.input_bytes,
            r.module_bytes,
            r.build_ms,
            r.fuel,
            r.memory_bytes as f64 / (1024.0 * 1024.0),
            r.wasm_ms,
            r.native_ms.map_or("-".to_string(), |n| format!("{n:.2}")),
            r.ratio.map_or("-".to_string(), |x| format!("{x:.2}x")),
        );
    }
}
