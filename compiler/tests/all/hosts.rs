//! The host matrix: the same modules on every kind of WASI host a user
//! meets, each as that host comes by default, with outputs compared byte
//! for byte:
//!
//! - `kiln run` (the embedded wasmtime, 16 MiB of stack);
//! - node:wasi in a worker with a 16 MiB stack (`examples/run-node.mjs`);
//! - node:wasi the plain way, on the main thread with Node's default stack
//!   (`scripts/hosts/node-plain.mjs`), as a user's own loader runs it;
//! - wasmtime with its default configuration, 512 KiB of stack: PyPI's
//!   `wasmtime` (`scripts/hosts/wasmtime-default.py`), the same runtime
//!   and defaults as the `wasmtime` CLI and the Go, .NET and C embeddings;
//! - wasmi, an interpreter (`wasmi_cli`, with its default limits);
//! - headless Chromium loading `examples/browser/` (a WASI shim from npm),
//!   stdin typed into the page and stdout read back from it.
//!
//! `scripts/setup.sh` installs every host; a missing one fails the test
//! with a message saying so.

use crate::util::{Run, kiln, node, run_with_stdin, workspace};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    KilnRun,
    NodeWorker,
    NodePlain,
    WasmtimeDefault,
    Wasmi,
    Chromium,
}

/// Every host, in the order the README's table lists them.
pub const ALL: [Host; 6] = [Host::KilnRun, Host::NodeWorker, Host::NodePlain, Host::WasmtimeDefault, Host::Wasmi, Host::Chromium];

/// The hosts that give a module their small default stack (and so the
/// module's own default recursion limit).
const DEFAULT_STACK_HOSTS: [Host; 4] = [Host::NodePlain, Host::WasmtimeDefault, Host::Wasmi, Host::Chromium];

impl Host {
    pub fn name(self) -> &'static str {
        match self {
            Host::KilnRun => "kiln run",
            Host::NodeWorker => "node:wasi (run-node.mjs, 16 MiB worker)",
            Host::NodePlain => "node:wasi (main thread, defaults)",
            Host::WasmtimeDefault => "wasmtime (defaults, 512 KiB)",
            Host::Wasmi => "wasmi (defaults)",
            Host::Chromium => "Chromium (browser_wasi_shim)",
        }
    }

    /// The command that runs `wasm` on this host, reading stdin.
    pub fn command(self, dir: &Path, wasm: &Path) -> Command {
        let mut cmd = match self {
            Host::KilnRun => {
                let mut cmd = kiln(dir);
                cmd.arg("run").arg(wasm);
                return cmd;
            }
            Host::NodeWorker => return node(dir, wasm),
            Host::NodePlain => {
                let mut cmd = Command::new("node");
                cmd.arg(workspace().join("scripts/hosts/node-plain.mjs"));
                cmd
            }
            Host::WasmtimeDefault => {
                let mut cmd = Command::new("python3");
                cmd.arg(workspace().join("scripts/hosts/wasmtime-default.py"));
                cmd
            }
            Host::Wasmi => {
                let mut cmd = Command::new(wasmi());
                cmd.arg("run");
                cmd
            }
            Host::Chromium => {
                let mut cmd = Command::new("node");
                cmd.arg(workspace().join("examples/browser/run-chromium.mjs"));
                cmd
            }
        };
        cmd.current_dir(dir).arg(wasm);
        cmd
    }

    /// Whether this host has a pipe for stdout (the browser page has none).
    fn has_pipes(self) -> bool {
        self != Host::Chromium
    }
}

/// `wasmi_cli`'s binary, as `scripts/setup.sh` installs it.
fn wasmi() -> PathBuf {
    let installed = workspace().join("target/hosts/bin/wasmi");
    assert!(installed.exists(), "{} is missing: run ./scripts/setup.sh (it installs wasmi_cli)", installed.display());
    installed
}

/// Runs `wasm` on `host` with `stdin`.
pub fn run_on(host: Host, dir: &Path, wasm: &Path, stdin: &[u8]) -> Run {
    let run = Run::from(run_with_stdin(&mut host.command(dir, wasm), stdin));
    let missing = ["No module named 'wasmtime'", "Cannot find package 'playwright-core'", "Executable doesn't exist"];
    if let Some(what) = missing.iter().find(|m| run.stderr.contains(*m)) {
        panic!("{} is not installed ({what}): run ./scripts/setup.sh", host.name());
    }
    run
}

