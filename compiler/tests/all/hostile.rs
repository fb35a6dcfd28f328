//! `kiln build` on hostile input: bytes that are not UTF-8, an empty file,
//! a 20 MB program, nesting too deep for the parser. Each ends in a module
//! or one clear diagnostic with the right exit status — never a panic, a
//! trap with a wasm backtrace, or a half-written output.

use crate::util::{kiln, run_wasmtime, run_with_stdin};
use std::process::Output;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn build(dir: &std::path::Path, file: &str) -> Output {
    run_with_stdin(kiln(dir).args(["build", file, "-o", "out.wasm"]), b"")
}

#[test]
fn not_utf8_names_the_file_and_the_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), b"let a = 1;\nlet s = '\xc3\x28';\n").unwrap();
    let output = build(dir.path(), "app.js");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(stderr(&output), "error: app.js is not valid UTF-8 (first bad byte at offset 20)\n");
    assert!(!dir.path().join("out.wasm").exists());
}

#[test]
fn an_empty_file_compiles_to_a_module_that_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.js"), b"").unwrap();
    let output = build(dir.path(), "empty.js");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let run = run_wasmtime(dir.path(), &dir.path().join("out.wasm"), b"ignored input");
    assert_eq!((run.status, run.stdout.as_str(), run.stderr.as_str()), (Some(0), "", ""));
}

#[test]
fn a_20_mb_program_compiles_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut program = String::with_capacity(21 << 20);
    program.push_str("// generated: 10 MiB of string literal, 10 MiB of comment\nconst s = \"");
    program.push_str(&"0123456789abcdef".repeat(10 << 16));
    program.push_str("\";\n/*");
    program.push_str(&"comment ".repeat(10 << 17));
    program.push_str("*/\nconsole.log(s.length, s.slice(-4));\n");
    assert!(program.len() >= 20 << 20);
    std::fs::write(dir.path().join("big.js"), &program).unwrap();
    let output = build(dir.path(), "big.js");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // Bounded: the module holds the 10 MiB string once, plus the engine;
    // the source text, the comment and the parser's buffers are gone.
    let size = std::fs::metadata(dir.path().join("out.wasm")).unwrap().len();
    assert!(size < (10 << 20) + (2 << 20), "the module is {size} bytes");
    let run = run_wasmtime(dir.path(), &dir.path().join("out.wasm"), b"");
    assert_eq!((run.status, run.stdout.as_str()), (Some(0), "10485760 cdef\n"), "{}", run.stderr);
}

#[test]
fn nesting_too_deep_for_the_parser_is_a_range_error_with_a_position() {
    let dir = tempfile::tempdir().unwrap();
    // Nested arrays, parenthesized expressions and blocks.
    for (open, lead) in [("[", "y = "), ("(", "y = "), ("{", "")] {
        std::fs::write(dir.path().join("deep.js"), format!("x = 1;\n{lead}{}", open.repeat(100_000))).unwrap();
        let output = build(dir.path(), "deep.js");
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{open}: {text}");
        assert!(text.starts_with("error: RangeError: Maximum call stack size exceeded: the program nests too deeply to compile\n"), "{open}: {text}");
        // Where the parser gave up: on line 2, thousands of brackets in.
        let column: usize = text
            .split("deep.js:2:")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("{open}: no position on line 2 in {text}"));
        assert!((1_000..100_000).contains(&column), "{open}: column {column}");
        assert!(!text.contains("wasm backtrace") && text.len() < 1_000, "{open}: one short diagnostic:\n{text}");
        assert!(!dir.path().join("out.wasm").exists(), "{open}: no output on failure");
    }
}

#[test]
fn a_top_level_that_never_ends_fails_the_build_at_the_time_limit() {
    // Function mode evaluates the top level at build time: an endless loop
    // there must end the build with a clear error, not hang it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("loop.mjs"), "let n = 0;\nfor (;;) { n++; }\nexport function run() { return n; }\n").unwrap();
    let started = std::time::Instant::now();
    let output = run_with_stdin(
        kiln(dir.path()).args(["build", "loop.mjs", "--invoke", "run", "--build-timeout", "500ms", "-o", "loop.wasm"]),
        b"",
    );
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("the build ran longer than 500ms"), "{text}");
    assert!(text.contains("--build-timeout"), "the message says how to raise the limit: {text}");
    assert!(!dir.path().join("loop.wasm").exists());
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "the limit did not stop the build");
}
