//! What an output module looks like from the outside.

use crate::util::{build, build_program, run_both, run_node, run_wasmtime};

fn exports(wasm: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ExportSection(section) = payload.unwrap() {
            for export in section {
                names.push(export.unwrap().name.to_string());
            }
        }
    }
    names
}

fn imports(wasm: &[u8]) -> Vec<(String, String)> {
    let mut list = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ImportSection(section) = payload.unwrap() {
            for import in section.into_imports() {
                let import = import.unwrap();
                list.push((import.module.to_string(), import.name.to_string()));
            }
        }
    }
    list
}

fn custom_sections(wasm: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut list = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::CustomSection(section) = payload.unwrap() {
            list.push((section.name().to_string(), section.data().to_vec()));
        }
    }
    list
}

#[test]
fn exports_only_memory_and_start_and_imports_only_wasi() {
    let (_dir, wasm) = build_program("app.js", "console.log('x')");
    let wasm = std::fs::read(wasm).unwrap();
    let mut names = exports(&wasm);
    names.sort();
    assert_eq!(names, ["_start", "memory"]);
    for (module, name) in imports(&wasm) {
        assert_eq!(module, "wasi_snapshot_preview1", "unexpected import {module}.{name}");
    }
}

#[test]
fn carries_a_kiln_producers_entry_and_no_names() {
    let (_dir, wasm) = build_program("app.js", "console.log('x')");
    let sections = custom_sections(&std::fs::read(wasm).unwrap());
    let mut names: Vec<_> = sections.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    // `kiln.host-stack`: where `kiln run` tells the module its stack size.
    assert_eq!(names, ["kiln.host-stack", "producers"]);
    let (_, data) = sections.iter().find(|(n, _)| n == "producers").unwrap();
    assert!(data.windows(4).any(|w| w == b"kiln"), "producers section names kiln");
    let (_, cell) = sections.iter().find(|(n, _)| n == "kiln.host-stack").unwrap();
    assert_eq!(cell.len(), 4, "a u32 address");
}

#[test]
fn identical_input_builds_byte_identical_modules() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), "const t = Date.now(); console.log(Math.random() < 2, t > 0)").unwrap();
    let a = std::fs::read(build(dir.path(), "app.js", "a.wasm")).unwrap();
    let b = std::fs::read(build(dir.path(), "app.js", "b.wasm")).unwrap();
    assert!(a == b, "two builds of the same program differ");
}

/// In function mode the top level runs inside the snapshot; it sees the
/// sealed context's fixed clock and fixed randomness, so what it computes
/// from them is the same in every build.
#[test]
fn builds_are_identical_even_when_the_top_level_reads_clock_and_random() {
    let dir = tempfile::tempdir().unwrap();
    let source = "export const stamp = [Date.now(), performance.now(), Math.random(), crypto.randomUUID()];\nexport function run() { return stamp; }\n";
    std::fs::write(dir.path().join("fn.js"), source).unwrap();
    let mut builds = Vec::new();
    for out in ["a.wasm", "b.wasm"] {
        let output = crate::util::run_with_stdin(crate::util::kiln(dir.path()).args(["build", "-q", "fn.js", "--invoke", "run", "-o", out]), b"");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        builds.push(std::fs::read(dir.path().join(out)).unwrap());
    }
    assert!(builds[0] == builds[1], "two builds of the same program differ");
    // The build-time clock is 2000-01-01, not the time of the build.
    let run = run_both(dir.path(), &dir.path().join("a.wasm"), b"null");
    assert!(run.stdout.starts_with("[946684800000,"), "{}", run.stdout);
}

#[test]
fn math_random_differs_between_runs() {
    let (dir, wasm) = build_program("rand.js", "console.log(Math.random(), Math.random())");
    let runs = [
        run_wasmtime(dir.path(), &wasm, b"").stdout,
        run_wasmtime(dir.path(), &wasm, b"").stdout,
        run_node(dir.path(), &wasm, b"").stdout,
    ];
    for run in &runs {
        let numbers: Vec<f64> = run.split_whitespace().map(|n| n.parse().unwrap()).collect();
        assert!(numbers.len() == 2 && numbers.iter().all(|n| (0.0..1.0).contains(n)), "{run}");
    }
    assert!(runs[0] != runs[1] && runs[1] != runs[2] && runs[0] != runs[2], "runs drew the same numbers: {runs:?}");
}

#[test]
fn the_clock_is_read_at_run_time_not_build_time() {
    // The build runs under a clock fixed at 2000-01-01; a module must see
    // the real time.
    let (dir, wasm) = build_program("now.js", "console.log(new Date().getFullYear() > 2000)");
    assert_eq!(run_both(dir.path(), &wasm, b"").stdout, "true\n");
}

/// The program is parsed and compiled at build time: a run's cost does not
/// grow with the amount of source it never executes. (Parsing 1 MB of
/// JavaScript at run time would cost far more than the whole small run.)
#[test]
fn the_parser_does_not_run_at_invocation_time() {
    fn fuel(dir: &std::path::Path, wasm: &std::path::Path) -> u64 {
        let output = crate::util::run_with_stdin(crate::util::kiln(dir).args(["run", "--stats"]).arg(wasm), b"");
        assert!(output.status.success());
        crate::util::fuel_from_stats(&String::from_utf8_lossy(&output.stderr))
    }
    let small = "console.log('ok');\n";
    let mut large = String::from("function neverCalled() {\n");
    for i in 0..10_000 {
        large.push_str(&format!("  function helper{i}(a, b) {{ const t = [a, b, {i}]; return t.map((x) => x * 2).reduce((s, x) => s + x, 0); }}\n"));
    }
    large.push_str("}\n");
    large.push_str(small);
    assert!(large.len() > 1_000_000);
    let (dir_small, wasm_small) = build_program("small.js", small);
    let (dir_large, wasm_large) = build_program("large.js", &large);
    let (a, b) = (fuel(dir_small.path(), &wasm_small), fuel(dir_large.path(), &wasm_large));
    assert!(b < a * 2, "a run of the 1 MB program cost {b} fuel against {a} for the small one");
}
