//! Function mode: `--invoke` exports called with stdin, on both hosts.

use crate::util::{Run, kiln, node_entry, run_with_stdin};
use std::path::{Path, PathBuf};
use std::process::Output;

const MODULE: &str = r#"
const RATES = new Map([["tea", 3], ["cup", 10]]);   // built once, at build time
console.log("top level ran");                        // goes to the build's stderr
let calls = 0;
export function total(input) {
  calls++;
  console.log("called");                             // stderr: stdout is for the result
  return { total: input.items.reduce((s, i) => s + (RATES.get(i) ?? 0), 0), calls };
}
export async function later(input) { await null; return [input.n, "later"]; }
export function boom() { console.log("about to fail"); throw new TypeError("bad input"); }
export default function (input) { return { default: input }; }
export const notAFunction = 3;
export function upper(text) { return text.toUpperCase(); }
export function reverse(bytes) { return bytes.slice().reverse(); }
export function double(x) { return { n: x.n * 2, tag: x.pad.slice(0, 1) }; }
export function count(text) { return String(++calls); }
export function lone(text) { return "<\ud83d" + text + ">"; }   // half an emoji
"#;

fn build_with(dir: &Path, args: &[&str]) -> Output {
    std::fs::write(dir.join("fn.js"), MODULE).unwrap();
    run_with_stdin(kiln(dir).args(["build", "fn.js", "-o", "fn.wasm"]).args(args), b"")
}

