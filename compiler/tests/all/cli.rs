//! The `kiln` command's behaviour on good and bad input.

use crate::util::{build_program, kiln, run_both, run_wasmtime, run_with_stdin};
use std::process::Output;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_no_panic(output: &Output) {
    let text = stderr(output);
    assert!(!text.contains("panicked") && output.status.code() != Some(101), "kiln panicked:\n{text}");
}

#[test]
fn syntax_error_names_the_position_and_shows_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), "let a = 1;\nlet b = (;\nconsole.log(a);\n").unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["build", "app.js"]), b"");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("SyntaxError"), "{text}");
    assert!(text.contains("app.js:2:10"), "{text}");
    assert!(text.contains("let b = (;"), "{text}");
    assert!(!dir.path().join("app.wasm").exists(), "no output may be created on failure");
}

#[test]
fn output_defaults_to_the_input_with_a_wasm_extension() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/app.mjs"), "console.log('default output')").unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["build", "src/app.mjs"]), b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("Compiled app.mjs -> src/app.wasm"), "{}", stderr(&output));
    let run = run_wasmtime(dir.path(), &dir.path().join("src/app.wasm"), b"");
    assert_eq!(run.stdout, "default output\n");
}

#[test]
fn failed_build_leaves_an_existing_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), "function (").unwrap();
    std::fs::write(dir.path().join("app.wasm"), b"previous build").unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["build", "app.js"]), b"");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(std::fs::read(dir.path().join("app.wasm")).unwrap(), b"previous build");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "no temporary files left behind: {leftovers:?}");
}

#[test]
fn missing_input_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["build", "nope.js"]), b"");
    assert_eq!(output.status.code(), Some(2));
    assert_no_panic(&output);
    let text = stderr(&output);
    assert_eq!(text, "error: reading nope.js: No such file or directory (os error 2)\n", "the cause is told once");
}

#[test]
fn unwritable_output_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), "console.log(1)").unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["build", "app.js", "-o", "no/such/dir/app.wasm"]), b"");
    assert_eq!(output.status.code(), Some(2));
    assert_no_panic(&output);
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("no/such/dir"), "{text}");
}

#[test]
fn non_utf8_input_is_rejected_clearly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), b"console.log('\xff')").unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["build", "app.js"]), b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("not valid UTF-8"), "{}", stderr(&output));
}

#[test]
fn running_a_non_wasm_file_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), "console.log(1)").unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["run", "app.js"]), b"");
    assert_eq!(output.status.code(), Some(2));
    assert_no_panic(&output);
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("app.js is not a WebAssembly module"), "{text}");

    let output = run_with_stdin(kiln(dir.path()).args(["run", "missing.wasm"]), b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).starts_with("error: reading missing.wasm:"), "{}", stderr(&output));
}

#[test]
fn help_teaches_with_examples_and_version_prints() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--help"][..], &["build", "--help"], &["run", "--help"]] {
        let output = run_with_stdin(kiln(dir.path()).args(args), b"");
        assert!(output.status.success());
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("Examples:"), "{args:?}:\n{text}");
    }
    let output = run_with_stdin(kiln(dir.path()).arg("--version"), b"");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), format!("kiln {}", env!("CARGO_PKG_VERSION")));
}

/// `kiln build --help` says what the front end does with a real project,
/// and that it does not type-check (issue 12).
#[test]
fn build_help_says_typescript_is_not_type_checked() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["build", "--help"]), b"");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("NOT type-checked") && text.contains("run tsc"), "{text}");
    assert!(text.contains("conditions kiln, wasi") && text.contains("node:fs"), "{text}");
}

#[test]
fn builds_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["build", "-", "-o", "s.wasm"]), b"console.log(typeof Javy.IO.readSync)");
    assert!(output.status.success(), "{}", stderr(&output));
    let run = run_wasmtime(dir.path(), &dir.path().join("s.wasm"), b"");
    assert_eq!(run.stdout, "function\n");
}

#[test]
fn scripts_may_be_sloppy_and_modules_are_detected() {
    // `with` and undeclared assignment only work in sloppy-mode scripts.
    let (dir, wasm) = build_program("sloppy.js", "with (Math) { x = max(1, 2) }\nconsole.log(x, this === globalThis)");
    assert_eq!(run_both(dir.path(), &wasm, b"").stdout, "2 true\n");
    // Text that parses both ways is a script, as in Node (QuickJS-NG's own
    // JS_DetectModule would call it a module, where `y = 1` throws).
    let (dir, wasm) = build_program("both.js", "y = 1;\nvar z = 2;\nconsole.log(y, globalThis.z, typeof this)");
    assert_eq!(run_both(dir.path(), &wasm, b"").stdout, "1 2 object\n");
    // `export` makes it a module: strict, `this` undefined at top level.
    let (dir, wasm) = build_program("mod.js", "console.log(this === undefined)\nexport const a = 1;");
    assert_eq!(run_both(dir.path(), &wasm, b"").stdout, "true\n");
    // `.mjs` is a module even without module syntax.
    let (dir, wasm) = build_program("plain.mjs", "console.log(this === undefined)");
    assert_eq!(run_both(dir.path(), &wasm, b"").stdout, "true\n");
}

