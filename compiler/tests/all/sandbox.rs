//! What a module can reach: only the WASI calls Kiln needs, and no
//! environment, files or network even on a host that offers them; nor can a
//! function-mode module's top level, which runs inside `kiln build`.

use crate::util::{build_program, kiln, run_with_stdin};
use std::collections::BTreeSet;
use std::path::Path;

/// Every import a Kiln module may have, all from `wasi_snapshot_preview1`.
///
/// What Kiln needs: stdio (`fd_read`, `fd_write`), the exit status
/// (`proc_exit`), `Math.random`/`crypto` (`random_get`), `Date.now` and
/// `performance.now` (`clock_time_get`), and `poll_oneoff`, the sleep that
/// waits out EAGAIN on hosts with non-blocking stdio (node:wasi).
///
/// That is all: the engine's libraries also link `fd_fdstat_get`, `fd_seek`,
/// `fd_close` (wasi-libc's `FILE` streams) and `environ_get`,
/// `environ_sizes_get` (Rust std's panic machinery reads `RUST_BACKTRACE`),
/// none of which a module can need; the rewrite replaces them by local stubs
/// (`LOCAL_STUBS` in compiler/src/rewrite.rs, which says why each is
/// unneeded).
///
/// Not imported at all: `path_open`, `fd_prestat_get`/`fd_prestat_dir_name`
/// (no way to find or open a file), `sock_*` (no network), `args_get`,
/// `environ_*` (no environment).
const ALLOWED_IMPORTS: &[&str] = &[
    "fd_read",
    "fd_write",
    "proc_exit",
    "random_get",
    "clock_time_get",
    "poll_oneoff",
];

/// A program that touches every API in README's table.
const EVERY_API: &str = r#"
console.log("log", { a: [1, 2] }); console.info("info"); console.debug("debug"); console.dir({ d: 1 });
console.table([{ a: 1 }]); console.count(); console.countReset(); console.group("g"); console.groupEnd();
console.time("t"); console.timeLog("t"); console.timeEnd("t");
console.warn("warn"); console.error("error"); console.trace("trace"); console.assert(false, "assert");
const buf = new Uint8Array(16);
const n = Javy.IO.readSync(0, buf);
Javy.IO.writeSync(1, buf.subarray(0, n));
Javy.IO.writeSync(2, new TextEncoder().encode("to stderr\n"));
const rest = Kiln.stdin.bytes();
Kiln.stdout.write(rest);
Kiln.stdout.write("text\n");
const encoded = new TextEncoder().encode("héllo");
new TextEncoder().encodeInto("x", new Uint8Array(4));
console.log(new TextDecoder().decode(encoded), new TextDecoder("utf-16le").decode(new Uint8Array([104, 0])), new TextDecoder("latin1").decode(new Uint8Array([0x80])));
console.log(typeof Math.random(), crypto.getRandomValues(new Uint8Array(4)).length, crypto.randomUUID().length);
console.log(typeof performance.now(), typeof performance.timeOrigin, typeof Date.now());
console.log(structuredClone({ a: [1] }), atob(btoa("ab")), new DOMException("m", "AbortError").name);
queueMicrotask(() => console.log("microtask"));
(async () => { await null; console.log("async"); })();
const i = setInterval(() => { console.log("interval"); clearInterval(i); }, 1);
clearTimeout(setTimeout(() => console.log("never"), 5));
setTimeout(() => console.log("timeout"), 2);
"#;

fn imports(wasm: &Path) -> BTreeSet<String> {
    let bytes = std::fs::read(wasm).unwrap();
    let mut names = BTreeSet::new();
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        if let wasmparser::Payload::ImportSection(section) = payload.unwrap() {
            for import in section.into_imports() {
                let import = import.unwrap();
                assert_eq!(import.module, "wasi_snapshot_preview1", "import {}.{} is not WASI", import.module, import.name);
                names.insert(import.name.to_string());
            }
        }
    }
    names
}