fn build_in(dir: &Path, name: &str, source: &str, args: &[&str]) -> PathBuf {
    std::fs::write(dir.join(name), source).unwrap();
    let out = format!("{name}.wasm");
    let output = run_with_stdin(kiln(dir).args(["build", "-q", name, "-o", &out]).args(args), b"");
    assert!(output.status.success(), "kiln build {name} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    dir.join(out)
}

/// The examples (but the sieve, minutes on an interpreter), built once,
/// give their expected output on every host.
#[test]
fn the_examples_run_alike_on_every_host() {
    let examples = workspace().join("examples");
    let out = tempfile::tempdir().unwrap();
    for name in ["hello", "json-transform", "discount", "discount-function", "async-module", "timers", "modules", "javy-json", "uncaught-error"] {
        let dir = examples.join(name);
        let program = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.ends_with(".js") || n.ends_with(".mjs"))
            .unwrap();
        let input = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).find(|e| e.file_name().to_string_lossy().starts_with("input.")).unwrap();
        let build_args = std::fs::read_to_string(dir.join("build-args")).unwrap_or_default();
        let wasm = out.path().join(format!("{name}.wasm"));
        let output = run_with_stdin(kiln(&dir).args(["build", "-q", &program, "-o"]).arg(&wasm).args(build_args.split_whitespace()), b"");
        assert!(output.status.success(), "building {name}: {}", String::from_utf8_lossy(&output.stderr));
        let stdin = std::fs::read(input.path()).unwrap();
        let expected = std::fs::read_to_string(dir.join("expected.out")).unwrap();
        let status = std::fs::read_to_string(dir.join("expected.status")).map_or(0, |s| s.trim().parse().unwrap());
        for host in ALL {
            let run = run_on(host, out.path(), &wasm, &stdin);
            assert_eq!(run.stdout, expected, "stdout of {name} on {}", host.name());
            assert_eq!(run.status, Some(status), "exit status of {name} on {}: {}", host.name(), run.stderr);
            if let Ok(stderr) = std::fs::read_to_string(dir.join("expected.err")) {
                assert_eq!(run.stderr, stderr, "stderr of {name} on {}", host.name());
            }
        }
    }
}

/// Runaway recursion is a catchable `RangeError` on every host, default
/// engine and `--lean`, and what the program printed before is kept.
#[test]
fn runaway_recursion_is_a_range_error_on_every_host() {
    let source = "console.log('before');\nlet depth = 0;\nfunction f() { depth++; f(); }\ntry { f(); } catch (e) { console.log(e instanceof RangeError, e.message, depth > 100); }\nconsole.log('after');\n";
    let dir = tempfile::tempdir().unwrap();
    for args in [&[][..], &["--lean"][..]] {
        let wasm = build_in(dir.path(), "runaway.js", source, args);
        for host in ALL {
            let run = run_on(host, dir.path(), &wasm, b"");
            assert_eq!(run.stdout, "before\ntrue Maximum call stack size exceeded true\nafter\n", "{args:?} on {}: {}", host.name(), run.stderr);
            assert_eq!((run.status, run.stderr.as_str()), (Some(0), ""), "{args:?} on {}", host.name());
        }
    }
}

/// Uncaught, it ends the module with status 1 and the error, on every host.
#[test]
fn uncaught_runaway_recursion_exits_1_on_every_host() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_in(dir.path(), "rec.js", "console.log('before');\nfunction f() { f(); }\nf();\n", &[]);
    for host in ALL {
        let run = run_on(host, dir.path(), &wasm, b"");
        assert_eq!(run.status, Some(1), "on {}: {}", host.name(), run.stderr);
        assert_eq!(run.stdout, "before\n", "on {}", host.name());
        assert!(run.stderr.starts_with("Uncaught RangeError: Maximum call stack size exceeded\n    at f (rec.js:2:16)\n"), "on {}: {}", host.name(), run.stderr);
    }
}

