//! Runaway programs: `kiln run`'s limits, deep recursion, unbounded
//! allocation.

use crate::util::{Run, build_program, kiln, run_both, run_with_stdin};

/// A loop that never ends and never calls the host.
const SPIN: &str = "for (;;) {}\n";
/// An allocation without bound.
const HOARD: &str = "const hoard = [];\nfor (;;) hoard.push('x'.repeat(1000) + hoard.length);\n";

fn run_with(dir: &std::path::Path, wasm: &std::path::Path, flags: &[&str]) -> Run {
    Run::from(run_with_stdin(kiln(dir).arg("run").args(flags).arg(wasm), b""))
}

fn assert_no_backtrace(run: &Run) {
    for needle in ["backtrace", "wasm function", "panicked", "trapped"] {
        assert!(!run.stderr.contains(needle), "stderr mentions {needle:?}:\n{}", run.stderr);
    }
}

#[test]
fn each_limit_stops_a_runaway_with_one_line_and_its_own_status() {
    let (spin_dir, spin) = build_program("spin.js", SPIN);
    let (hoard_dir, hoard) = build_program("hoard.js", HOARD);
    let cases: [(&std::path::Path, &std::path::Path, &[&str], i32, &str); 4] = [
        (spin_dir.path(), &spin, &["--fuel", "1000000"], 125, "ran out of fuel (limit 1000000)"),
        (spin_dir.path(), &spin, &["--timeout", "300ms"], 124, "ran past its time limit (300ms)"),
        (hoard_dir.path(), &hoard, &["--fuel", "50000000"], 125, "ran out of fuel (limit 50000000)"),
        (hoard_dir.path(), &hoard, &["--max-memory", "32M"], 137, "after reaching its memory limit (--max-memory 32M)"),
    ];
    for (dir, wasm, flags, status, message) in cases {
        let run = run_with(dir, wasm, flags);
        assert_eq!(run.status, Some(status), "{flags:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{flags:?}");
        assert_no_backtrace(&run);
        let last = run.stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with("error: ") && last.ends_with(message), "{flags:?}: last line {last:?}");
        if flags[0] == "--max-memory" {
            // Before kiln's line, the module's own report of the uncaught
            // out-of-memory error.
            assert!(run.stderr.starts_with("Uncaught InternalError: out of memory\n"), "{}", run.stderr);
        } else {
            assert_eq!(run.stderr.lines().count(), 1, "{flags:?}: {}", run.stderr);
        }
    }
}

#[test]
fn unbounded_allocation_is_a_catchable_error_under_max_memory() {
    let source = "const hoard = [];\n\
        try {\n  for (;;) hoard.push('x'.repeat(1000) + hoard.length);\n} catch (e) {\n\
          const n = hoard.length;\n  hoard.length = 0;\n\
          console.log(e instanceof Error, e.name, e.message, n > 1000);\n}\n\
        console.log('still running', JSON.stringify({ ok: [1, 2, 3] }));\n";
    let (dir, wasm) = build_program("hoard.js", source);
    let run = run_with(dir.path(), &wasm, &["--max-memory", "32M"]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "true InternalError out of memory true\nstill running {\"ok\":[1,2,3]}\n");
    assert_eq!(run.stderr, "");
}

/// Deep recursion, in JavaScript and through native functions, throws a
/// `RangeError` that the program can catch, identically on both hosts.
#[test]
fn infinite_recursion_is_a_catchable_range_error_on_both_hosts() {
    let source = r#"
function attempt(name, f) {
  try { f(); console.log(name, "returned"); }
  catch (e) { console.log(name, e instanceof RangeError, e.message); }
}
function nest(depth, leaf) { let o = leaf; for (let i = 0; i < depth; i++) o = { a: o }; return o; }
attempt("plain", function f() { f(); });
attempt("mutual", () => { const a = () => b(); const b = () => a(); a(); });
attempt("map", function g() { [1].map(g); });
attempt("getter", () => { const o = { get x() { return this.x; } }; o.x; });
attempt("toString", () => { const o = { toString() { return `${this}`; } }; String(o); });
attempt("toJSON", () => { const o = { toJSON() { return JSON.stringify(this); } }; JSON.stringify(o); });
attempt("proxy", () => { const p = new Proxy({}, { get(t, k, r) { return r[k]; } }); p.x; });
attempt("stringify", () => JSON.stringify(nest(35000, 0)));
attempt("parse", () => JSON.parse("[".repeat(200000) + "]".repeat(200000)));
attempt("join", () => { let a = []; for (let i = 0; i < 200000; i++) a = [a]; String(a); });
attempt("clone", () => structuredClone(nest(100000, 0)));
attempt("inspect", () => console.log(nest(100000, 0)));
attempt("regexp", () => new RegExp("(".repeat(100000) + ")".repeat(100000)));
// A chain of promises 100,000 long is jobs, not recursion.
let links = 0;
function p() { return ++links < 100000 ? Promise.resolve().then(p) : links; }
attempt("promise", () => p().then((n) => console.log("promise chain", n)));
attempt("after all that", () => {});
"#;
    let (dir, wasm) = build_program("deep.js", source);
    let run = run_both(dir.path(), &wasm, b"");
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let expected = [
        "plain true Maximum call stack size exceeded",
        "mutual true Maximum call stack size exceeded",
        "map true Maximum call stack size exceeded",
        "getter true Maximum call stack size exceeded",
        "toString true Maximum call stack size exceeded",
        "toJSON true Maximum call stack size exceeded",
        "proxy true Maximum call stack size exceeded",
        "stringify true Maximum call stack size exceeded",
        "parse true Maximum call stack size exceeded",
        "join true Maximum call stack size exceeded",
        "clone true Maximum call stack size exceeded",
        // console.log shows 3 levels, as Node does.
        "{ a: { a: { a: [Object] } } }",
        "inspect returned",
        // 100,000 groups: more than the 255 captures QuickJS allows (a SyntaxError).
        "regexp false too many captures",
        "promise returned",
        "after all that returned",
        "promise chain 100000",
    ];
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected, "{}", run.stdout);
}

