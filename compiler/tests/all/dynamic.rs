//! Dynamic modules (`kiln build --dynamic`) linked against the shared
//! engine (`kiln engine`): on every host that can link them (`kiln run
//! --engine`, `run-node.mjs --engine`, the Python wasmtime `Linker` and
//! `wasmtime run --preload`), with a clear
//! failure for the wrong engine, within their size and fuel budgets.
//! (Every example also runs dynamically: see `examples.rs`.)

use crate::util::{Run, fuel_from_stats, kiln, run_both_linked, run_with_stdin, workspace};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The shared engine this `kiln` writes, made once per test run.
pub fn shared_engine() -> PathBuf {
    static ENGINE: OnceLock<PathBuf> = OnceLock::new();
    ENGINE.get_or_init(|| write_engine(&[])).clone()
}

/// The engine of `kiln engine --lean`: another engine, another namespace.
fn lean_engine() -> PathBuf {
    static ENGINE: OnceLock<PathBuf> = OnceLock::new();
    ENGINE.get_or_init(|| write_engine(&["--lean"])).clone()
}

fn write_engine(args: &[&str]) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join("kiln-engine.wasm");
    let output = run_with_stdin(kiln(&dir).args(["engine", "-q", "-o"]).arg(&path).args(args), b"");
    assert!(output.status.success(), "kiln engine {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    path
}