fn build_ok(args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let output = build_with(dir.path(), args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let wasm = dir.path().join("fn.wasm");
    (dir, wasm)
}

/// Calls export `name` on both hosts and checks they agree.
fn invoke(dir: &Path, wasm: &Path, name: &str, stdin: &[u8]) -> Run {
    let wasmtime = Run::from(run_with_stdin(kiln(dir).args(["run", "--invoke", name]).arg(wasm), stdin));
    let node = Run::from(run_with_stdin(&mut node_entry(dir, wasm, name), stdin));
    assert_eq!(wasmtime, node, "wasmtime (left) and node:wasi (right) disagree");
    wasmtime
}

#[test]
fn every_invoked_export_becomes_a_wasm_export_taking_json() {
    let (dir, wasm) = build_ok(&["--invoke", "total", "--invoke", "later", "--invoke", "default"]);
    let run = invoke(dir.path(), &wasm, "total", br#"{"items":["tea","cup","tea"]}"#);
    assert_eq!((run.status, run.stdout.as_str(), run.stderr.as_str()), (Some(0), "{\"total\":16,\"calls\":1}\n", "called\n"));
    // A returned promise is awaited.
    assert_eq!(invoke(dir.path(), &wasm, "later", br#"{"n":7}"#).stdout, "[7,\"later\"]\n");
    assert_eq!(invoke(dir.path(), &wasm, "default", b"[1]").stdout, "{\"default\":[1]}\n");
    // `_start` runs the first invoked function, so any WASI host can run it.
    let start = invoke(dir.path(), &wasm, "_start", br#"{"items":["cup"]}"#);
    assert_eq!(start.stdout, "{\"total\":10,\"calls\":1}\n");
}

#[test]
fn top_level_runs_at_build_time_only() {
    let dir = tempfile::tempdir().unwrap();
    let output = build_with(dir.path(), &["--invoke", "total"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("top level ran"));
    let run = invoke(dir.path(), &dir.path().join("fn.wasm"), "total", br#"{"items":[]}"#);
    assert!(!run.stderr.contains("top level ran"), "{}", run.stderr);
}

#[test]
fn text_and_bytes_modes() {
    let (dir, wasm) = build_ok(&["--invoke", "upper", "--io", "text"]);
    assert_eq!(invoke(dir.path(), &wasm, "upper", "héllo\n".as_bytes()).stdout, "HÉLLO\n");
    // A lone surrogate cannot be UTF-8: written as U+FFFD, as Node does.
    let (dir, wasm) = build_ok(&["--invoke", "lone", "--io", "text"]);
    assert_eq!(invoke(dir.path(), &wasm, "lone", b"x").stdout, "<\u{FFFD}x>");
    let (dir, wasm) = build_ok(&["--invoke", "reverse", "--io", "bytes"]);
    for mut host in [kiln(dir.path()), node_entry(dir.path(), &wasm, "reverse")] {
        if host.get_program() != "node" {
            host.arg("run").arg(&wasm);
        }
        let run = run_with_stdin(&mut host, &[0, 1, 2, 255]);
        assert_eq!(run.stdout, [255, 2, 1, 0], "{:?}", host.get_program());
    }
}

#[test]
fn wrong_result_type_is_a_type_error() {
    let (dir, wasm) = build_ok(&["--invoke", "total", "--io", "text"]);
    let run = invoke(dir.path(), &wasm, "total", b"x");
    assert_eq!(run.status, Some(1));
    assert!(run.stderr.contains("TypeError"), "{}", run.stderr);
}

#[test]
fn ndjson_streams_far_more_than_the_memory_limit() {
    let (dir, wasm) = build_ok(&["--invoke", "double", "--io", "ndjson"]);
    // 64 MiB of input through a module limited to 16 MiB of memory.
    let pad = "x".repeat(16 * 1024);
    let lines = 4096;
    let mut input = String::new();
    for n in 0..lines {
        input.push_str(&format!("{{\"n\":{n},\"pad\":\"{pad}\"}}\n"));
    }
    let output = run_with_stdin(kiln(dir.path()).args(["run", "--max-memory", "16M"]).arg(&wasm), input.as_bytes());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let out = String::from_utf8(output.stdout).unwrap();
    assert_eq!(out.lines().count(), lines);
    assert_eq!(out.lines().last(), Some(&*format!("{{\"n\":{},\"tag\":\"x\"}}", (lines - 1) * 2)));
    // The same stream kept in memory does not fit: the limit is real.
    std::fs::write(dir.path().join("keep.js"), "const kept = []; export function keep(x) { kept.push(x); return 1 }").unwrap();
    let built = run_with_stdin(kiln(dir.path()).args(["build", "-q", "keep.js", "--invoke", "keep", "--io", "ndjson"]), b"");
    assert!(built.status.success());
    let output = run_with_stdin(kiln(dir.path()).args(["run", "--max-memory", "16M", "keep.wasm"]), input.as_bytes());
    // The function's uncaught out-of-memory error, then kiln's line naming
    // the limit, with its own status.
    assert_eq!(output.status.code(), Some(137));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("out of memory"), "{stderr}");
    assert!(stderr.trim_end().ends_with("after reaching its memory limit (--max-memory 16M)"), "{stderr}");
}

#[test]
fn ndjson_on_both_hosts_writes_one_line_per_record() {
    let (dir, wasm) = build_ok(&["--invoke", "double", "--io", "ndjson"]);
    let run = invoke(dir.path(), &wasm, "double", b"{\"n\":1,\"pad\":\"a\"}\n\n{\"n\":2,\"pad\":\"b\"}\r\n{\"n\":3,\"pad\":\"c\"}");
    assert_eq!(run.stdout, "{\"n\":2,\"tag\":\"a\"}\n{\"n\":4,\"tag\":\"b\"}\n{\"n\":6,\"tag\":\"c\"}\n");
}

#[test]
fn a_throwing_function_writes_nothing_to_stdout() {
    let (dir, wasm) = build_ok(&["--invoke", "boom"]);
    let run = invoke(dir.path(), &wasm, "boom", b"{}");
    assert_eq!(run.status, Some(1));
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("about to fail\nUncaught TypeError: bad input\n    at boom (fn.js:11:"), "{}", run.stderr);
}

#[test]
fn invalid_json_input_is_reported() {
    let (dir, wasm) = build_ok(&["--invoke", "total"]);
    let run = invoke(dir.path(), &wasm, "total", b"{not json");
    assert_eq!(run.status, Some(1));
    assert!(run.stderr.contains("SyntaxError") && run.stderr.contains("stdin must hold JSON"), "{}", run.stderr);
}

#[test]
fn unknown_or_non_function_exports_are_build_errors_listing_the_exports() {
    for (name, problem) in [("nope", "no export named `nope`"), ("notAFunction", "`notAFunction` is a number, not a function")] {
        let dir = tempfile::tempdir().unwrap();
        let output = build_with(dir.path(), &["--invoke", name]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(problem), "{stderr}");
        assert!(stderr.contains("its exports are: boom, count, default, double, later, lone, notAFunction, reverse, total, upper"), "{stderr}");
        assert!(!dir.path().join("fn.wasm").exists());
    }
}

#[test]
fn touching_stdin_or_stdout_at_build_time_is_a_build_error() {
    for (body, stream) in [("Javy.IO.readSync(0, new Uint8Array(8))", "stdin"), ("Javy.IO.writeSync(1, new Uint8Array(1))", "stdout")] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("io.js"), format!("{body};\nexport function run() {{}}\n")).unwrap();
        let output = run_with_stdin(kiln(dir.path()).args(["build", "io.js", "--invoke", "run"]), b"");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&format!("{stream} is not available while the module's top level runs at build time")), "{stderr}");
        assert!(stderr.contains("io.js:1:"), "{stderr}");
        assert!(!dir.path().join("io.wasm").exists());
    }
}

/// Each instance starts from the snapshot; state changes persist only
/// within one instance, across calls of its exports.
#[test]
fn state_is_fresh_per_instance_and_shared_within_one() {
    let (dir, wasm) = build_ok(&["--invoke", "count", "--io", "text"]);
    assert_eq!(invoke(dir.path(), &wasm, "count", b"").stdout, "1");
    assert_eq!(invoke(dir.path(), &wasm, "count", b"").stdout, "1");

    use wasmtime::{Engine, Linker, Module, Store};
    use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
    let engine = Engine::default();
    let module = Module::from_file(&engine, &wasm).unwrap();
    let stdout = MemoryOutputPipe::new(1 << 16);
    let wasi = wasmtime_wasi::WasiCtxBuilder::new().stdin(MemoryInputPipe::new(Vec::new())).stdout(stdout.clone()).build_p1();
    let mut store = Store::new(&engine, wasi);
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let count = instance.get_typed_func::<(), ()>(&mut store, "count").unwrap();
    count.call(&mut store, ()).unwrap();
    count.call(&mut store, ()).unwrap();
    assert_eq!(&stdout.contents()[..], b"12");
}

/// A build-time error keeps its message even when it holds a lone surrogate
/// (written as U+FFFD; converting it to a Rust string used to fail, leaving
/// an empty message).
#[test]
fn a_top_level_error_with_a_lone_surrogate_keeps_its_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tl.mjs"), "export function run(x) { return x; }\nthrow new TypeError('top \\ud800 level');\n").unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["build", "tl.mjs", "--invoke", "run", "-o", "tl.wasm"]), b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TypeError: top \u{FFFD} level\n"), "{stderr}");
}

