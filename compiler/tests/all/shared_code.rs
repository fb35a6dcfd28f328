//! `kiln run`'s cache keys compiled code by a module's canonical form (no
//! data, memory minimum 0; see `kiln_host::Split`): modules that differ only
//! in their data share one compiled artifact, and each still runs exactly
//! as itself (output, fuel, peak memory, limits, traps).

use crate::util::{build, kiln, run_with_stdin};
use std::path::Path;

/// The compiled modules `kiln run` left in a cache directory, canonical
/// forms first: (canonical, whole).
fn run_entries(cache: &Path) -> (Vec<String>, Vec<String>) {
    let names: Vec<String> = std::fs::read_dir(cache).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let runs = names.into_iter().filter(|n| n.starts_with("run-") && n.ends_with(".cwasm"));
    runs.partition(|n| n.contains("-canonical-"))
}

/// What a run showed, with the timings of `--stats` left out.
#[derive(Debug, PartialEq, Eq)]
struct Shown {
    status: Option<i32>,
    stdout: String,
    stderr: String,
    fuel: String,
}

fn run(dir: &Path, wasm: &Path, cache: Option<&Path>, flags: &[&str], stdin: &[u8]) -> Shown {
    let mut cmd = kiln(dir);
    cmd.args(["run", "--stats"]).args(flags);
    match cache {
        Some(cache) => cmd.env("KILN_CACHE_DIR", cache),
        None => cmd.arg("--no-cache"),
    };
    let output = run_with_stdin(cmd.arg(wasm), stdin);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let (stats, rest): (Vec<&str>, Vec<&str>) = stderr.lines().partition(|l| l.starts_with("kiln run: fuel "));
    let fuel = stats.first().map(|l| l.split(" | ").next().unwrap_or_default().to_string()).unwrap_or_default();
    Shown { status: output.status.code(), stdout: String::from_utf8_lossy(&output.stdout).into_owned(), stderr: rest.join("\n"), fuel }
}

#[test]
fn modules_differing_in_data_share_compiled_code_and_run_as_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    // Programs whose output depends on their data (string constants,
    // bytecode), the second with a larger memory.
    let big = "abcdefghij".repeat(20_000);
    let programs = [
        ("a.js", "const words = ['alpha', 'beta'];\nconsole.log(words.join('+'), JSON.stringify({ n: words.length }));\n".to_string()),
        ("b.js", format!("const text = '{big}';\nlet sum = 0;\nfor (const c of text) sum += c.charCodeAt(0);\nconsole.log(text.length, sum, Kiln.stdin.text());\n")),
    ];
    let limits = dir.path().join("limits.txt");
    std::fs::write(&limits, "name = test\ninstructions = 1000000000\nmemory = 64MiB\n").unwrap();
    let limits = limits.to_string_lossy().into_owned();
    let mut sizes = Vec::new();
    for (file, source) in &programs {
        std::fs::write(dir.path().join(file), source).unwrap();
        let wasm = build(dir.path(), file, &file.replace(".js", ".wasm"));
        sizes.push(std::fs::metadata(&wasm).unwrap().len());
        for flags in [&["--limits", limits.as_str()][..], &["--fuel", "10000"], &[]] {
            let expected = run(dir.path(), &wasm, None, flags, b"in");
            assert_eq!(expected.status, Some(if flags.first() == Some(&"--fuel") { 125 } else { 0 }), "{file} {flags:?}: {expected:?}");
            // The first run compiles or finds the shared code, the second
            // finds it.
            for _ in 0..2 {
                assert_eq!(run(dir.path(), &wasm, Some(cache.path()), flags, b"in"), expected, "{file} {flags:?}");
            }
        }
    }
    assert_ne!(sizes[0], sizes[1]);
    let (canonical, whole) = run_entries(cache.path());
    assert_eq!(canonical.len(), 1, "one compiled artifact for both modules: {canonical:?}");
    assert!(whole.is_empty(), "{whole:?}");
}

