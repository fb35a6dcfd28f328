//! QuickJS-NG's own test programs (`quickjs/tests/*.js` in the rquickjs-sys
//! crate source this workspace builds) compiled by Kiln and run on both
//! hosts. Most import `./assert.js`, so this also exercises the build-time
//! module graph.
//!
//! Nothing of QuickJS's tests is copied into the repository: the crate
//! source is found at test time (`$CARGO_HOME` or `~/.cargo`, the version in
//! `Cargo.lock`) and copied into a temporary directory. The programs that
//! call QuickJS's host globals `print` and `gc` get, in that copy, a prefix
//! on their first line defining `print` as `console.log` and `gc` as a no-op
//! (so no line number moves).
//!
//! A program passes when it exits with status 0 on both hosts, with the same
//! output; a program whose test262-style header says `negative: type: X`
//! must fail with an uncaught `X`; a program in [`ENDS_UNHANDLED`] must
//! end with its unhandled rejection. Every exclusion is listed in [`EXCLUDED`]
//! with its reason. Only the top-level `tests/*.js` are programs; the
//! subdirectories hold inputs of QuickJS's C API tests.

use crate::util::{kiln, run_node, run_wasmtime, run_with_stdin, workspace};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Programs not run, and why.
const EXCLUDED: &[(&str, &str)] = &[
    ("bug1318.js", "imports the qjs:std host module"),
    ("bug1562.js", "imports the qjs:std host module"),
    ("microbench.js", "imports the qjs:std and qjs:os host modules (and is a benchmark)"),
    ("suspended-coroutine-closure-gc.js", "imports the qjs:std host module"),
    ("suspended-coroutine-mapped-arguments-gc.js", "imports the qjs:std host module"),
    ("suspended-generator-closure-gc.js", "imports the qjs:std host module"),
    ("test_array_to_gc.js", "imports the qjs:std host module"),
    ("test_bjson.js", "imports the qjs:bjson and qjs:std host modules"),
    ("test_builtin.js", "imports the qjs:os host module"),
    ("test_std.js", "imports the qjs:std and qjs:os host modules"),
    ("test_worker.js", "imports the qjs:os host module (workers)"),
    ("test_worker_module.js", "imports the qjs:os host module (workers)"),
];

/// Programs that end with a promise rejection no handler ever claimed: each
/// must run all of its own assertions and then fail, on both hosts, with
/// exactly this stderr — as QuickJS-NG's own `qjs` fails them ("Possibly
/// unhandled promise rejection", status 1) and as Node would. QuickJS's test
/// runner (`run-test262 -c tests.conf`) passes them only because it tracks
/// rejections solely for tests that ask (`qjs:track-promise-rejections`).
///
/// bug1661.js: `AsyncDisposableStack#disposeAsync` creates a promise
/// rejected with the throwing disposer's `{ first: 1 }` and hands it to
/// `Promise.prototype.then`, which the program has replaced with a function
/// that never registers a reaction; nothing else ever sees that promise, so
/// it is still unhandled once every job has run (the check is made only
/// then, never earlier: see `cli::a_rejection_handled_by_a_later_job_is_not_reported`).
/// An assertion failing first would end the program with a different
/// `Uncaught Error: ...`.
const ENDS_UNHANDLED: &[(&str, &str)] = &[("bug1661.js", "Uncaught { first: 1 }\n")];

/// Files other programs import; not programs themselves.
fn is_helper(name: &str) -> bool {
    name == "assert.js" || name == "empty.js" || name.starts_with("fixture_")
}

/// Defines QuickJS's host globals; put on a program's first line.
const HOST_GLOBALS: &str = "globalThis.print ??= (...a) => console.log(...a); globalThis.gc ??= () => {}; ";

/// `quickjs/tests` of the rquickjs-sys version in Cargo.lock.
fn quickjs_tests() -> PathBuf {
    let lock = std::fs::read_to_string(workspace().join("Cargo.lock")).expect("reading Cargo.lock");
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"rquickjs-sys\""))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")?.strip_suffix('"').map(str::to_string)))
        .expect("Cargo.lock has rquickjs-sys");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .expect("CARGO_HOME or HOME is set");
    let registry = cargo_home.join("registry/src");
    let found = std::fs::read_dir(&registry)
        .unwrap_or_else(|e| panic!("reading {}: {e}", registry.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(format!("rquickjs-sys-{version}/quickjs/tests")))
        .find(|p| p.is_dir());
    found.unwrap_or_else(|| panic!("rquickjs-sys-{version}/quickjs/tests not found under {}", registry.display()))
}