#[test]
fn modules_import_only_the_allowed_wasi_calls() {
    let (dir, script) = build_program("every.js", EVERY_API);
    // The program really does use every API (and runs).
    let output = run_with_stdin(kiln(dir.path()).arg("run").arg(&script), b"0123456789abcdefREST\n");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for expected in ["0123456789abcdefREST\ntext\n", "héllo h €", "number 4 36", "timeout"] {
        assert!(stdout.contains(expected), "{expected:?} missing from {stdout}");
    }

    let function_dir = tempfile::tempdir().unwrap();
    let module = format!("export function run(input) {{\n{EVERY_API}\nreturn input; }}\n");
    std::fs::write(function_dir.path().join("fn.mjs"), module).unwrap();
    let output = run_with_stdin(kiln(function_dir.path()).args(["build", "-q", "fn.mjs", "--invoke", "run", "--io", "bytes", "-o", "fn.wasm"]), b"");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let function = function_dir.path().join("fn.wasm");

    let allowed: BTreeSet<String> = ALLOWED_IMPORTS.iter().map(|s| s.to_string()).collect();
    for wasm in [&script, &function] {
        let found = imports(wasm);
        let extra: Vec<_> = found.difference(&allowed).collect();
        assert!(extra.is_empty(), "{} imports {extra:?} beyond the allowlist", wasm.display());
        // The allowlist is the minimum: everything on it is imported.
        let unused: Vec<_> = allowed.difference(&found).collect();
        assert!(unused.is_empty(), "{} does not import {unused:?}: shrink the allowlist", wasm.display());
    }
}

const ENV_SECRET: &str = "kiln-env-secret-7f3a9c";
const FILE_SECRET: &str = "kiln-file-secret-c91b2e";

/// Looks for every way a program might reach the host; prints what it found.
const PROBE: &str = r#"
const seen = [];
for (const name of ["process", "require", "module", "std", "os", "Deno", "Bun", "fetch", "XMLHttpRequest",
                    "WebSocket", "navigator", "scriptArgs", "environment", "getenv", "File", "Blob"]) {
  if (typeof globalThis[name] !== "undefined") seen.push(name);
}
for (const key of Object.getOwnPropertyNames(globalThis)) {
  if (/env|file|^fs|path|open|socket|net|host/i.test(key)) seen.push(key);
}
let imported = "not tried";
import("./secret.txt").then(() => { imported = "loaded"; }, (e) => { imported = e.name; })
  .finally(() => console.log(JSON.stringify({ seen, imported })));
"#;

const PROBE_OUTPUT: &str = "{\"seen\":[],\"imported\":\"ReferenceError\"}\n";

fn write_secret_file(dir: &Path) {
    std::fs::write(dir.join("secret.txt"), FILE_SECRET).unwrap();
    std::fs::write(dir.join("secret.js"), format!("export default {FILE_SECRET:?};")).unwrap();
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// wasmtime with the environment variable and the directory offered to the
/// module: returns its stdout and its memory after the run.
fn run_on_generous_wasmtime(wasm: &Path, dir: &Path) -> (String, Vec<u8>) {
    use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, std::fs::read(wasm).unwrap()).unwrap();
    let stdout = MemoryOutputPipe::new(1 << 20);
    let mut builder = wasmtime_wasi::WasiCtxBuilder::new();
    builder.stdout(stdout.clone()).env("KILN_SECRET", ENV_SECRET).args(&["probe", ENV_SECRET]);
    builder.preopened_dir(dir, "/", wasmtime_wasi::FsPerms::ReadWrite).unwrap();
    builder.preopened_dir(dir, ".", wasmtime_wasi::FsPerms::ReadWrite).unwrap();
    let mut store = wasmtime::Store::new(&engine, builder.build_p1());
    let mut linker = wasmtime::Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start").unwrap();
    if let Err(error) = start.call(&mut store, ()) {
        let status = error.downcast_ref::<wasmtime_wasi::I32Exit>().map(|e| e.0);
        assert_eq!(status, Some(0), "the probe failed: {error:?}");
    }
    let memory = instance.get_memory(&mut store, "memory").unwrap().data(&store).to_vec();
    (String::from_utf8(stdout.contents().to_vec()).unwrap(), memory)
}

