//! Shopify-style deployment: `@shopify/shopify_function` v2's API, wasm
//! export names that are no JS identifier, and `kiln run --limits`.

use crate::util::{Run, kiln, node_entry, run_with_stdin, workspace};
use std::path::{Path, PathBuf};

/// The Shopify example's targets: (JS export, wasm export, expected file).
const TARGETS: [(&str, &str, &str); 2] = [
    ("cartLinesDiscountsGenerateRun", "cart-lines-discounts-generate-run", "expected.out"),
    ("cartDeliveryOptionsDiscountsGenerateRun", "cart-delivery-options-discounts-generate-run", "expected-delivery.out"),
];

fn example() -> PathBuf {
    workspace().join("examples/shopify-dynamic")
}

fn exports(wasm: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ExportSection(section) = payload.unwrap() {
            names.extend(section.into_iter().map(|e| e.unwrap().name.to_string()));
        }
    }
    names
}

/// Builds the example with `flags` into `out`.
fn build_example(out: &Path, flags: &[&str]) -> PathBuf {
    let wasm = out.join("function.wasm");
    let mut args = vec!["build".to_string(), "-q".into(), "index.js".into(), "-o".into(), wasm.display().to_string()];
    for (js, export, _) in TARGETS {
        args.push("--invoke".into());
        args.push(format!("{js}={export}"));
    }
    args.extend(flags.iter().map(|f| f.to_string()));
    let output = run_with_stdin(kiln(&example()).args(&args), b"");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    wasm
}

/// `@shopify/shopify_function`'s run.ts, unchanged, under the export names
/// Shopify's `shopify.extension.toml` expects, on both hosts. The expected
/// outputs come from Node (`examples/shopify-dynamic/node/shim.mjs`).
#[test]
fn shopify_function_v2_targets_run_under_their_wasm_export_names() {
    let out = tempfile::tempdir().unwrap();
    let wasm = build_example(out.path(), &[]);
    let mut names = exports(&std::fs::read(&wasm).unwrap());
    names.sort();
    assert_eq!(names, ["_start", "cart-delivery-options-discounts-generate-run", "cart-lines-discounts-generate-run", "memory"]);
    let input = std::fs::read(example().join("input.json")).unwrap();
    for (_, export, expected) in TARGETS {
        let expected = std::fs::read_to_string(example().join(expected)).unwrap();
        let wasmtime = Run::from(run_with_stdin(kiln(out.path()).args(["run", "--invoke", export]).arg(&wasm), &input));
        let node = Run::from(run_with_stdin(&mut node_entry(out.path(), &wasm, export), &input));
        assert_eq!(wasmtime, node, "wasmtime (left) and node:wasi (right) disagree on {export}");
        assert_eq!((wasmtime.status, wasmtime.stdout.as_str(), wasmtime.stderr.as_str()), (Some(0), expected.as_str(), ""), "{export}");
    }
}