#[test]
fn top_level_await_finishes_before_exit() {
    let (dir, wasm) = build_program("tla.js", "const v = await Promise.resolve(41);\nconsole.log(v + 1);");
    assert_eq!(run_both(dir.path(), &wasm, b"").stdout, "42\n");
}

#[test]
fn uncaught_rejection_exits_1_with_the_stack() {
    let (dir, wasm) = build_program("reject.js", "async function main() {\n  throw new RangeError('nope');\n}\nmain();\n");
    let run = run_both(dir.path(), &wasm, b"");
    assert_eq!(run.status, Some(1));
    assert!(run.stderr.starts_with("Uncaught RangeError: nope\n    at main (reject.js:2:"), "{}", run.stderr);
}

/// As in Node, a rejection counts as unhandled only if no handler claimed
/// it by the time the job queue ran dry; a replaced `then` that never
/// registers a reaction claims nothing (what QuickJS's bug1661.js ends
/// with, see `conformance::ENDS_UNHANDLED`).
#[test]
fn a_rejection_handled_by_a_later_job_is_not_reported() {
    let late = "const p = Promise.reject(new Error('late'));\n\
        queueMicrotask(() => queueMicrotask(() => p.catch((e) => console.log('handled', e.message))));\n\
        const q = Promise.reject(new Error('after await'));\n\
        await null; await null;\n\
        q.catch((e) => console.log('handled', e.message));\n";
    let (dir, wasm) = build_program("late.mjs", late);
    let run = run_both(dir.path(), &wasm, b"");
    assert_eq!((run.status, run.stdout.as_str(), run.stderr.as_str()), (Some(0), "handled late\nhandled after await\n", ""));

    let swallowed = "Promise.prototype.then = function () { return 1; };\n\
        const p = Promise.reject({ lost: 1 });\n\
        p.then(() => {}, () => {});\n";
    let (dir, wasm) = build_program("swallowed.js", swallowed);
    let run = run_both(dir.path(), &wasm, b"");
    assert_eq!((run.status, run.stderr.as_str()), (Some(1), "Uncaught { lost: 1 }\n"));
}

#[test]
fn rejected_top_level_await_exits_1() {
    let (dir, wasm) = build_program("tla-fail.mjs", "console.log('before');\nawait Promise.reject(new Error('late failure'));\nconsole.log('never');\n");
    let run = run_both(dir.path(), &wasm, b"");
    assert_eq!(run.status, Some(1));
    assert_eq!(run.stdout, "before\n");
    assert!(run.stderr.starts_with("Uncaught Error: late failure"), "{}", run.stderr);
}

#[test]
fn throwing_a_non_error_is_reported() {
    let (dir, wasm) = build_program("throw.js", "throw { code: 7 };");
    let run = run_both(dir.path(), &wasm, b"");
    assert_eq!(run.status, Some(1));
    assert_eq!(run.stderr, "Uncaught { code: 7 }\n");
}

#[test]
fn unresolvable_import_is_a_build_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("imp.mjs"), "import { x } from './missing.js';\nconsole.log(x);\n").unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["build", "imp.mjs"]), b"");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("cannot find module './missing.js' imported from imp.mjs"), "{}", stderr(&output));
    assert!(stderr(&output).contains("imp.mjs:1:19"), "{}", stderr(&output));
    assert!(!dir.path().join("imp.wasm").exists());
}

#[test]
fn run_fuel_limit_and_stats() {
    let (dir, wasm) = build_program("loop.js", "let i = 0; while (true) i++;");
    let output = run_with_stdin(kiln(dir.path()).args(["run", "--fuel", "1000000"]).arg(&wasm), b"");
    assert_eq!(output.status.code(), Some(125), "{}", stderr(&output));
    assert!(stderr(&output).contains("ran out of fuel"), "{}", stderr(&output));
    assert_no_panic(&output);

    let output = run_with_stdin(kiln(dir.path()).args(["run", "--timeout", "300ms"]).arg(&wasm), b"");
    assert_eq!(output.status.code(), Some(124), "{}", stderr(&output));
    assert!(stderr(&output).contains("ran past its time limit"), "{}", stderr(&output));
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));

    let (dir, wasm) = build_program("hi.js", "console.log('hi')");
    let output = run_with_stdin(kiln(dir.path()).args(["run", "--stats"]).arg(&wasm), b"");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hi\n");
    let fuel = crate::util::fuel_from_stats(&stderr(&output));
    assert!(fuel > 0);
}