#[test]
fn uncaught_infinite_recursion_exits_1_with_a_clean_message_on_both_hosts() {
    let (dir, wasm) = build_program("rec.js", "function f() { f(); }\nf();\n");
    let run = run_both(dir.path(), &wasm, b"");
    assert_eq!(run.status, Some(1), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("Uncaught RangeError: Maximum call stack size exceeded\n    at f (rec.js:1:15)\n"), "{}", run.stderr);
    assert_no_backtrace(&run);
}

#[test]
fn recursion_depth_is_the_same_on_both_hosts() {
    // The limit is a shadow-stack budget sized for the native stack the
    // runner says it gives; both say 16 MiB, so both reach the same depth.
    let source = "let depth = 0;\nfunction f() { depth++; f(); }\ntry { f(); } catch (e) { console.log(depth > 1000, depth); }\n";
    let (dir, wasm) = build_program("depth.js", source);
    let run = run_both(dir.path(), &wasm, b"");
    assert!(run.stdout.starts_with("true "), "{}", run.stdout);
}

/// Function mode's top level runs inside `kiln build`, with the same limit:
/// recursion there is a `RangeError` too, caught or reported as a build
/// error, never a trap.
#[test]
fn recursion_at_build_time_is_a_range_error_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("caught.mjs"),
        "let caught;\nfunction f() { f(); }\ntry { f(); } catch (e) { caught = `${e instanceof RangeError} ${e.message}`; }\n\
         export function run() { return caught; }\n",
    )
    .unwrap();
    let built = run_with_stdin(kiln(dir.path()).args(["build", "-q", "caught.mjs", "--invoke", "run", "-o", "caught.wasm"]), b"");
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let run = Run::from(run_with_stdin(kiln(dir.path()).args(["run", "caught.wasm"]), b"null"));
    assert_eq!(run.stdout, "\"true Maximum call stack size exceeded\"\n", "{}", run.stderr);

    std::fs::write(dir.path().join("uncaught.mjs"), "function f() { f(); }\nf();\nexport function run() { return 1; }\n").unwrap();
    let built = Run::from(run_with_stdin(kiln(dir.path()).args(["build", "uncaught.mjs", "--invoke", "run"]), b""));
    assert_eq!(built.status, Some(1), "{}", built.stderr);
    assert!(built.stderr.contains("RangeError: Maximum call stack size exceeded\n    at f (uncaught.mjs:1:15)"), "{}", built.stderr);
    assert_no_backtrace(&built);
}

/// Function mode's top level allocating without bound fails the build at
/// once with `out of memory` and the limit's name, instead of growing the
/// build towards 4 GiB until the 60 s timeout.
#[test]
fn unbounded_allocation_at_build_time_fails_at_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hoard.mjs"), "const a = [];\nfor (;;) a.push(new Array(1e6).fill(0));\nexport function run() {}\n").unwrap();
    for (flags, limit) in [(&["--build-max-memory", "64M"][..], "64 MiB"), (&["--build-max-memory", "96M"][..], "96 MiB")] {
        let output = run_with_stdin(kiln(dir.path()).args(["build", "hoard.mjs", "--invoke", "run"]).args(flags), b"");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("InternalError: out of memory: the build used more than its memory limit of {limit} (raise it with --build-max-memory)")),
            "{stderr}"
        );
        assert!(!dir.path().join("hoard.wasm").exists());
    }
    let help = run_with_stdin(kiln(dir.path()).args(["build", "--help"]), b"");
    assert!(String::from_utf8_lossy(&help.stdout).contains("--build-max-memory <SIZE>"), "the limit is documented in --help");
}
