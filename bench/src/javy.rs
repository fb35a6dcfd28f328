//! Side by side with Javy 9: the modules `javy build` made from the programs
//! in `<peers>/javy-9.0.0/programs` (see its README), and Kiln's builds of
//! the same programs, run in this process on the same wasmtime, one after
//! the other: fuel per run and the median wall time of instantiate + run.
//! The directory is `$KILN_JAVY_DIR`, else `../shared/peers/javy-9.0.0`
//! beside the workspace; without it the table is skipped.

use anyhow::{Context, Result};
use kiln::{Compiler, FunctionMode, IoMode, ModuleCache, Source};
use std::path::{Path, PathBuf};

/// One program: Javy's module, the program Kiln builds, the input.
struct Pair {
    name: &'static str,
    javy: &'static str,
    /// Kiln's module is built from this program (in Javy's `programs/`
    /// unless it starts with `bench/`).
    program: &'static str,
    invoke: Option<&'static str>,
    input: Option<&'static str>,
}

const PAIRS: &[Pair] = &[
    Pair { name: "empty", javy: "empty.wasm", program: "empty.js", invoke: None, input: None },
    Pair { name: "hello", javy: "hello.wasm", program: "hello.js", invoke: None, input: None },
    Pair { name: "identity 1 KB", javy: "identity-io.wasm", program: "identity-io.js", invoke: None, input: Some("cart-1k.json") },
    Pair { name: "identity 10 KB", javy: "identity-io.wasm", program: "identity-io.js", invoke: None, input: Some("cart-10k.json") },
    Pair { name: "identity 100 KB", javy: "identity-io.wasm", program: "identity-io.js", invoke: None, input: Some("cart-100k.json") },
    Pair {
        name: "identity 1 KB, Kiln fn",
        javy: "identity-io.wasm",
        program: "bench/programs/json-identity-fn.mjs",
        invoke: Some("run"),
        input: Some("cart-1k.json"),
    },
    Pair {
        name: "identity 10 KB, Kiln fn",
        javy: "identity-io.wasm",
        program: "bench/programs/json-identity-fn.mjs",
        invoke: Some("run"),
        input: Some("cart-10k.json"),
    },
    Pair {
        name: "identity 100 KB, Kiln fn",
        javy: "identity-io.wasm",
        program: "bench/programs/json-identity-fn.mjs",
        invoke: Some("run"),
        input: Some("cart-100k.json"),
    },
    Pair {
        name: "identity 100 KB, Kiln script",
        javy: "identity-io.wasm",
        program: "bench/programs/json-identity.js",
        invoke: None,
        input: Some("cart-100k.json"),
    },
    Pair {
        name: "identity 100 KB, Kiln text",
        javy: "identity-io.wasm",
        program: "bench/programs/json-identity-text.js",
        invoke: None,
        input: Some("cart-100k.json"),
    },
    Pair { name: "text-io 100 KB", javy: "text-io.wasm", program: "text-io.js", invoke: None, input: Some("cart-100k.json") },
    Pair { name: "parse-io 100 KB", javy: "parse-io.wasm", program: "parse-io.js", invoke: None, input: Some("cart-100k.json") },
    Pair { name: "discount", javy: "discount.wasm", program: "discount.js", invoke: None, input: Some("discount.in") },
    Pair { name: "sieve 2,000,000", javy: "sieve.wasm", program: "sieve.js", invoke: None, input: None },
    Pair { name: "richards-lite", javy: "richards-lite.wasm", program: "richards-lite.js", invoke: None, input: None },
    Pair { name: "string builder", javy: "string-builder.wasm", program: "string-builder.js", invoke: None, input: None },
];

#[derive(serde::Serialize)]
struct Row {
    name: &'static str,
    input_bytes: usize,
    javy_fuel: u64,
    kiln_fuel: u64,
    javy_ms: f64,
    kiln_ms: f64,
}