#[test]
fn kiln_stdin_and_stdout_are_binary_safe_on_both_hosts() {
    let (dir, wasm) = build_program("rev.js", "const bytes = Kiln.stdin.bytes();\nKiln.stdout.write(bytes.reverse());\n");
    let input: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let expected: Vec<u8> = input.iter().rev().copied().collect();
    let mut on_wasmtime = kiln(dir.path());
    on_wasmtime.arg("run").arg(&wasm);
    for mut cmd in [on_wasmtime, crate::util::node(dir.path(), &wasm)] {
        let output = run_with_stdin(&mut cmd, &input);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(output.stdout == expected, "output differs ({} bytes)", output.stdout.len());
    }
}

#[test]
fn a_syntax_error_is_reported_for_the_goal_that_parsed_further() {
    // Module syntax first, then an error: the module goal's message, not
    // the script goal's complaint about `import`.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.js"), "export const a = 1;\n").unwrap();
    std::fs::write(dir.path().join("bad.js"), "import { a } from './a.js';\nlet b = (;\n").unwrap();
    let output = run_with_stdin(kiln(dir.path()).args(["build", "bad.js"]), b"");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("bad.js:2:"), "{}", stderr(&output));
}

/// `kiln cache size` and `kiln cache clear`, and a cache that stays under
/// its limit however much is built and run.
#[test]
fn the_cache_stays_under_its_limit_and_can_be_measured_and_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let kiln_with = |limit: &str| {
        let mut cmd = kiln(dir.path());
        cmd.env("KILN_CACHE_DIR", &cache).env("KILN_CACHE_SIZE", limit);
        cmd
    };
    let du = || -> u64 {
        let mut total = 0;
        let mut dirs = vec![cache.clone()];
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let meta = entry.metadata().unwrap();
                if meta.is_dir() { dirs.push(entry.path()) } else { total += meta.len() }
            }
        }
        total
    };
    for (i, text) in ["one", "two"].iter().enumerate() {
        std::fs::write(dir.path().join("app.js"), format!("console.log('{text}')")).unwrap();
        let built = run_with_stdin(kiln_with("6M").args(["build", "-q", "app.js"]), b"");
        assert!(built.status.success(), "{}", stderr(&built));
        let run = run_with_stdin(kiln_with("6M").args(["run", "app.wasm"]), b"");
        assert_eq!(String::from_utf8_lossy(&run.stdout), format!("{text}\n"), "run {i}: {}", stderr(&run));
        assert!(du() <= 6 << 20, "the cache holds {} bytes, over its 6M limit", du());
    }
    let size = run_with_stdin(kiln_with("6M").args(["cache", "size"]), b"");
    let shown = String::from_utf8_lossy(&size.stdout).into_owned();
    assert!(size.status.success() && shown.starts_with(&format!("{}: ", cache.display())) && shown.ends_with(" of 6M\n"), "{shown}");
    let cleared = run_with_stdin(kiln_with("6M").args(["cache", "clear"]), b"");
    assert!(cleared.status.success(), "{}", stderr(&cleared));
    assert_eq!(du(), 0);
    let size = run_with_stdin(kiln_with("6M").args(["cache", "size"]), b"");
    assert_eq!(String::from_utf8_lossy(&size.stdout), format!("{}: 0 of 6M\n", cache.display()));
    let help = run_with_stdin(kiln(dir.path()).args(["cache", "--help"]), b"");
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(help.contains("256M") && help.contains("KILN_CACHE_SIZE") && help.contains("kiln cache clear"), "{help}");
}

/// Every module shares the engine's code: a module built a moment ago runs
/// with most of its functions found in Cranelift's incremental cache,
/// compiled by the first run of any module. (Not all: wasmtime 48 gives
/// about a fifth of the engine's functions a different cache key on each
/// compile, so each first run still compiles those and adds them.)
#[test]
fn a_new_module_reuses_the_compiled_engine_functions() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let compiled = || -> u64 { std::fs::read_dir(cache.join("incremental")).map_or(0, |d| d.flatten().map(|e| e.metadata().unwrap().len()).sum()) };
    let mut added = Vec::new();
    for (i, text) in ["first", "second"].iter().enumerate() {
        std::fs::write(dir.path().join("app.js"), format!("console.log('{text}', {i})")).unwrap();
        let mut build = kiln(dir.path());
        let built = run_with_stdin(build.env("KILN_CACHE_DIR", &cache).args(["build", "-q", "app.js"]), b"");
        assert!(built.status.success(), "{}", stderr(&built));
        let before = compiled();
        let mut run = kiln(dir.path());
        let ran = run_with_stdin(run.env("KILN_CACHE_DIR", &cache).args(["run", "app.wasm"]), b"");
        assert_eq!(String::from_utf8_lossy(&ran.stdout), format!("{text} {i}\n"));
        added.push(compiled() - before);
    }
    assert!(added[0] > 0, "the first run stores the functions it compiled");
    assert!(added[1] < added[0] / 2, "the second module compiled most functions again: {added:?} bytes added");
}