/// Every recursion path QuickJS has — JavaScript calls and native recursion
/// through JSON, getters, proxies, `toString`, `structuredClone`, regexp
/// compilation — ends in a catchable error (a `RangeError`; libregexp's
/// `SyntaxError: stack overflow`), never a trap, on every host's default
/// stack.
#[test]
fn no_recursion_path_traps_on_any_host() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_in(dir.path(), "deep.js", DEEP_PATHS, &[]);
    let lean = build_in(dir.path(), "deep-lean.js", DEEP_PATHS, &["--lean"]);
    for wasm in [wasm, lean] {
        for host in ALL {
            let run = run_on(host, dir.path(), &wasm, b"");
            assert_eq!(run.status, Some(0), "{} on {}: {}", wasm.display(), host.name(), run.stderr);
            // libregexp has its own check, and its own error.
            let fine = |l: &&str| l.ends_with(" range") || *l == "regexp SyntaxError: stack overflow" || *l == "done";
            let bad: Vec<&str> = run.stdout.lines().filter(|l| !fine(l)).collect();
            assert!(bad.is_empty() && run.stdout.ends_with("done\n"), "{} on {}: {bad:?}\n{}", wasm.display(), host.name(), run.stdout);
        }
    }
}

/// Each path, driven past any limit; prints `<path> range` when the
/// `RangeError` came.
pub const DEEP_PATHS: &str = r#"
function nest(depth, leaf) { let o = leaf; for (let i = 0; i < depth; i++) o = { a: o }; return o; }
const paths = {
  plain: () => { function f() { f(); } f(); },
  mutual: () => { const a = () => b(); const b = () => a(); a(); },
  map: () => { function g() { [1].map(g); } g(); },
  getter: () => { const o = { get x() { return this.x; } }; o.x; },
  toString: () => { const o = { toString() { return `${this}`; } }; String(o); },
  toJSON: () => { const o = { toJSON() { return JSON.stringify(this); } }; JSON.stringify(o); },
  proxy: () => { const p = new Proxy({}, { get(t, k, r) { return r[k]; } }); p.x; },
  stringify: () => JSON.stringify(nest(100000, 0)),
  parse: () => JSON.parse("[".repeat(200000) + "]".repeat(200000)),
  reviver: () => JSON.parse("[".repeat(200000) + "]".repeat(200000), (k, v) => v),
  join: () => { let a = []; for (let i = 0; i < 200000; i++) a = [a]; String(a); },
  clone: () => structuredClone(nest(100000, 0)),
  regexp: () => new RegExp("(?:".repeat(100000) + ")".repeat(100000)),
  apply: () => { function d() { return d.apply(null, []); } d(); },
  bound: () => { let b; function d() { return b(); } b = d.bind(null); b(); },
  ctor: () => { class C { constructor() { new C(); } } new C(); },
  generator: () => { function* g() { yield* g(); } [...g()]; },
  sort: () => { function s() { [2, 1].sort(s); return 0; } s(); },
  replace: () => { function r() { "a".replace(/a/, r); return ""; } r(); },
  tagged: () => { function t() { return t``; } t``; },
  finally: () => { function d() { try { return d(); } finally { } } d(); },
};
for (const [name, f] of Object.entries(paths)) {
  try { f(); console.log(name, "returned"); }
  catch (e) { console.log(name, e instanceof RangeError ? "range" : `${e}`); }
}
console.log("done");
"#;

/// How deep ordinary recursion goes on each host (the README's table):
/// at least 10,000 levels under `kiln run`, as in Node; on the hosts with
/// small stacks as deep as fits, and the same on all of them.
#[test]
fn recursion_depth_per_host() {
    let source = "function d(n) { return n === 0 ? 0 : 1 + d(n - 1); }\nlet lo = 0, hi = 1 << 20;\nwhile (lo < hi) { const mid = (lo + hi + 1) >> 1; try { d(mid); lo = mid; } catch (e) { hi = mid - 1; } }\nconsole.log(lo);\n";
    let dir = tempfile::tempdir().unwrap();
    let mut table = Vec::new();
    for args in [&[][..], &["--lean"][..]] {
        let wasm = build_in(dir.path(), "depth.js", source, args);
        for host in ALL {
            let run = run_on(host, dir.path(), &wasm, b"");
            assert_eq!(run.status, Some(0), "{args:?} on {}: {}", host.name(), run.stderr);
            let depth: u32 = run.stdout.trim().parse().unwrap();
            table.push((host, args.is_empty(), depth));
        }
    }
    for (host, default, depth) in &table {
        println!("| {} | {} | {depth} |", host.name(), if *default { "default" } else { "--lean" });
    }
    for &(host, _, depth) in &table {
        let least = if host == Host::KilnRun { 10_000 } else { 100 };
        assert!(depth >= least, "{} reaches only {depth}", host.name());
    }
    // The runners that say their stack (16 MiB) agree; the hosts that do
    // not say it all get the module's default.
    for default in [true, false] {
        let said: Vec<u32> = table.iter().filter(|(h, d, _)| *d == default && !DEFAULT_STACK_HOSTS.contains(h)).map(|t| t.2).collect();
        assert!(said.windows(2).all(|w| w[0] == w[1]), "{said:?}");
    }
    for default in [true, false] {
        let depths: Vec<u32> = table.iter().filter(|(h, d, _)| *d == default && DEFAULT_STACK_HOSTS.contains(h)).map(|t| t.2).collect();
        assert!(depths.windows(2).all(|w| w[0] == w[1]), "{depths:?}");
    }
}