fn peers_dir(workspace: &Path) -> Option<PathBuf> {
    let dir = std::env::var_os("KILN_JAVY_DIR").map(PathBuf::from).unwrap_or_else(|| workspace.join("../shared/peers/javy-9.0.0"));
    dir.join("README.md").is_file().then_some(dir)
}

/// Measures every pair and prints the table (and writes it as JSON next to
/// the main one).
pub(crate) fn side_by_side(workspace: &Path, repeats: usize) -> Result<()> {
    let Some(dir) = peers_dir(workspace) else {
        eprintln!("[kiln-bench] no Javy modules (set KILN_JAVY_DIR to javy-9.0.0/): side-by-side table skipped");
        return Ok(());
    };
    let mut rows = Vec::new();
    for pair in PAIRS {
        eprintln!("[kiln-bench] side by side: {}", pair.name);
        rows.push(measure(workspace, &dir, pair, repeats).with_context(|| format!("side by side {}", pair.name))?);
    }
    print(&rows);
    let out = workspace.join("target/bench/javy.json");
    std::fs::create_dir_all(out.parent().expect("has a parent"))?;
    std::fs::write(&out, serde_json::to_string_pretty(&rows)?).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

fn measure(workspace: &Path, dir: &Path, pair: &Pair, repeats: usize) -> Result<Row> {
    let javy = std::fs::read(dir.join(pair.javy)).with_context(|| format!("reading {}", pair.javy))?;
    let program = match pair.program.strip_prefix("bench/") {
        Some(_) => workspace.join(pair.program),
        None => dir.join("programs").join(pair.program),
    };
    let input = match pair.input {
        Some(file) => std::fs::read(dir.join("inputs").join(file)).with_context(|| format!("reading input {file}"))?,
        None => Vec::new(),
    };
    let mut compiler = Compiler::new()?;
    compiler.cache(ModuleCache::new(workspace.join("target/bench/cache")));
    if let Some(name) = pair.invoke {
        compiler.function_mode(FunctionMode { invoke: vec![name.to_string()], io: IoMode::Json })?;
    }
    let kiln = compiler.compile(&Source::from_path(&program)?)?.wasm;

    let (_, javy_fuel, _) = crate::Prepared::new(&javy, true)?.run(&input)?;
    let (_, kiln_fuel, _) = crate::Prepared::new(&kiln, true)?.run(&input)?;
    // Interleaved, so that a slow moment of the machine hits both.
    let (javy, kiln) = (crate::Prepared::new(&javy, false)?, crate::Prepared::new(&kiln, false)?);
    let (mut javy_times, mut kiln_times) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        javy_times.push(javy.run(&input)?.0);
        kiln_times.push(kiln.run(&input)?.0);
    }
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    Ok(Row {
        name: pair.name,
        input_bytes: input.len(),
        javy_fuel,
        kiln_fuel,
        javy_ms: ms(crate::median(javy_times)),
        kiln_ms: ms(crate::median(kiln_times)),
    })
}

fn print(rows: &[Row]) {
    println!();
    println!(
        "| {:<28} | {:>8} | {:>14} | {:>14} | {:>11} | {:>10} | {:>10} | {:>11} |",
        "program (same JS)", "input B", "Javy 9 fuel", "Kiln fuel", "Kiln/Javy", "Javy ms", "Kiln ms", "Kiln/Javy"
    );
    println!("|{}|", ["---"; 8].join("|"));
    for r in rows {
        println!(
            "| {:<28} | {:>8} | {:>14} | {:>14} | {:>10.3}x | {:>10.2} | {:>10.2} | {:>10.2}x |",
            r.name,
            r.input_bytes,
            r.javy_fuel,
            r.kiln_fuel,
            r.kiln_fuel as f64 / r.javy_fuel.max(1) as f64,
            r.javy_ms,
            r.kiln_ms,
            r.kiln_ms / r.javy_ms.max(1e-9),
        );
    }
}