fn namespace_of(args: &[&str]) -> String {
    let output = run_with_stdin(kiln(&workspace()).args(["engine", "--namespace"]).args(args), b"");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Builds `source` (written to `name`) with `--dynamic` and `args`.
fn build_dynamic(dir: &Path, name: &str, source: &str, args: &[&str]) -> PathBuf {
    std::fs::write(dir.join(name), source).unwrap();
    build_in(dir, name, &["--dynamic"].iter().chain(args).copied().collect::<Vec<_>>())
}

fn build_in(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let wasm = dir.join(format!("{name}{}.wasm", args.join("").replace(['-', '='], "")));
    let output = run_with_stdin(kiln(dir).args(["build", "-q", name, "-o"]).arg(&wasm).args(args), b"");
    assert!(output.status.success(), "kiln build {name} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    wasm
}

/// `scripts/hosts/wasmtime-default.py --preload NAMESPACE=ENGINE`: the
/// Python `wasmtime` package's `Linker`, wasmtime's default configuration.
fn run_python(dir: &Path, wasm: &Path, namespace: &str, engine: &Path, stdin: &[u8]) -> Run {
    let mut cmd = Command::new("python3");
    cmd.current_dir(dir).arg(workspace().join("scripts/hosts/wasmtime-default.py")).arg("--preload").arg(format!("{namespace}={}", engine.display())).arg(wasm);
    Run::from(run_with_stdin(&mut cmd, stdin))
}

/// `wasmtime run --preload NAMESPACE=ENGINE` (with `--invoke EXPORT` for a
/// function-mode target): the wasmtime CLI, as `scripts/setup.sh` installs
/// it into `target/hosts`.
fn run_wasmtime_cli(dir: &Path, wasm: &Path, namespace: &str, engine: &Path, invoke: Option<&str>, stdin: &[u8]) -> Run {
    let cli = workspace().join("target/hosts/bin/wasmtime");
    assert!(cli.exists(), "{} is missing: run ./scripts/setup.sh (it installs wasmtime-cli)", cli.display());
    let mut cmd = Command::new(cli);
    cmd.current_dir(dir).arg("run").arg("--preload").arg(format!("{namespace}={}", engine.display()));
    if let Some(export) = invoke {
        cmd.arg("--invoke").arg(export);
    }
    Run::from(run_with_stdin(cmd.arg(wasm), stdin))
}

fn stats_fuel(dir: &Path, wasm: &Path, engine: Option<&Path>, stdin: &[u8]) -> u64 {
    let mut cmd = kiln(dir);
    cmd.args(["run", "--stats"]);
    if let Some(engine) = engine {
        cmd.arg("--engine").arg(engine);
    }
    let output = run_with_stdin(cmd.arg(wasm), stdin);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    fuel_from_stats(&String::from_utf8_lossy(&output.stderr))
}

/// What a hello world costs as a dynamic module (bytecode form), in bytes:
/// measured 248 for `console.log("hello, world")`, ~270 for this test's
/// longer line (Javy 9: 420; the issue's target: 400).
const HELLO_BUDGET: u64 = 400;
/// The discount script (`examples/discount`, 1,947 bytes of source):
/// measured 3,529 in bytecode form (the memory-image form: 6,828).
const DISCOUNT_BUDGET: u64 = 4_500;
/// Javy 9's peer program (`compiler/tests/dynamic/javy-discount.js`, 1,158
/// bytes of source): measured 2,412 (Javy 9: 2,991; target 2,500).
const PEER_DISCOUNT_BUDGET: u64 = 2_500;

#[test]
fn hello_runs_linked_on_every_host_and_fits_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_dynamic(dir.path(), "hello.js", "console.log('hello from a dynamic module')\n", &[]);
    let size = std::fs::metadata(&wasm).unwrap().len();
    assert!(size <= HELLO_BUDGET, "a dynamic hello world is {size} bytes (budget {HELLO_BUDGET})");
    let engine = shared_engine();
    let run = run_both_linked(dir.path(), &wasm, &engine, "_start", b"");
    assert_eq!((run.status, run.stdout.as_str(), run.stderr.as_str()), (Some(0), "hello from a dynamic module\n", ""));
    let python = run_python(dir.path(), &wasm, &namespace_of(&[]), &engine, b"");
    assert_eq!(python, run, "the Python wasmtime Linker");
    assert_eq!(run_wasmtime_cli(dir.path(), &wasm, &namespace_of(&[]), &engine, None, b""), run, "wasmtime run --preload");
}

#[test]
fn the_discount_script_fits_its_budget_and_costs_about_what_its_static_build_does() {
    let example = workspace().join("examples/discount");
    let input = std::fs::read(example.join("input.json")).unwrap();
    let out = tempfile::tempdir().unwrap();
    std::fs::copy(example.join("discount.js"), out.path().join("discount.js")).unwrap();
    let dynamic = build_in(out.path(), "discount.js", &["--dynamic"]);
    let fixed = build_in(out.path(), "discount.js", &[]);
    let size = std::fs::metadata(&dynamic).unwrap().len();
    assert!(size <= DISCOUNT_BUDGET, "the dynamic discount script is {size} bytes (budget {DISCOUNT_BUDGET})");
    let engine = shared_engine();
    let expected = std::fs::read_to_string(example.join("expected.out")).unwrap();
    assert_eq!(run_both_linked(out.path(), &dynamic, &engine, "_start", &input).stdout, expected);
    assert_eq!(run_python(out.path(), &dynamic, &namespace_of(&[]), &engine, &input).stdout, expected);
    assert_eq!(run_wasmtime_cli(out.path(), &dynamic, &namespace_of(&[]), &engine, None, &input).stdout, expected, "wasmtime run --preload");
    let (linked, own) = (stats_fuel(out.path(), &dynamic, Some(&engine), &input), stats_fuel(out.path(), &fixed, None, &input));
    assert!(linked as f64 <= own as f64 * 1.3, "dynamic {linked} fuel against static {own}: more than 1.3x");
}

/// `--dynamic-for fuel`: what a run of a tiny program costs, when bytes
/// matter less than instructions. The bytecode form pays ~7,000 fuel per
/// run to read hello world's bytecode (2.4x its static build); the image
/// as data segments pays nothing per run.
#[test]
fn built_for_fuel_a_dynamic_module_costs_what_its_static_build_does() {
    let dir = tempfile::tempdir().unwrap();
    let engine = shared_engine();
    let programs = [
        ("hello.js", "console.log('hello from a dynamic module')\n"),
        ("empty.js", "\n"),
        ("module.mjs", "const n = await Promise.resolve(6 * 7);\nconsole.log(`n = ${n}`);\n"),
    ];
    for (name, source) in programs {
        let for_fuel = build_dynamic(dir.path(), name, source, &["--dynamic-for", "fuel"]);
        let for_bytes = build_dynamic(dir.path(), name, source, &[]);
        let fixed = build_in(dir.path(), name, &[]);
        let run = run_both_linked(dir.path(), &for_fuel, &engine, "_start", b"");
        assert_eq!(run, run_both_linked(dir.path(), &for_bytes, &engine, "_start", b""), "{name}: both forms run alike");
        assert_eq!((run.status, run.stderr.as_str()), (Some(0), ""), "{name}");
        assert_eq!(run_wasmtime_cli(dir.path(), &for_fuel, &namespace_of(&[]), &engine, None, b""), run, "{name}: wasmtime run --preload");
        let (linked, own) = (stats_fuel(dir.path(), &for_fuel, Some(&engine), b""), stats_fuel(dir.path(), &fixed, None, b""));
        eprintln!("{name}: built for fuel, dynamic {linked} fuel against static {own}");
        assert!(linked as f64 <= own as f64 * 1.3, "{name}: built for fuel, dynamic {linked} fuel against static {own}: more than 1.3x");
        let inspect = run_with_stdin(kiln(dir.path()).arg("inspect").arg(&for_fuel), b"");
        assert!(String::from_utf8_lossy(&inspect.stdout).contains("memory image"), "{name}: {}", String::from_utf8_lossy(&inspect.stdout));
    }
    // Only with --dynamic.
    let output = run_with_stdin(kiln(dir.path()).args(["build", "-q", "hello.js", "--dynamic-for", "fuel", "-o", "x.wasm"]), b"");
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!dir.path().join("x.wasm").exists());
}

