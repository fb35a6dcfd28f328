//! Programs of several files: relative imports resolved at build time, in
//! script and function mode, and the build errors of imports that cannot be
//! served, each with the position of the offending import.

use crate::util::{build, kiln, node_entry, run_both, run_with_stdin, Run};
use std::path::Path;

/// Writes `files` (path, text) under a fresh temp dir.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// Builds `entry` (relative to `dir`) with `args`; returns (status, stderr).
fn build_fails(dir: &Path, entry: &str, args: &[&str]) -> (Option<i32>, String) {
    let output = run_with_stdin(kiln(dir).args(["build", entry, "-o", "out.wasm"]).args(args), b"");
    assert!(!dir.join("out.wasm").exists(), "a failed build wrote its output");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn nested_parent_and_shared_imports_run_with_relative_stack_traces() {
    let dir = project(&[
        ("app/main.js", "import { f } from './lib/util.js';\nimport { g } from '../shared/g.mjs';\nconsole.log(g());\nf();\n"),
        ("app/lib/util.js", "import { g } from '../../shared/g.mjs';\nexport function f() {\n  const from = g();\n  throw new Error(from);\n}\n"),
        ("shared/g.mjs", "let calls = 0;\nexport const g = () => `g${++calls}`;\n"),
    ]);
    let app = dir.path().join("app");
    let wasm = build(&app, "main.js", "out.wasm");
    let run = run_both(&app, &wasm, b"");
    assert_eq!(run.status, Some(1));
    assert_eq!(run.stdout, "g1\n", "one instance of shared/g.mjs");
    assert!(run.stderr.starts_with("Uncaught Error: g2\n    at f (lib/util.js:4:19)\n    at <anonymous> (main.js:4:1)"), "{}", run.stderr);
}

#[test]
fn the_module_never_reads_the_files_it_imported() {
    let dir = project(&[("main.mjs", "import { x } from './x.js';\nconsole.log(x);\n"), ("x.js", "export const x = 'built in';\n")]);
    let wasm = build(dir.path(), "main.mjs", "out.wasm");
    std::fs::remove_file(dir.path().join("x.js")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    assert_eq!(run_both(elsewhere.path(), &wasm, b"").stdout, "built in\n");
}

#[test]
fn dynamic_import_of_a_file_in_the_graph_works_and_of_others_fails_clearly() {
    let dir = project(&[
        (
            "main.js",
            "import('./lazy.js').then((m) => {\n  console.log(m.value);\n  const name = './nope.js';\n  return import(name);\n}).catch((e) => console.log(e.name, e.message));\n",
        ),
        ("lazy.js", "export const value = 42;\n"),
    ]);
    let wasm = build(dir.path(), "main.js", "out.wasm");
    let run = run_both(dir.path(), &wasm, b"");
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "42\nReferenceError could not load module './nope.js' imported from 'main.js': it is not part of the build (Kiln resolves the imports written as string literals at build time)\n"
    );
}

#[test]
fn function_mode_invokes_an_export_built_from_several_files() {
    let dir = project(&[
        ("fn.mjs", "import { double } from './math/double.js';\nexport function run(input) { return { out: double(input.n) }; }\n"),
        ("math/double.js", "export const double = (n) => n * 2;\n"),
    ]);
    let output = run_with_stdin(kiln(dir.path()).args(["build", "-q", "fn.mjs", "--invoke", "run", "-o", "out.wasm"]), b"");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let wasm = dir.path().join("out.wasm");
    let run = run_both(dir.path(), &wasm, b"{\"n\": 21}");
    assert_eq!(run.stdout, "{\"out\":42}\n");
    assert_eq!(Run::from(run_with_stdin(&mut node_entry(dir.path(), &wasm, "run"), b"{\"n\": 1}")).stdout, "{\"out\":2}\n");
}

#[test]
fn a_program_on_stdin_imports_relative_to_the_current_directory() {
    let dir = project(&[("lib.js", "export const who = 'stdin';\n")]);
    let output = run_with_stdin(kiln(dir.path()).args(["build", "-q", "-", "-o", "out.wasm"]), b"import { who } from './lib.js';\nconsole.log(who);\n");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(run_both(dir.path(), &dir.path().join("out.wasm"), b"").stdout, "stdin\n");
}

#[test]
fn a_missing_file_is_a_build_error_at_the_import() {
    let dir = project(&[("main.js", "import { a } from './a.js';\n"), ("a.js", "// the import\nexport { b as a } from \"./sub/b.js\";\n")]);
    let (status, stderr) = build_fails(dir.path(), "main.js", &[]);
    assert_eq!(status, Some(1));
    assert!(stderr.contains("error: ImportError: cannot find module './sub/b.js' imported from a.js"), "{stderr}");
    assert!(stderr.contains("┌─ a.js:2:24"), "{stderr}");
}

#[test]
fn unresolvable_specifiers_say_why_at_the_import() {
    for (specifier, why) in [
        ("lodash", "cannot find package 'lodash' (imported at main.mjs:2:8); is it installed? run npm install".to_string()),
        ("https://example.com/a.js", "unsupported import specifier 'https://example.com/a.js': URLs are not supported".to_string()),
        ("/abs/a.js", "cannot find module '/abs/a.js' imported from main.mjs".to_string()),
        ("node:fs", "'node:fs' is a Node.js built-in module (imported at main.mjs:2:8); Kiln modules run on WASI".to_string()),
    ] {
        let dir = project(&[("main.mjs", &format!("const x = 1;\nimport '{specifier}';\n"))]);
        let (status, stderr) = build_fails(dir.path(), "main.mjs", &[]);
        assert_eq!(status, Some(1), "{stderr}");
        assert!(stderr.contains(&why), "{stderr}");
        assert!(stderr.contains("┌─ main.mjs:2:8"), "{stderr}");
    }
}

#[test]
fn a_syntax_error_in_an_imported_file_shows_that_file() {
    let dir = project(&[("main.js", "import './lib/bad.js';\n"), ("lib/bad.js", "export const ok = 1;\nexport function f() {\n  return (;\n}\n")]);
    for args in [&[][..], &["--invoke", "f"][..]] {
        let (status, stderr) = build_fails(dir.path(), "main.js", args);
        assert_eq!(status, Some(1));
        assert!(stderr.contains("error: SyntaxError: unexpected token in expression: ';'"), "{stderr}");
        assert!(stderr.contains("┌─ lib/bad.js:3:11"), "{stderr}");
        assert!(stderr.contains("3 │   return (;"), "{stderr}");
    }
}

#[test]
fn a_cycle_that_cannot_link_is_a_build_error_in_both_modes() {
    let dir = project(&[
        ("a.js", "import { b } from './b.js';\nexport const a = 1;\nexport function run() { return b; }\n"),
        ("b.js", "import { a,\n  missing } from './a.js';\nexport const b = 2;\n"),
    ]);
    for args in [&[][..], &["--invoke", "run"][..]] {
        let (status, stderr) = build_fails(dir.path(), "a.js", args);
        assert_eq!(status, Some(1));
        assert!(stderr.contains("Could not find export 'missing' in module 'a.js' (imported by b.js); the module graph does not link"), "{stderr}");
        assert!(stderr.contains("┌─ b.js:2:3"), "{stderr}");
    }
    let dir = project(&[
        ("main.js", "import { x } from './r1.js';\nconsole.log(x);\n"),
        ("r1.js", "export { x } from './r2.js';\n"),
        ("r2.js", "export { x } from './r1.js';\n"),
    ]);
    let (status, stderr) = build_fails(dir.path(), "main.js", &[]);
    assert_eq!(status, Some(1));
    assert!(stderr.contains("circular reference when looking for export 'x'"), "{stderr}");
}

#[test]
fn json_and_text_modules_are_built_in_and_keyed_by_their_attributes() {
    let dir = project(&[
        (
            "main.mjs",
            "import data from './conf/data.json' with { type: 'json' };\n\
             import again from './conf/data.json' with { type: \"json\" };\n\
             import raw from './conf/data.json' with { type: 'text' };\n\
             import notes from './notes.txt' with { type: 'text' };\n\
             import self from './main.mjs' with { type: 'text' };\n\
             console.log(data.rates.gold, data.name, again === data, typeof raw, raw.length);\n\
             console.log(JSON.stringify(notes), self.split('\\n')[0]);\n\
             const dynamic = await import('./conf/data.json', { with: { type: 'json' } });\n\
             const plain = await import('./conf/data.json');\n\
             const lazy = await import('./lazy.json');\n\
             console.log(dynamic.default === data, plain.default === data, plain.default.name, lazy.default);\n",
        ),
        ("conf/data.json", "\u{FEFF}{ \"name\": \"λ shop\", \"rates\": { \"gold\": 0.25 } }\n"),
        ("notes.txt", "line 1\n«two»\n"),
        ("lazy.json", "[1, \"two\", null]"),
    ]);
    let wasm = build(dir.path(), "main.mjs", "out.wasm");
    // Everything was read at build time.
    std::fs::remove_dir_all(dir.path().join("conf")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let run = run_both(elsewhere.path(), &wasm, b"");
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    // The text module is the file exactly, byte order mark included (49
    // characters); the JSON module parses what follows the mark.
    assert_eq!(
        run.stdout,
        "0.25 λ shop true string 49\n\
         \"line 1\\n«two»\\n\" import data from './conf/data.json' with { type: 'json' };\n\
         true false λ shop [ 1, 'two', null ]\n"
    );
}

#[test]
fn bad_module_types_bad_json_and_untyped_data_files_are_build_errors_at_their_place() {
    let dir = project(&[
        ("css.mjs", "const x = 1;\nimport s from './a.css' with { type: 'css' };\n"),
        ("key.mjs", "import d from './d.json' with { type: 'json', integrity: 'x' };\n"),
        ("txt.mjs", "import t from './notes.txt';\n"),
        ("json.mjs", "import d from './lib/bad.json' with { type: 'json' };\n"),
        ("a.css", "p {}\n"),
        ("d.json", "{}\n"),
        ("notes.txt", "hi\n"),
        ("lib/bad.json", "{\n  \"a\": 1,\n  \"b\": [1, 2,]\n}\n"),
    ]);
    let (status, stderr) = build_fails(dir.path(), "css.mjs", &[]);
    assert_eq!(status, Some(1));
    assert!(stderr.contains("error: ImportError: unsupported module type 'css'; Kiln supports with { type: \"json\" } and with { type: \"text\" }"), "{stderr}");
    assert!(stderr.contains("┌─ css.mjs:2:38"), "{stderr}");

    let (_, stderr) = build_fails(dir.path(), "key.mjs", &[]);
    assert!(stderr.contains("import attribute 'integrity' is not supported"), "{stderr}");
    assert!(stderr.contains("┌─ key.mjs:1:47"), "{stderr}");

    let (_, stderr) = build_fails(dir.path(), "txt.mjs", &[]);
    assert!(stderr.contains("'./notes.txt' is not a JavaScript file (.js, .mjs, .cjs, .ts, .mts, .cts, .jsx, .tsx): to import its text write `import text from './notes.txt' with { type: \"text\" }`"), "{stderr}");
    assert!(stderr.contains("┌─ txt.mjs:1:15"), "{stderr}");

    for args in [&[][..], &["--invoke", "default"][..]] {
        let (status, stderr) = build_fails(dir.path(), "json.mjs", args);
        assert_eq!(status, Some(1));
        assert!(stderr.contains("error: SyntaxError: unexpected token: ']'"), "{stderr}");
        assert!(stderr.contains("┌─ lib/bad.json:3:14"), "{stderr}");
        assert!(stderr.contains("3 │   \"b\": [1, 2,]"), "{stderr}");
    }
}