/// A 2,000-node linked list walked recursively, under `kiln run`.
#[test]
fn a_two_thousand_node_list_walks_recursively_under_kiln_run() {
    let source = "let head = null;\nfor (let i = 0; i < 2000; i++) head = { value: i, next: head };\nfunction sum(node) { return node === null ? 0 : node.value + sum(node.next); }\nconsole.log(sum(head));\n";
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_in(dir.path(), "list.js", source, &[]);
    let run = run_on(Host::KilnRun, dir.path(), &wasm, b"");
    assert_eq!((run.stdout.as_str(), run.status), ("1999000\n", Some(0)), "{}", run.stderr);
}

/// `| head -1`: the reader leaves; the module ends with status 0 and
/// prints nothing on every host with pipes.
#[test]
fn a_closed_stdout_ends_the_module_quietly_on_every_host() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_in(dir.path(), "yes.js", "for (let i = 0; ; i++) console.log('line', i);\n", &[]);
    for host in ALL.into_iter().filter(|h| h.has_pipes()) {
        let mut cmd = host.command(dir.path(), &wasm);
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert_eq!(first, "line 0\n", "on {}", host.name());
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        let status = child.wait().unwrap();
        assert_eq!((status.code(), stderr.as_str()), (Some(0), ""), "on {}", host.name());
    }
}

/// #15's crash report: a 3.7 MB JSON document read through
/// `Javy.IO.readSync` and summed, on node:wasi the plain way (main thread,
/// Node's defaults), wrote its output and then killed Node with SIGSEGV in
/// two runs of three. Here it runs five times; each must exit 0 with the
/// right sum (a signal leaves no exit status).
#[test]
fn a_large_json_document_through_javy_io_never_crashes_plain_node() {
    let dir = tempfile::tempdir().unwrap();
    let program = r#"
const chunks = [];
let total = 0;
for (;;) {
  const buffer = new Uint8Array(65536);
  const n = Javy.IO.readSync(0, buffer);
  if (n === 0) break;
  chunks.push(buffer.subarray(0, n));
  total += n;
}
const bytes = new Uint8Array(total);
let at = 0;
for (const c of chunks) { bytes.set(c, at); at += c.length; }
const doc = JSON.parse(new TextDecoder().decode(bytes));
let sum = 0;
for (const line of doc.lines) sum += line.price * line.quantity;
console.log(doc.lines.length, sum);
"#;
    let wasm = build_in(dir.path(), "sum.js", program, &[]);
    let lines: Vec<String> = (0..48_000).map(|i| format!(r#"{{"sku":"item-{i:06}","title":"Ceramic cup no. {i}","price":{},"quantity":{}}}"#, i % 97, i % 5)).collect();
    let input = format!(r#"{{"lines":[{}]}}"#, lines.join(","));
    assert!(input.len() > 3_500_000, "{} bytes", input.len());
    let sum: u64 = (0..48_000u64).map(|i| (i % 97) * (i % 5)).sum();
    for attempt in 1..=5 {
        let run = run_on(Host::NodePlain, dir.path(), &wasm, input.as_bytes());
        assert_eq!((run.status, run.stdout.as_str()), (Some(0), format!("48000 {sum}\n").as_str()), "run {attempt}: {}", run.stderr);
    }
}

/// `examples/run-node.mjs` gives a module the stack `kiln run` gives
/// (`kiln_abi::stack::RUN_WASM_STACK`), and tells it so: the two depths
/// in the README's table are the same because the numbers are.
#[test]
fn run_node_gives_the_stack_kiln_run_gives() {
    let script = std::fs::read_to_string(workspace().join("examples/run-node.mjs")).unwrap();
    let line = script.lines().find(|l| l.starts_with("const STACK_MB = ")).expect("run-node.mjs defines STACK_MB");
    let mb: usize = line.trim_start_matches("const STACK_MB = ").trim_end_matches(';').parse().unwrap();
    assert_eq!(mb << 20, kiln_abi::stack::RUN_WASM_STACK, "{line}");
}
