//! Differential tests against Node: every program in `tests/node-corpus`
//! runs under `node` and, compiled by Kiln, on wasmtime and `node:wasi`;
//! stdout, stderr and the exit status must be identical.
//!
//! Deliberate differences are kept out of the corpus and said where they
//! arise: windows-1252 bytes 0x80-0x9F (see `encoding.js`), durations
//! printed by `console.time*`, and stack traces (Kiln's name the source file
//! as built; Node's carry absolute paths and its own internal frames).

use crate::util::{build, run_both, run_with_stdin, workspace};
use std::process::Command;

fn check(name: &str) {
    let corpus = workspace().join("compiler/tests/node-corpus");
    let mut node = Command::new("node");
    node.current_dir(&corpus).arg(name);
    let expected = run_with_stdin(&mut node, b"");
    assert!(expected.status.success(), "node {name} failed: {}", String::from_utf8_lossy(&expected.stderr));

    let out = tempfile::tempdir().unwrap();
    let wasm = out.path().join("program.wasm");
    build(&corpus, name, wasm.to_str().unwrap());
    let run = run_both(out.path(), &wasm, b"");
    assert_eq!(run.stdout, String::from_utf8_lossy(&expected.stdout), "stdout of {name}: Kiln (left) vs Node (right)");
    assert_eq!(run.stderr, String::from_utf8_lossy(&expected.stderr), "stderr of {name}: Kiln (left) vs Node (right)");
    assert_eq!(run.status, expected.status.code(), "exit status of {name}");
}

#[test]
fn corpus_is_covered() {
    let mut names: Vec<String> = std::fs::read_dir(workspace().join("compiler/tests/node-corpus"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["console-methods.js", "encoding.js", "format.js", "inspect.js", "json.js", "lone-surrogates.js", "timers.js", "web.js"], "add a #[test] for each new corpus program");
}

#[test]
fn lone_surrogates() {
    check("lone-surrogates.js");
}

/// JSON.parse/JSON.stringify (Kiln's native fast paths and QuickJS's own
/// behind them): numbers, escapes, key order, toJSON, getters, Proxies,
/// cycles, space, replacers, revivers, rejected texts, deep nesting and
/// seeded random documents round-tripped. (Error messages are compared with
/// QuickJS's own in js-runtime's `json::tests`; V8 words them differently.)
#[test]
fn json() {
    check("json.js");
}

#[test]
fn inspect() {
    check("inspect.js");
}

#[test]
fn format_specifiers() {
    check("format.js");
}

#[test]
fn console_methods() {
    check("console-methods.js");
}

#[test]
fn encoding() {
    check("encoding.js");
}

#[test]
fn web_globals() {
    check("web.js");
}

#[test]
fn timers() {
    let _alone = crate::util::not_alongside();
    check("timers.js");
}