#[test]
fn function_mode_exports_each_target_and_runs_its_top_level_once_at_build_time() {
    let dir = tempfile::tempdir().unwrap();
    let source = "console.log('top level');\nlet calls = 0;\nexport function total(cart) { calls++; return { total: cart.items.reduce((s, i) => s + i, 0), calls } }\nexport function count(cart) { return cart.items.length }\n";
    let wasm = build_dynamic(dir.path(), "fn.mjs", source, &["--invoke", "total", "--invoke", "count=item-count"]);
    let engine = shared_engine();
    let input = br#"{"items":[1,2,3.5]}"#;
    let total = run_both_linked(dir.path(), &wasm, &engine, "total", input);
    // The top level ran at build time: nothing of it at run time.
    assert_eq!((total.status, total.stdout.as_str(), total.stderr.as_str()), (Some(0), "{\"total\":6.5,\"calls\":1}\n", ""));
    assert_eq!(run_both_linked(dir.path(), &wasm, &engine, "item-count", input).stdout, "3\n");
    let cli = run_wasmtime_cli(dir.path(), &wasm, &namespace_of(&[]), &engine, Some("item-count"), input);
    assert_eq!((cli.status, cli.stdout.as_str()), (Some(0), "3\n"), "wasmtime run --preload --invoke: {}", cli.stderr);
    assert_eq!(run_both_linked(dir.path(), &wasm, &engine, "_start", input).stdout, total.stdout, "_start runs the first target");
}

#[test]
fn javys_discount_program_is_smaller_dynamic_than_javys_and_runs_alike() {
    let peer = workspace().join("compiler/tests/dynamic");
    let out = tempfile::tempdir().unwrap();
    std::fs::copy(peer.join("javy-discount.js"), out.path().join("discount.js")).unwrap();
    let input = std::fs::read(peer.join("javy-discount.in")).unwrap();
    let dynamic = build_in(out.path(), "discount.js", &["--dynamic"]);
    let fixed = build_in(out.path(), "discount.js", &[]);
    let size = std::fs::metadata(&dynamic).unwrap().len();
    assert!(size <= PEER_DISCOUNT_BUDGET, "the dynamic peer discount script is {size} bytes (budget {PEER_DISCOUNT_BUDGET})");
    let linked = run_both_linked(out.path(), &dynamic, &shared_engine(), "_start", &input);
    assert_eq!(linked, crate::util::run_both(out.path(), &fixed, &input), "dynamic and static modules run alike");
    assert_eq!(linked.status, Some(0));
}

