//! What a module weighs: the size budget, and what the default build leaves
//! out (QuickJS's parser, the runtime API's source text).

use crate::util::{kiln, run_both, run_with_stdin, workspace};

/// The hello-world module may not grow past this. Measured at 1,111,885
/// bytes when set; issue 5's goal (600,000) is below what this engine can
/// reach (`cargo run -p kiln-bench --release --bin size-floor`), and this
/// budget guards against regressions.
// Raised from 1,125,000 in the merge of this round's branches: the native
// JSON paths (js-runtime at opt-level 3), the contract's report channel,
// position tables and ShopifyFunction measured 1,166,359-1,171,836 bytes
// together; where the ~50 KB goes is an open question (see the README).
// Raised from 1,200,000 with the JSON and UTF-8 paths that read QuickJS's
// layouts in place (js-runtime/src/internals.rs; 100 KB JSON identity
// 19.7 M -> 10.6 M fuel): measured 1,177,242 before, 1,200,111 after.
const HELLO_BUDGET: u64 = 1_215_000;

/// `--lean` hello world may not grow past this. Measured at 739,995 bytes
/// when set (issue 5 asks for 256,000: below this engine's floor).
// Raised from 752,000 with the default budget (measured 783,130-790,175).
const LEAN_HELLO_BUDGET: u64 = 815_000;

/// What compiling QuickJS for size saves at least (measured: ~375 KB).
const LEAN_SAVES_AT_LEAST: u64 = 300_000;

/// What dropping the parser saves at least (measured: ~200 KB).
const PARSER_AT_LEAST: u64 = 150_000;

fn build_with(dir: &std::path::Path, file: &str, out: &str, extra: &[&str]) -> std::path::PathBuf {
    let output = run_with_stdin(kiln(dir).args(["build", "-q", file, "-o", out]).args(extra), b"");
    assert!(output.status.success(), "kiln build {file} {extra:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    dir.join(out)
}

#[test]
fn hello_world_stays_within_the_size_budget() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.js"), "console.log('hello')\n").unwrap();
    let wasm = build_with(dir.path(), "hello.js", "hello.wasm", &[]);
    let size = std::fs::metadata(&wasm).unwrap().len();
    assert!(size <= HELLO_BUDGET, "hello world is {size} bytes, over the budget of {HELLO_BUDGET}");
    assert_eq!(run_both(dir.path(), &wasm, b"").stdout, "hello\n");
}

/// `--lean` modules are much smaller and do exactly what default ones do.
#[test]
fn lean_modules_are_smaller_and_behave_the_same() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.js"), "console.log('hello')\n").unwrap();
    std::fs::write(dir.path().join("app.js"), USES_EVAL).unwrap();
    let default = build_with(dir.path(), "hello.js", "hello.wasm", &[]);
    let lean = build_with(dir.path(), "hello.js", "hello-lean.wasm", &["--lean"]);
    let (default_size, lean_size) = (std::fs::metadata(&default).unwrap().len(), std::fs::metadata(&lean).unwrap().len());
    assert!(lean_size <= LEAN_HELLO_BUDGET, "lean hello world is {lean_size} bytes, over the budget of {LEAN_HELLO_BUDGET}");
    assert!(lean_size + LEAN_SAVES_AT_LEAST <= default_size, "--lean should save at least {LEAN_SAVES_AT_LEAST} bytes: {default_size} default, {lean_size} lean");
    assert_eq!(run_both(dir.path(), &lean, b"").stdout, "hello\n");
    for extra in [&[][..], &["--eval"][..]] {
        let default = build_with(dir.path(), "app.js", "app.wasm", extra);
        let lean = build_with(dir.path(), "app.js", "app-lean.wasm", &[extra, &["--lean"]].concat());
        assert_eq!(run_both(dir.path(), &lean, b"").stdout, run_both(dir.path(), &default, b"").stdout, "{extra:?}");
    }
}

/// Build-time garbage (the init input, the source text, the parser's
/// buffers) is zeroed when freed and so never reaches the module: a megabyte
/// of comment adds nothing.
#[test]
fn what_the_build_frees_does_not_ship() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.js"), "console.log('hello')\n").unwrap();
    let filler = format!("/* {} */\nconsole.log('hello')\n", "comment ".repeat(1 << 17));
    std::fs::write(dir.path().join("filled.js"), filler).unwrap();
    let plain = std::fs::metadata(build_with(dir.path(), "hello.js", "hello.wasm", &[])).unwrap().len();
    let filled_wasm = build_with(dir.path(), "filled.js", "filled.wasm", &[]);
    let filled = std::fs::metadata(&filled_wasm).unwrap().len();
    assert!(filled <= plain + 4096, "a 1 MB comment should not ship: {plain} bytes plain, {filled} with them");
    assert_eq!(run_both(dir.path(), &filled_wasm, b"").stdout, "hello\n");
}