/// What a program's test262-style header expects: `Some(type)` when it
/// must throw an uncaught error of that type.
fn expected_error(text: &str) -> Option<String> {
    let header = text.split_once("/*---")?.1.split_once("---*/")?.0;
    let negative = header.split_once("negative:")?.1;
    negative.lines().find_map(|l| l.trim().strip_prefix("type:").map(|t| t.trim().to_string()))
}

fn uses_host_globals(text: &str) -> bool {
    text.contains("print(") || text.contains("gc()")
}

/// Builds and runs one program; returns what went wrong, if anything.
fn check(dir: &Path, out: &Path, name: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join(name)).map_err(|e| e.to_string())?;
    let wasm = out.join(name.replace(".js", ".wasm"));
    // QuickJS's own tests exercise `eval` and `new Function`: keep the
    // parser in these modules.
    let build = run_with_stdin(kiln(dir).args(["build", "-q", "--eval", name, "-o"]).arg(&wasm), b"");
    if !build.status.success() {
        return Err(format!("build failed: {}", String::from_utf8_lossy(&build.stderr)));
    }
    let wasmtime = run_wasmtime(out, &wasm, b"");
    let node = run_node(out, &wasm, b"");
    if wasmtime != node {
        return Err(format!("hosts disagree:\nwasmtime: {wasmtime:?}\nnode: {node:?}"));
    }
    if let Some((_, stderr)) = ENDS_UNHANDLED.iter().find(|(n, _)| *n == name) {
        return if wasmtime.status == Some(1) && wasmtime.stderr == *stderr {
            Ok(())
        } else {
            Err(format!("expected status 1 and stderr {stderr:?}, got status {:?}: {:?}", wasmtime.status, wasmtime.stderr))
        };
    }
    match expected_error(&text) {
        None if wasmtime.status == Some(0) => Ok(()),
        None => Err(format!("status {:?}: {}", wasmtime.status, wasmtime.stderr)),
        Some(kind) if wasmtime.status == Some(1) && wasmtime.stderr.starts_with(&format!("Uncaught {kind}")) => Ok(()),
        Some(kind) => Err(format!("expected an uncaught {kind}, got status {:?}: {}", wasmtime.status, wasmtime.stderr)),
    }
}

#[test]
fn quickjs_test_programs_pass_on_both_hosts() {
    let source = quickjs_tests();
    let copy = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut programs = Vec::new();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
        if !path.is_file() {
            continue;
        }
        let mut text = std::fs::read(&path).unwrap();
        if name.ends_with(".js") && !is_helper(&name) {
            if uses_host_globals(&String::from_utf8_lossy(&text)) {
                text.splice(0..0, HOST_GLOBALS.bytes());
            }
            programs.push(name.clone());
        }
        std::fs::write(copy.path().join(&name), text).unwrap();
    }
    programs.sort();
    for (name, _) in EXCLUDED {
        assert!(programs.contains(&name.to_string()), "EXCLUDED names {name}, which is not among the programs: drop it");
    }
    for (name, _) in ENDS_UNHANDLED {
        assert!(programs.contains(&name.to_string()), "ENDS_UNHANDLED names {name}, which is not among the programs: drop it");
    }
    programs.retain(|p| !EXCLUDED.iter().any(|(name, _)| name == p));
    assert!(programs.len() >= 50, "only {} programs found in {}", programs.len(), source.display());
    for needed in ["test_language.js", "test_bigint.js", "test_closure.js", "test_loop.js", "bug567.js", "reexport-error-module.js"] {
        assert!(programs.iter().any(|p| p == needed), "{needed} is not run");
    }

    // One worker, and never alongside the tests that time Node's real
    // timers: those reorder when the machine is loaded.
    let _alone = crate::util::not_alongside();
    let next = Mutex::new(0usize);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..1 {
            scope.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap();
                        *n += 1;
                        *n - 1
                    };
                    let Some(name) = programs.get(i) else { break };
                    if let Err(why) = check(copy.path(), out.path(), name) {
                        failures.lock().unwrap().push(format!("{name}: {why}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} of {} QuickJS test programs failed:\n{}", failures.len(), programs.len(), failures.join("\n\n"));
    eprintln!("{} QuickJS test programs passed on both hosts, {} excluded", programs.len(), EXCLUDED.len());
}

#[test]
fn test262_headers_are_read() {
    assert_eq!(expected_error("/*---\nnegative:\n  phase: runtime\n  type: RangeError\n---*/\nf()"), Some("RangeError".into()));
    assert_eq!(expected_error("/*---\nfeatures: [skip-if-tcc]\n---*/"), None);
    assert_eq!(expected_error("no header"), None);
}