/// The same on node:wasi; returns stdout and whether the secrets were found
/// in the module's memory after the run.
fn run_on_generous_node(wasm: &Path, dir: &Path) -> String {
    let script = dir.join("generous-host.mjs");
    std::fs::write(
        &script,
        r#"process.removeAllListeners("warning");
const { readFileSync, writeSync } = await import("node:fs");
const { WASI } = await import("node:wasi");
const [wasm, dir, envSecret, fileSecret] = process.argv.slice(2);
const wasi = new WASI({ version: "preview1", args: ["probe", envSecret], env: { KILN_SECRET: envSecret },
                        preopens: { "/": dir, ".": dir }, returnOnExit: true });
const instance = await WebAssembly.instantiate(new WebAssembly.Module(readFileSync(wasm)), wasi.getImportObject());
const status = wasi.start(instance);
const memory = Buffer.from(instance.exports.memory.buffer);
writeSync(1, JSON.stringify({ status, env: memory.includes(envSecret), file: memory.includes(fileSecret),
                              scanned: memory.includes("./secret.txt") }) + "\n");
"#,
    )
    .unwrap();
    let output = std::process::Command::new("node")
        .arg(&script)
        .arg(wasm)
        .arg(dir)
        .args([ENV_SECRET, FILE_SECRET])
        .env("KILN_SECRET", ENV_SECRET)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Even a host that offers environment variables, arguments and directories
/// gives a Kiln module nothing: no API reaches them, and after the run the
/// secrets are nowhere in the module's memory.
#[test]
fn a_module_sees_no_environment_or_files_even_when_the_host_offers_them() {
    let (dir, wasm) = build_program("probe.js", PROBE);
    write_secret_file(dir.path());

    let (stdout, memory) = run_on_generous_wasmtime(&wasm, dir.path());
    assert_eq!(stdout, PROBE_OUTPUT);
    // The scan sees the program's own strings, so it would see a secret.
    assert!(contains(&memory, "./secret.txt"));
    assert!(!contains(&memory, ENV_SECRET), "the environment reached the module's memory on wasmtime");
    assert!(!contains(&memory, FILE_SECRET), "the file reached the module's memory on wasmtime");

    let node = run_on_generous_node(&wasm, dir.path());
    assert_eq!(node, format!("{PROBE_OUTPUT}{{\"status\":0,\"env\":false,\"file\":false,\"scanned\":true}}\n"));

    // And `kiln run`, started with the variable set in its own environment.
    let output = run_with_stdin(kiln(dir.path()).env("KILN_SECRET", ENV_SECRET).arg("run").arg(&wasm), b"");
    assert_eq!(String::from_utf8_lossy(&output.stdout), PROBE_OUTPUT);
}

/// A function-mode module's top level runs inside `kiln build`: it sees
/// neither the build machine's environment nor its files, and nothing of
/// them ends up in the module.
#[test]
fn build_time_evaluation_cannot_read_the_hosts_files_or_environment() {
    let dir = tempfile::tempdir().unwrap();
    write_secret_file(dir.path());
    let module = format!(
        "{}\nlet atBuild;\ntry {{ await import('./secret.txt'); atBuild = 'loaded'; }} catch (e) {{ atBuild = e.name; }}\n\
         export function run() {{ return {{ seen, atBuild }}; }}\n",
        PROBE.split("let imported").next().unwrap()
    );
    std::fs::write(dir.path().join("fn.mjs"), &module).unwrap();
    let build_with_env = |out: &str, env: bool| {
        let mut cmd = kiln(dir.path());
        if env {
            cmd.env("KILN_SECRET", ENV_SECRET).env("HOME", dir.path());
        }
        let output = run_with_stdin(cmd.args(["build", "-q", "fn.mjs", "--invoke", "run", "-o", out]), b"");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        std::fs::read(dir.path().join(out)).unwrap()
    };
    let with_env = build_with_env("a.wasm", true);
    let without = build_with_env("b.wasm", false);
    assert!(with_env == without, "the build depends on the environment");
    assert!(!contains(&with_env, ENV_SECRET) && !contains(&with_env, FILE_SECRET), "a secret is in the module");

    let output = run_with_stdin(kiln(dir.path()).args(["run", "a.wasm"]), b"null");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "{\"seen\":[],\"atBuild\":\"ReferenceError\"}\n");

    // The build reads the program's own files (relative imports of
    // JavaScript, by the compiler), nothing else: importing a file that is
    // not JavaScript is refused before anything runs.
    std::fs::write(dir.path().join("static.mjs"), "import s from './secret.txt';\nexport function run() { return s; }\n").unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["build", "static.mjs", "--invoke", "run"]), b"");
    assert_eq!(output.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&output.stderr).contains(FILE_SECRET));
    assert!(!dir.path().join("static.wasm").exists());
}