/// Which form `kiln inspect` says a dynamic module has.
fn form_of(wasm: &Path) -> String {
    let output = kiln(wasm.parent().unwrap()).arg("inspect").arg(wasm).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.lines().find_map(|l| l.strip_prefix("form: ")).unwrap_or_default().to_string()
}

#[test]
fn a_lone_script_ships_as_bytecode_and_anything_else_as_a_memory_image() {
    let dir = tempfile::tempdir().unwrap();
    let script = build_dynamic(dir.path(), "lone.js", "function f() { return 42 }\nconsole.log(f(), f.toString())\n", &[]);
    assert!(form_of(&script).starts_with("bytecode"), "{}", form_of(&script));
    // The source text travels with the bytecode, as in a static module.
    assert_eq!(run_both_linked(dir.path(), &script, &shared_engine(), "_start", b"").stdout, "42 function f() { return 42 }\n");
    std::fs::write(dir.path().join("lib.mjs"), "export const answer = 42;\n").unwrap();
    let module = build_dynamic(dir.path(), "main.mjs", "import { answer } from './lib.mjs';\nconsole.log(answer);\n", &[]);
    assert!(form_of(&module).starts_with("memory image"), "{}", form_of(&module));
    assert_eq!(run_both_linked(dir.path(), &module, &shared_engine(), "_start", b"").stdout, "42\n");
    let function = build_dynamic(dir.path(), "fn.js", "export function run(x) { return x }\n", &["--invoke", "run", "--io", "json"]);
    assert!(form_of(&function).starts_with("memory image"), "function mode's top level runs at build time: {}", form_of(&function));
    // A script too large for the bytecode form's per-run read.
    let big: String = (0..2_000).map(|i| format!("var v{i} = {i};\n")).collect::<String>() + "console.log(v1999)\n";
    let big = build_dynamic(dir.path(), "big.js", &big, &[]);
    assert!(form_of(&big).starts_with("memory image"), "{}", form_of(&big));
    assert_eq!(run_both_linked(dir.path(), &big, &shared_engine(), "_start", b"").stdout, "1999\n");
}

#[test]
fn a_syntax_error_in_a_lone_script_is_the_same_build_error_as_static() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.js"), "let x = 1;\nlet y = ;\n").unwrap();
    let run = |args: &[&str]| kiln(dir.path()).arg("build").args(args).arg("bad.js").arg("-o").arg("bad.wasm").output().unwrap();
    let (dynamic, fixed) = (run(&["--dynamic"]), run(&[]));
    assert_eq!(dynamic.status.code(), fixed.status.code());
    assert_ne!(dynamic.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&dynamic.stderr), String::from_utf8_lossy(&fixed.stderr));
    assert!(String::from_utf8_lossy(&dynamic.stderr).contains("bad.js:2"), "{}", String::from_utf8_lossy(&dynamic.stderr));
    assert!(!dir.path().join("bad.wasm").exists(), "no output on failure");
}

#[test]
fn an_uncaught_error_is_reported_with_its_position_and_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let source = "function check(x) {\n  if (x > 1) throw new RangeError(`too big: ${x}`);\n}\nconsole.log('before');\ncheck(2);\n";
    let dynamic = build_dynamic(dir.path(), "fail.js", source, &[]);
    let fixed = build_in(dir.path(), "fail.js", &[]);
    let linked = run_both_linked(dir.path(), &dynamic, &shared_engine(), "_start", b"");
    let own = crate::util::run_both(dir.path(), &fixed, b"");
    assert_eq!(linked, own, "dynamic and static modules fail alike");
    assert_eq!(linked.status, Some(1));
    assert!(linked.stderr.contains("RangeError: too big: 2") && linked.stderr.contains("fail.js:2"), "{}", linked.stderr);
}