/// Small blocks too: QuickJS-NG recycles blocks of up to 512 bytes in its
/// own arenas, where `free` never sees them. Function mode's top level
/// leaves 3,000 small strings live and drops 3,000 others made between
/// them (so their arenas stay in use): none of the dropped ones ships, all
/// the live ones do.
#[test]
fn small_blocks_the_build_frees_do_not_ship() {
    let dir = tempfile::tempdir().unwrap();
    let program = "const live = [], junk = [];\n\
        for (let i = 0; i < 3000; i++) {\n\
          live.push(String.fromCharCode(76, 86) + '#' + i);\n\
          junk.push(String.fromCharCode(81, 90) + '#' + i);\n\
        }\n\
        junk.length = 0;\n\
        export function run() { return live.length; }\n";
    std::fs::write(dir.path().join("arena.mjs"), program).unwrap();
    for profile in [&[][..], &["--lean"][..]] {
        let wasm = build_with(dir.path(), "arena.mjs", "arena.wasm", &[&["--invoke", "run"], profile].concat());
        let bytes = std::fs::read(&wasm).unwrap();
        let count = |marker: &[u8]| bytes.windows(marker.len()).filter(|w| *w == marker).count();
        assert_eq!((count(b"QZ#"), count(b"LV#")), (0, 3000), "{profile:?}: dropped and live strings in the module");
        assert_eq!(run_both(dir.path(), &wasm, b"{}").stdout, "3000\n", "{profile:?}");
    }
}

/// What `import { format, ... } from "date-fns"` may weigh. date-fns'
/// index re-exports ~800 modules; its package.json says `"sideEffects":
/// false`, so the front end leaves out the ones nothing uses. Measured
/// before that: 5,184,540 bytes (826 modules besides the entry); after:
/// 1,520,420 bytes.
const DATE_FNS_BUDGET: u64 = 1_700_000;

/// The modules such a build may hold besides the entry (measured: 49, 48
/// of date-fns and one stub).
const DATE_FNS_MODULES: usize = 80;

#[test]
fn unused_modules_of_side_effect_free_packages_are_left_out() {
    let case = workspace().join("compiler/tests/fixtures/npm/date-fns");
    // The fixture's own install (fixtures.rs names it so).
    let dir = crate::npm::installed(&case, "fixture-npm-date-fns").unwrap_or_else(|e| panic!("{e}"));
    let entry = dir.join("main.mjs");
    let text = std::fs::read_to_string(&entry).unwrap();
    let graph = kiln_frontend::build(kiln_frontend::Entry { path: &entry, text: &text }, &kiln_frontend::Options::default()).unwrap();
    let names: Vec<&str> = graph.modules.iter().map(|m| m.name.as_str()).collect();
    assert!(names.len() <= DATE_FNS_MODULES, "{} modules, more than {DATE_FNS_MODULES}: {names:?}", names.len());
    for used in ["node_modules/date-fns/index.js", "node_modules/date-fns/format.js", "node_modules/date-fns/locale/fr.js"] {
        assert!(names.contains(&used), "{used} is used: {names:?}");
    }
    for unused in ["node_modules/date-fns/addBusinessDays.js", "node_modules/date-fns/locale/de.js"] {
        assert!(!names.contains(&unused), "{unused} is not used: {names:?}");
    }

    let wasm = build_with(&dir, "main.mjs", "main.wasm", &[]);
    let size = std::fs::metadata(&wasm).unwrap().len();
    assert!(size <= DATE_FNS_BUDGET, "the date-fns fixture is {size} bytes, over {DATE_FNS_BUDGET}");
    let expected = std::fs::read_to_string(case.join("stdout")).unwrap();
    assert_eq!(run_both(&dir, &wasm, b"").stdout, expected);
}

const USES_EVAL: &str = r#"
try {
  console.log(eval("6 * 7"));
} catch (e) {
  console.log(e.name + ": " + e.message);
}
try {
  console.log(new Function("a", "return a + 1")(1));
} catch (e) {
  console.log(e.name);
}
console.log(JSON.parse('{"a":[1]}').a[0], new RegExp("b+").test("abbc"));
"#;

#[test]
fn without_eval_the_parser_is_gone_and_eval_throws_a_clear_type_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), USES_EVAL).unwrap();
    let lean = build_with(dir.path(), "app.js", "lean.wasm", &[]);
    let run = run_both(dir.path(), &lean, b"");
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("TypeError: eval and new Function are not available"), "{}", run.stdout);
    assert!(lines[0].contains("--eval"), "the message says how to get eval back: {}", lines[0]);
    assert_eq!(lines[1..], ["TypeError", "1 true"], "JSON and RegExp need no JavaScript parser");

    let with_eval = build_with(dir.path(), "app.js", "eval.wasm", &["--eval"]);
    assert_eq!(run_both(dir.path(), &with_eval, b"").stdout, "42\n2\n1 true\n");

    let (lean, with_eval) = (std::fs::metadata(&lean).unwrap().len(), std::fs::metadata(&with_eval).unwrap().len());
    assert!(with_eval >= lean + PARSER_AT_LEAST, "the parser should weigh at least {PARSER_AT_LEAST} bytes: {lean} without, {with_eval} with");
}

#[test]
fn runtime_api_has_no_source_text_and_stack_traces_keep_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), "function inner() {\n  throw new Error('boom');\n}\nfunction outer() { inner(); }\ntry { outer(); } catch (e) { console.log(e.stack); }\nconsole.log(String(inner).includes('boom'), String(console.log));\n").unwrap();
    let wasm = build_with(dir.path(), "app.js", "app.wasm", &[]);
    let run = run_both(dir.path(), &wasm, b"");
    assert!(run.stdout.contains("at inner (app.js:2:"), "{}", run.stdout);
    assert!(run.stdout.contains("at outer (app.js:4:"), "{}", run.stdout);
    // The program keeps its text; the runtime API does not.
    assert!(run.stdout.ends_with("true function log() {\n    [native code]\n}\n"), "{}", run.stdout);
}