#[test]
fn a_memory_limit_below_the_modules_minimum_fails_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.js"), "console.log('hello');\n").unwrap();
    let wasm = build(dir.path(), "hello.js", "hello.wasm");
    let expected = run(dir.path(), &wasm, None, &["--max-memory", "1M"], b"");
    assert_eq!(expected.status, Some(2), "{expected:?}");
    assert!(expected.stderr.contains("memory minimum size"), "{expected:?}");
    assert_eq!(run(dir.path(), &wasm, Some(cache.path()), &["--max-memory", "1M"], b""), expected);
}

/// A WASI command that traps if, and only if, the i32 at address 16 is
/// `trap_on` (its data segment puts `value` there), in a memory of `pages`.
fn trapping_module(pages: u64, value: i32, trap_on: i32) -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, MemArg, MemorySection, MemoryType, Module,
        TypeSection,
    };
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut functions = FunctionSection::new();
    functions.function(0);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType { minimum: pages, maximum: None, memory64: false, shared: false, page_size_log2: None });
    let mut exports = ExportSection::new();
    exports.export("_start", ExportKind::Func, 0).export("memory", ExportKind::Memory, 0);
    let mut start = Function::new([]);
    for instruction in [
        Instruction::I32Const(16),
        Instruction::I32Load(MemArg { offset: 0, align: 2, memory_index: 0 }),
        Instruction::I32Const(trap_on),
        Instruction::I32Eq,
        Instruction::If(wasm_encoder::BlockType::Empty),
        Instruction::Unreachable,
        Instruction::End,
        Instruction::End,
    ] {
        start.instruction(&instruction);
    }
    let mut code = CodeSection::new();
    code.function(&start);
    let mut data = DataSection::new();
    data.active(0, &ConstExpr::i32_const(16), value.to_le_bytes());
    let mut module = Module::new();
    module.section(&types).section(&functions).section(&memories).section(&exports).section(&code).section(&data);
    module.finish()
}

/// What a run did, timings aside.
fn outcome(wasm: &[u8], cache: Option<&Path>, max_memory: Option<usize>) -> Result<(kiln::Outcome, u64, u64), String> {
    let options = kiln::RunOptions { cache: cache.map(kiln::ModuleCache::new), max_memory, ..Default::default() };
    kiln::run_module("t.wasm", wasm, &options).map(|r| (r.outcome, r.fuel_consumed, r.peak_memory)).map_err(|e| e.to_string())
}

#[test]
fn shared_code_traps_with_the_real_modules_backtrace_fuel_and_memory() {
    let cache = tempfile::tempdir().unwrap();
    // 200 pages: the minimum takes two LEB128 bytes.
    for (pages, value) in [(1, 42), (200, 42), (2, 7)] {
        let wasm = trapping_module(pages, value, 42);
        let expected = outcome(&wasm, None, None);
        let (ref outcome_expected, _, peak) = *expected.as_ref().unwrap();
        assert_eq!(peak, pages << 16);
        assert_eq!(matches!(outcome_expected, kiln::Outcome::Trapped(_)), value == 42, "{expected:?}");
        for _ in 0..2 {
            assert_eq!(outcome(&wasm, Some(cache.path()), None), expected, "{pages} pages");
        }
        // A limit below the minimum refuses the instance, as before.
        let refused = outcome(&wasm, None, Some(pages as usize * 65536 - 1));
        assert!(refused.is_err(), "{refused:?}");
        assert_eq!(outcome(&wasm, Some(cache.path()), Some(pages as usize * 65536 - 1)), refused);
    }
    // 1 and 2 pages share a canonical form, 200 pages (a wider minimum)
    // has its own; the runs whose limit refused the minimum compiled each
    // module whole.
    let (canonical, whole) = run_entries(cache.path());
    assert_eq!(canonical.len(), 2, "{canonical:?}");
    assert_eq!(whole.len(), 3, "{whole:?}");
}