/// A top level that throws something other than an Error fails the build
/// and shows the value as `console.log` would.
#[test]
fn a_non_error_thrown_at_build_time_is_shown_as_its_string() {
    for (thrown, shown) in [("42", "42"), ("'plain text'", "'plain text'"), ("[1, 'two']", "[ 1, 'two' ]")] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.mjs"), format!("throw {thrown};\nexport function run() {{}}\n")).unwrap();
        let output = run_with_stdin(kiln(dir.path()).args(["build", "t.mjs", "--invoke", "run"]), b"");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.lines().any(|l| l.trim() == shown), "{thrown}: {stderr}");
        assert!(!dir.path().join("t.wasm").exists());
    }
}

/// A function-mode program may hold binary data of exactly the size of one
/// of QuickJS's small-block arenas, laid out like an arena with a free
/// block: the build's scrubbing of free arena blocks must leave it alone.
/// The data is a BigInt of 898 32-bit limbs whose top bit is set, which
/// QuickJS stores in 899 (a zero limb for the sign) allocated at once (a
/// hex literal of that length needs no shrinking): with its 4-byte length
/// and QuickJS's 8-byte block header an allocation of 3,608 bytes, the size
/// of an arena of 512-byte blocks. Its limbs 1-3 read as that arena's
/// header (block size index 30, 6 of 7 blocks used, block 0 free) and limbs
/// 5-130 as block 0's data, which a scrub that took it for an arena would
/// zero.
#[test]
fn data_shaped_like_an_arena_survives_the_build() {
    let program = r#"
const limbs = () => {
  const t = [];
  for (let i = 0; i < 898; i++) t.push(0x11111111 + i);
  t[1] = 30 | (6 << 16);          // block_size_idx 30, n_used_blocks 6
  t[2] = 7;                       // n_blocks 7, first_free_block 0
  t[3] = 0xffff | (30 << 16);     // block 0: free_next NIL, block_size_idx 30
  for (let i = 5; i <= 130; i++) t[i] = 0xaaaaaaaa;
  t[897] = 0x92345678;            // top bit set: a zero limb follows
  return t;
};
const hex = (t) => t.slice().reverse().map((x) => (x >>> 0).toString(16).padStart(8, "0")).join("");
const big = BigInt("0x" + hex(limbs()));
export function run() {
  const expected = BigInt("0x" + hex(limbs()));
  return { intact: big === expected, limbs: big.toString(16).length / 8 };
}
"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fn.js"), program).unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["build", "fn.js", "-o", "fn.wasm", "--invoke", "run"]), b"");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let run = invoke(dir.path(), &dir.path().join("fn.wasm"), "run", b"null");
    assert_eq!(run.stdout, "{\"intact\":true,\"limbs\":898}\n", "{}", run.stderr);
}