#[test]
fn another_engine_is_refused_on_every_host_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_dynamic(dir.path(), "hello.js", "console.log('hi')\n", &[]);
    let (expected, offered) = (namespace_of(&[]), namespace_of(&["--lean"]));
    assert_ne!(expected, offered, "the lean engine is another engine");

    let kiln_run = run_with_stdin(kiln(dir.path()).arg("run").arg("--engine").arg(lean_engine()).arg(&wasm), b"");
    let stderr = String::from_utf8_lossy(&kiln_run.stderr);
    assert_eq!(kiln_run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&expected) && stderr.contains(&offered) && kiln_run.stdout.is_empty(), "kiln run names both engines: {stderr}");

    let mut node = Command::new("node");
    node.current_dir(dir.path()).arg(workspace().join("examples/run-node.mjs")).arg("--engine").arg(lean_engine()).arg(&wasm);
    let node = run_with_stdin(&mut node, b"");
    let stderr = String::from_utf8_lossy(&node.stderr);
    assert_eq!(node.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot be linked") && stderr.contains(&expected) && node.stdout.is_empty(), "{stderr}");

    let python = run_python(dir.path(), &wasm, &offered, &lean_engine(), b"");
    assert_eq!(python.status, Some(2), "{}", python.stderr);
    assert!(python.stderr.contains("unknown import") && python.stderr.contains(&expected) && python.stdout.is_empty(), "{}", python.stderr);

    let cli = run_wasmtime_cli(dir.path(), &wasm, &offered, &lean_engine(), None, b"");
    assert_ne!(cli.status, Some(0), "{}", cli.stderr);
    assert!(cli.stderr.contains("unknown import") && cli.stderr.contains(&expected) && cli.stdout.is_empty(), "wasmtime run --preload: {}", cli.stderr);
}

#[test]
fn a_dynamic_module_without_its_engine_says_how_to_run_it() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_dynamic(dir.path(), "hello.js", "console.log('hi')\n", &[]);
    let output = run_with_stdin(kiln(dir.path()).arg("run").arg(&wasm), b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("dynamic module") && stderr.contains("--engine") && stderr.contains(&namespace_of(&[])), "{stderr}");
    // The engine alone holds no program, and says so.
    let output = run_with_stdin(kiln(dir.path()).arg("run").arg(shared_engine()), b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("shared engine"), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn inspect_names_the_engine_a_module_needs() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_dynamic(dir.path(), "hello.js", "console.log('hi')\n", &[]);
    let namespace = namespace_of(&[]);
    assert!(namespace.starts_with("kiln-engine-v3-"), "{namespace}");
    let inspect = |path: &Path| {
        let output = run_with_stdin(kiln(dir.path()).arg("inspect").arg(path), b"");
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    let module = inspect(&wasm);
    assert!(module.contains("kind: dynamic") && module.contains(&format!("engine namespace: {namespace}")), "{module}");
    let engine = inspect(&shared_engine());
    assert!(engine.contains("kind: shared engine") && engine.contains(&format!("namespace: {namespace}")), "{engine}");
}

#[test]
fn the_shopify_example_fits_every_shopify_limit_only_when_dynamic() {
    let example = workspace().join("examples/shopify-dynamic");
    let args: Vec<String> = std::fs::read_to_string(example.join("build-args")).unwrap().split_whitespace().map(str::to_string).collect();
    let input = std::fs::read(example.join("input.json")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let limits = |dynamic: bool| {
        let wasm = out.path().join(format!("fn-{dynamic}.wasm"));
        let mut build = kiln(&example);
        build.args(["build", "-q", "index.js", "-o"]).arg(&wasm).args(&args);
        if dynamic {
            build.arg("--dynamic");
        }
        assert!(run_with_stdin(&mut build, b"").status.success());
        let mut run = kiln(out.path());
        run.args(["run", "--limits", "shopify"]);
        if dynamic {
            run.arg("--engine").arg(shared_engine());
        }
        run_with_stdin(run.arg(&wasm), &input)
    };
    let dynamic = limits(true);
    let stderr = String::from_utf8_lossy(&dynamic.stderr);
    assert_eq!(dynamic.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("within all limits"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&dynamic.stdout), std::fs::read_to_string(example.join("expected.out")).unwrap());
    let fixed = limits(false);
    assert_eq!(fixed.status.code(), Some(122), "a static module is over the module limit");
    assert!(String::from_utf8_lossy(&fixed.stderr).contains("exceeded: module"), "{}", String::from_utf8_lossy(&fixed.stderr));
}