/// A function-mode export may return its result or give it to
/// `ShopifyFunction.writeOutput`; `readInput` is the invocation's input in
/// every I/O mode.
#[test]
fn shopify_function_input_and_output_are_the_invocations() {
    let dir = tempfile::tempdir().unwrap();
    let source = "export function written(input) { ShopifyFunction.writeOutput({ got: ShopifyFunction.readInput(), same: input === ShopifyFunction.readInput() }); }\n\
                  export async function later() { await null; ShopifyFunction.writeOutput([ShopifyFunction.readInput().n]); }\n\
                  export function shout() { ShopifyFunction.writeOutput(ShopifyFunction.readInput().toUpperCase()); }\n\
                  export function nothing() {}\n";
    std::fs::write(dir.path().join("fn.js"), source).unwrap();
    let build = |io: &str, invoke: &[&str]| {
        let mut cmd = kiln(dir.path());
        cmd.args(["build", "-q", "fn.js", "-o", &format!("{io}.wasm"), "--io", io]);
        for name in invoke {
            cmd.args(["--invoke", name]);
        }
        let output = run_with_stdin(&mut cmd, b"");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        dir.path().join(format!("{io}.wasm"))
    };
    let invoke = |wasm: &Path, name: &str, stdin: &[u8]| {
        let wasmtime = Run::from(run_with_stdin(kiln(dir.path()).args(["run", "--invoke", name]).arg(wasm), stdin));
        let node = Run::from(run_with_stdin(&mut node_entry(dir.path(), wasm, name), stdin));
        assert_eq!(wasmtime, node, "wasmtime (left) and node:wasi (right) disagree on {name}");
        wasmtime
    };
    let json = build("json", &["written", "later", "nothing"]);
    assert_eq!(invoke(&json, "written", br#"{"n":1}"#).stdout, "{\"got\":{\"n\":1},\"same\":true}\n");
    assert_eq!(invoke(&json, "later", br#"{"n":7}"#).stdout, "[7]\n");
    // Neither returned nor written: the error says what was expected.
    let nothing = invoke(&json, "nothing", b"{}");
    assert_eq!(nothing.status, Some(1));
    assert!(nothing.stderr.contains("returned undefined, expected a JSON-serialisable value"), "{}", nothing.stderr);
    let text = build("text", &["shout"]);
    assert_eq!(invoke(&text, "shout", b"hi").stdout, "HI");
}

#[test]
fn invoke_names_a_wasm_export_that_is_no_js_identifier_and_checks_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fn.js"), "export function run(i) { return i; }\n").unwrap();
    let build = |spec: &str| run_with_stdin(kiln(dir.path()).args(["build", "-q", "fn.js", "-o", "fn.wasm", "--invoke", spec]), b"");
    for (spec, message) in [("run=_start", "already exports"), ("run=", "not a usable wasm export name"), ("nope=x-y", "no export named `nope`")] {
        let output = build(spec);
        assert_eq!(output.status.code(), Some(2), "{spec}");
        assert!(String::from_utf8_lossy(&output.stderr).contains(message), "{spec}: {}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(build("run=run-it").status.success());
    let run = Run::from(run_with_stdin(kiln(dir.path()).args(["run", "--invoke", "run-it", "fn.wasm"]), b"[1]"));
    assert_eq!(run.stdout, "[1]\n");
}

/// Shopify's limits, but with room for a static module (1.1 MB): what
/// `--limits FILE` is for. (`--limits shopify` itself is checked on dynamic
/// modules in `dynamic.rs`, the only ones that fit its 256 kB.)
const STATIC_SHOPIFY: &str = "# Shopify's limits, module size aside\nname = shopify-static\ninstructions = 11,000,000\nmodule = 2MB\nmemory = 10MB\ninput = 128kB\noutput = 20kB\nlogs = 1kB\n";

/// Runs `program` under `--limits`; returns the run.
fn run_limited(dir: &Path, program: &str, limits: &str, stdin: &[u8]) -> Run {
    std::fs::write(dir.join("app.js"), program).unwrap();
    let output = run_with_stdin(kiln(dir).args(["build", "-q", "app.js", "-o", "app.wasm"]), b"");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    Run::from(run_with_stdin(kiln(dir).args(["run", "--limits", limits, "app.wasm"]), stdin))
}

/// The limits table's verdict: its last line.
fn verdict(run: &Run) -> &str {
    run.stderr.lines().last().unwrap_or_default()
}

#[test]
fn limits_report_a_function_over_each_limit_and_one_within_all() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("static.limits"), STATIC_SHOPIFY).unwrap();
    let small = br#"{"cart":{"lines":[1,2,3]}}"#;
    let within = run_limited(dir.path(), "const input = Kiln.stdin.json(); console.log(JSON.stringify({ n: input.cart.lines.length }));\n", "static.limits", small);
    assert_eq!((within.status, within.stdout.as_str()), (Some(0), "{\"n\":3}\n"), "{}", within.stderr);
    assert_eq!(verdict(&within), "within all limits", "{}", within.stderr);
    assert!(within.stderr.starts_with("limits: shopify-static\n"), "{}", within.stderr);
    // Every measure is in the table, with the input's and output's sizes.
    let row = |run: &Run, key: &str| run.stderr.lines().find(|l| l.trim_start().starts_with(key)).map(str::to_string).unwrap_or_default();
    assert!(row(&within, "input").contains(&format!("{} B / 128,000 B", small.len())), "{}", within.stderr);
    assert!(row(&within, "output").contains("8 B / 20,000 B"), "{}", within.stderr);
    for key in ["instructions", "module", "memory", "logs"] {
        assert!(!row(&within, key).is_empty(), "no {key} row: {}", within.stderr);
    }

    let big_input = vec![b' '; 200_000];
    let cases: [(&str, &str, &[u8]); 5] = [
        ("instructions", "let x = 0; for (let i = 0; i < 2e6; i++) x += i; console.log(x);\n", b""),
        ("memory", "const big = new Uint8Array(6e6); big[1] = 1; console.log(big.length);\n", b""),
        ("input", "console.log(Kiln.stdin.bytes().length);\n", &big_input),
        ("output", "Kiln.stdout.write('x'.repeat(30000));\n", b""),
        ("logs", "console.error('e'.repeat(2000));\n", b""),
    ];
    for (measure, program, stdin) in cases {
        let run = run_limited(dir.path(), program, "static.limits", stdin);
        assert_eq!(run.status, Some(122), "{measure}: {}", run.stderr);
        assert_eq!(verdict(&run), format!("exceeded: {measure}"), "{}", run.stderr);
        assert!(row(&run, measure).ends_with("EXCEEDED"), "{}", run.stderr);
    }
    // The output still reaches stdout.
    assert_eq!(run_limited(dir.path(), "Kiln.stdout.write('x'.repeat(30000));\n", "static.limits", b"").stdout.len(), 30000);
    // A static module is over Shopify's own 256 kB (the dynamic one is not).
    let static_module = run_limited(dir.path(), "console.log(1);\n", "shopify", b"");
    assert_eq!((static_module.status, verdict(&static_module)), (Some(122), "exceeded: module"), "{}", static_module.stderr);
    // A module that fails keeps its own status.
    let failed = run_limited(dir.path(), "console.error('e'.repeat(2000)); throw new Error('boom');\n", "static.limits", b"");
    assert_eq!((failed.status, verdict(&failed)), (Some(1), "exceeded: logs"), "{}", failed.stderr);
}

#[test]
fn a_bad_limits_file_is_a_usage_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.limits"), "instructions = 10\nspeed = fast\n").unwrap();
    let run = run_limited(dir.path(), "console.log(1)", "bad.limits", b"");
    assert_eq!(run.status, Some(2));
    assert!(run.stderr.contains("bad.limits: line 2: unknown limit `speed`"), "{}", run.stderr);
    let missing = run_limited(dir.path(), "console.log(1)", "missing.limits", b"");
    assert_eq!(missing.status, Some(2));
    assert!(missing.stderr.contains("missing.limits"), "{}", missing.stderr);
}
