//! Helpers: run the real `kiln` binary and Node in a clean environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A `kiln` command with a cleaned environment, run in `dir`.
pub fn kiln(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.current_dir(dir).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    // A cache shared by the tests: the engine is compiled once per run of
    // the suite instead of once per build.
    cmd.env("KILN_CACHE_DIR", workspace().join("target").join("kiln-test-cache"));
    // Room for every module of the suite: its cache is not what it tests.
    cmd.env("KILN_CACHE_SIZE", "4G");
    cmd
}

/// `node examples/run-node.mjs MODULE`.
pub fn node(dir: &Path, module: &Path) -> Command {
    node_entry(dir, module, "_start")
}

/// `node examples/run-node.mjs --invoke ENTRY MODULE`.
pub fn node_entry(dir: &Path, module: &Path, entry: &str) -> Command {
    let mut cmd = Command::new("node");
    cmd.current_dir(dir).arg(workspace().join("examples/run-node.mjs")).args(["--invoke", entry]).arg(module);
    cmd
}

/// Runs `cmd` with `stdin` as its input.
pub fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    // Write from a thread: a module may finish before reading all its input.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

/// Builds `file` (relative to `dir`) into `out` and asserts success.
pub fn build(dir: &Path, file: &str, out: &str) -> PathBuf {
    let output = run_with_stdin(kiln(dir).args(["build", "-q", file, "-o", out]), b"");
    assert!(output.status.success(), "kiln build {file} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    dir.join(out)
}

/// Writes a program into a fresh temp dir and builds it.
pub fn build_program(name: &str, source: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), source).unwrap();
    let wasm = build(dir.path(), name, "out.wasm");
    (dir, wasm)
}

/// The outcome of one module run, comparable across hosts.
#[derive(Debug, PartialEq, Eq)]
pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: Output) -> Self {
        Run {
            status: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs a module on the embedded wasmtime (`kiln run`).
pub fn run_wasmtime(dir: &Path, wasm: &Path, stdin: &[u8]) -> Run {
    Run::from(run_with_stdin(kiln(dir).arg("run").arg(wasm), stdin))
}

/// Runs a module on Node's `node:wasi`.
pub fn run_node(dir: &Path, wasm: &Path, stdin: &[u8]) -> Run {
    Run::from(run_with_stdin(&mut node(dir, wasm), stdin))
}

/// Runs a module on both hosts, asserts they agree exactly, returns the run.
pub fn run_both(dir: &Path, wasm: &Path, stdin: &[u8]) -> Run {
    let wasmtime = run_wasmtime(dir, wasm, stdin);
    let node = run_node(dir, wasm, stdin);
    assert_eq!(wasmtime, node, "wasmtime (left) and node:wasi (right) disagree");
    wasmtime
}

/// The fuel figure `kiln run --stats` prints on stderr.
pub fn fuel_from_stats(stderr: &str) -> u64 {
    stderr
        .split("fuel ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no fuel figure in {stderr:?}"))
}

/// Held by tests that must not overlap: Node's real timers (`timers.js` in
/// the differential corpus) reorder when the machine is loaded, and the
/// conformance run loads it for minutes.
pub static NOT_ALONGSIDE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`NOT_ALONGSIDE`] (a failed test that held it does not matter).
pub fn not_alongside() -> std::sync::MutexGuard<'static, ()> {
    NOT_ALONGSIDE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs a dynamic module linked against `engine` on both hosts (`kiln run
/// --engine`, `run-node.mjs --engine`), asserts they agree exactly, returns
/// the run.
pub fn run_both_linked(dir: &Path, wasm: &Path, engine: &Path, entry: &str, stdin: &[u8]) -> Run {
    let wasmtime = Run::from(run_with_stdin(kiln(dir).arg("run").arg("--engine").arg(engine).args(["--invoke", entry]).arg(wasm), stdin));
    let mut node = Command::new("node");
    node.current_dir(dir).arg(workspace().join("examples/run-node.mjs")).args(["--invoke", entry]).arg("--engine").arg(engine).arg(wasm);
    let node = Run::from(run_with_stdin(&mut node, stdin));
    assert_eq!(wasmtime, node, "wasmtime (left) and node:wasi (right) disagree on a dynamic module");
    wasmtime
}
