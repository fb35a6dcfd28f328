//! Data-driven end-to-end tests: every directory
//! `compiler/tests/fixtures/<group>/<case>/` is a test case. Its program is
//! built by `kiln build` and run on both hosts (the embedded wasmtime and
//! Node's `node:wasi`); stdout, stderr and the exit status must equal the
//! case's expected files byte for byte. A case whose build must fail
//! compares the build's stderr and status instead. Every failing case of a
//! group is reported, each with a diff, not just the first.
//!
//! The format of a case, how its expected files are made (from Node wherever
//! Node can run the program) and `KILN_BLESS=1`, which regenerates them, are
//! described in `compiler/tests/fixtures/README.md`. `KILN_FIXTURE=text`
//! runs only the cases whose `group/case` name contains `text`.

use crate::npm;
use crate::util::{kiln, node_entry, run_with_stdin, workspace};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The groups (subdirectories of the fixtures folder); each is one `#[test]`.
const GROUPS: [&str; 5] = ["errors", "js", "npm", "stack", "ts"];

/// Entry files looked for when `case.toml` names none (exactly one must exist).
const ENTRY_CANDIDATES: [&str; 16] = [
    "main.js", "main.mjs", "main.cjs", "main.jsx", "main.ts", "main.mts", "main.cts", "main.tsx", "index.js", "index.mjs",
    "index.ts", "index.tsx", "src/index.js", "src/index.mjs", "src/index.ts", "src/index.tsx",
];

#[test]
fn errors() {
    check_group("errors");
}

#[test]
fn js() {
    check_group("js");
}

#[test]
fn npm() {
    check_group("npm");
}

#[test]
fn stack() {
    check_group("stack");
}

#[test]
fn ts() {
    check_group("ts");
}

#[test]
fn every_group_is_a_test() {
    let mut found: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir() && e.file_name() != "tools")
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, GROUPS, "add the group to GROUPS and a #[test] for it");
}

/// Where a case's expected files come from when they are regenerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Source {
    /// `node` runs the program (or `node_entry`) itself.
    Node,
    /// `tsc` compiles the case, `node` runs tsc's output.
    Tsc,
    /// Kiln's own output (wasmtime host), reviewed by hand: for build
    /// errors and anything Node prints differently by design.
    Kiln,
}

/// `case.toml`: every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// The file `kiln build` is given (relative to the case).
    entry: Option<String>,
    /// Extra `kiln build` arguments (`--invoke run`, `--define K=V`, ...).
    #[serde(default)]
    args: Vec<String>,
    /// Where the expected files come from (default: `node` for JavaScript
    /// entries, `tsc` for TypeScript ones, `kiln` when the build fails).
    expected: Option<Source>,
    /// Where the expected stderr alone comes from, when it differs from the
    /// rest (e.g. `kiln` for an uncaught error, whose report Node words
    /// differently, while stdout and status still come from Node).
    stderr_from: Option<Source>,
    /// The program Node runs instead of the entry (relative to the case; for
    /// `tsc`, to tsc's output), when Node needs a stand-in (say why in the
    /// case's README or the stand-in's comments).
    node_entry: Option<String>,
    /// Environment of the Node run that makes expected files (Kiln replaces
    /// `process.env.NODE_ENV` with `"production"` unless defined otherwise,
    /// so Node runs with `NODE_ENV=production` unless this sets it).
    #[serde(default)]
    node_env: BTreeMap<String, String>,
    /// Extra `node` flags for that run (e.g. `--experimental-require-module`
    /// for Node 22's `require()` of ES modules on Node 20).
    #[serde(default)]
    node_args: Vec<String>,
    /// The build must fail: `stderr` and `status` are the build's.
    #[serde(default)]
    build_fails: bool,
    /// Check the stack frames Kiln prints (files and lines) against those
    /// Node prints for the same program, with source maps (see
    /// `compare_frames`); for stack-trace cases, whose expected files are
    /// otherwise Kiln's.
    #[serde(default)]
    frames_from_node: bool,
    /// A known gap in Kiln, reported to the helper or issue named here: the
    /// case is expected to fail, and the test fails once it passes (remove
    /// the key then).
    known_gap: Option<String>,
}

struct Case {
    /// `group/case`.
    name: String,
    dir: PathBuf,
    entry: String,
    settings: CaseFile,
    input: Vec<u8>,
}

impl Case {
    fn source(&self) -> Source {
        self.settings.expected.unwrap_or(if self.settings.build_fails {
            Source::Kiln
        } else if is_typescript(&self.entry) {
            Source::Tsc
        } else {
            Source::Node
        })
    }

    /// The export named by `--invoke`, if the case is built in function mode.
    fn invoked(&self) -> Option<&str> {
        let args = &self.settings.args;
        args.iter().position(|a| a == "--invoke").and_then(|i| args.get(i + 1)).map(String::as_str)
    }

    fn expected(&self) -> Expected {
        let read = |name: &str| std::fs::read(self.dir.join(name)).ok();
        Expected {
            stdout: read("stdout").unwrap_or_default(),
            stderr: read("stderr").unwrap_or_default(),
            status: read("status").map_or(0, |s| {
                String::from_utf8_lossy(&s).trim().parse().unwrap_or_else(|_| panic!("{}: `status` is not a number", self.name))
            }),
        }
    }
}

/// A program's observable outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    status: i32,
}

impl Expected {
    fn of(output: &Output) -> Self {
        Expected { stdout: output.stdout.clone(), stderr: output.stderr.clone(), status: output.status.code().unwrap_or(-1) }
    }

    fn write(&self, dir: &Path) {
        let put = |name: &str, bytes: &[u8], keep: bool| {
            let path = dir.join(name);
            if keep {
                std::fs::write(&path, bytes).unwrap();
            } else if path.exists() {
                std::fs::remove_file(&path).unwrap();
            }
        };
        put("stdout", &self.stdout, true);
        put("stderr", &self.stderr, !self.stderr.is_empty());
        put("status", format!("{}\n", self.status).as_bytes(), self.status != 0);
    }
}

fn fixtures_dir() -> PathBuf {
    workspace().join("compiler/tests/fixtures")
}

fn is_typescript(path: &str) -> bool {
    [".ts", ".mts", ".cts", ".tsx"].iter().any(|ext| path.ends_with(ext))
}

fn blessing() -> bool {
    std::env::var_os("KILN_BLESS").is_some_and(|v| v != "0" && !v.is_empty())
}

fn load(group: &str, dir: &Path) -> Result<Case, String> {
    let name = format!("{group}/{}", dir.file_name().unwrap().to_string_lossy());
    let settings: CaseFile = match std::fs::read_to_string(dir.join("case.toml")) {
        Ok(text) => toml::from_str(&text).map_err(|e| format!("{name}/case.toml: {e}"))?,
        Err(_) => CaseFile::default(),
    };
    let entry = match &settings.entry {
        Some(entry) => entry.clone(),
        None => {
            let found: Vec<&str> = ENTRY_CANDIDATES.into_iter().filter(|c| dir.join(c).is_file()).collect();
            match found[..] {
                [one] => one.to_string(),
                _ => return Err(format!("{name}: name the entry in case.toml (found {found:?} of {ENTRY_CANDIDATES:?})")),
            }
        }
    };
    let input = std::fs::read(dir.join("input")).unwrap_or_default();
    Ok(Case { name, dir: dir.to_path_buf(), entry, settings, input })
}

/// Runs every case of `group` (or those `KILN_FIXTURE` selects) and fails
/// with the report of every case that failed.
fn check_group(group: &str) {
    let filter = std::env::var("KILN_FIXTURE").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_dir().join(group))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut failures = Vec::new();
    let mut ran = 0;
    for dir in dirs {
        let case = match load(group, &dir) {
            Ok(case) => case,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        if !case.name.contains(&filter) {
            continue;
        }
        ran += 1;
        // A failure to regenerate is reported even for a known gap.
        if blessing() {
            if let Err(e) = prepare_work_dir(&case).and_then(|work| bless(&case, &work)) {
                failures.push(e);
                continue;
            }
        }
        let outcome = run_case(&case);
        match (outcome, &case.settings.known_gap) {
            (Ok(()), None) => {}
            (Err(report), None) => failures.push(report),
            (Err(report), Some(gap)) => eprintln!("{}: known gap ({gap})\n{report}\n", case.name),
            (Ok(()), Some(gap)) => failures.push(format!("{}: passes now; remove `known_gap = {gap:?}` from its case.toml", case.name)),
        }
    }
    eprintln!("fixtures/{group}: {ran} cases run, {} failed", failures.len());
    assert!(failures.is_empty(), "{} of {ran} cases in fixtures/{group} failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

fn run_case(case: &Case) -> Result<(), String> {
    let work = prepare_work_dir(case)?;
    let expected = case.expected();
    let out = tempfile::tempdir().unwrap();
    let wasm = out.path().join("case.wasm");
    let build = run_with_stdin(kiln(&work).args(["build", "-q", &case.entry, "-o"]).arg(&wasm).args(&case.settings.args), b"");
    if case.settings.build_fails {
        let mut problems = compare("the build", &expected, &Expected::of(&build));
        if build.status.success() {
            problems.push("the build succeeded".into());
        }
        if wasm.exists() {
            problems.push("the failed build left an output file".into());
        }
        return verdict(case, problems);
    }
    if !build.status.success() {
        return Err(format!("{}: kiln build {} failed:\n{}", case.name, case.entry, String::from_utf8_lossy(&build.stderr)));
    }
    let mut wasmtime = kiln(out.path());
    wasmtime.arg("run");
    if let Some(name) = case.invoked() {
        wasmtime.args(["--invoke", name]);
    }
    wasmtime.arg(&wasm);
    let mut node = node_entry(out.path(), &wasm, case.invoked().unwrap_or("_start"));
    let on_wasmtime = Expected::of(&run_with_stdin(&mut wasmtime, &case.input));
    let on_node = Expected::of(&run_with_stdin(&mut node, &case.input));
    let mut problems = if on_wasmtime == on_node {
        compare("both hosts", &expected, &on_wasmtime)
    } else {
        [compare("wasmtime", &expected, &on_wasmtime), compare("node:wasi", &expected, &on_node)].concat()
    };
    if case.settings.frames_from_node {
        problems.extend(compare_frames(case, &work, &on_wasmtime));
    }
    verdict(case, problems)
}

fn verdict(case: &Case, problems: Vec<String>) -> Result<(), String> {
    if problems.is_empty() {
        Ok(())
    } else {
        let how = match case.source() {
            Source::Node => "from node",
            Source::Tsc => "from node on tsc's output",
            Source::Kiln => "from kiln, reviewed",
        };
        Err(format!("── {} (expected files {how}; KILN_BLESS=1 regenerates them)\n{}", case.name, problems.join("\n")))
    }
}

/// What differs between `expected` and `actual`, one entry per stream.
fn compare(what: &str, expected: &Expected, actual: &Expected) -> Vec<String> {
    let mut problems = Vec::new();
    if expected.status != actual.status {
        problems.push(format!("{what}: exit status {} (expected {})", actual.status, expected.status));
    }
    for (stream, want, got) in [("stdout", &expected.stdout, &actual.stdout), ("stderr", &expected.stderr, &actual.stderr)] {
        if want != got {
            problems.push(format!("{what}: {stream} differs (- expected, + actual):\n{}", diff(want, got)));
        }
    }
    problems
}

/// A line diff of two byte strings (longest common subsequence), with
/// line ends made visible where only they differ.
fn diff(expected: &[u8], actual: &[u8]) -> String {
    let lines = |b: &[u8]| -> Vec<String> { String::from_utf8_lossy(b).split_inclusive('\n').map(|l| format!("{l:?}")).collect() };
    let (a, b) = (lines(expected), lines(actual));
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out += &format!("    {}\n", a[i]);
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out += &format!("  - {}\n", a[i]);
            i += 1;
        } else {
            out += &format!("  + {}\n", b[j]);
            j += 1;
        }
    }
    out
}

/// The directory a case is built in: a copy of the case under `target/`
/// (so nothing is written into the source tree); a case with a
/// `package-lock.json` is installed there by `npm ci`, once per lockfile
/// (see `npm.rs`).
fn prepare_work_dir(case: &Case) -> Result<PathBuf, String> {
    if case.dir.join("package-lock.json").is_file() {
        return npm::installed(&case.dir, &format!("fixture-{}", case.name.replace('/', "-")));
    }
    let work = workspace().join("target/kiln-fixtures").join(&case.name);
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(|e| format!("{}: clearing {}: {e}", case.name, work.display()))?;
    }
    npm::copy_tree(&case.dir, &work).map_err(|e| format!("{}: copying into {}: {e}", case.name, work.display()))?;
    Ok(work)
}

/// Regenerates the case's expected files from the source it names.
fn bless(case: &Case, work: &Path) -> Result<(), String> {
    let source = case.source();
    let mut made = match source {
        Source::Kiln => kiln_outcome(case, work)?,
        Source::Node | Source::Tsc => node_run(case, work)?,
    };
    if case.settings.stderr_from == Some(Source::Kiln) && source != Source::Kiln {
        made.stderr = kiln_outcome(case, work)?.stderr;
    } else if source != Source::Kiln && String::from_utf8_lossy(&made.stderr).contains("\nNode.js v") {
        // Node's report of an uncaught error: either the fixture needs
        // `stderr_from = "kiln"`, or Node could not run it at all.
        return Err(format!("{}: Node failed; nothing written:\n{}", case.name, String::from_utf8_lossy(&made.stderr)));
    }
    made.write(&case.dir);
    eprintln!("{}: expected files written ({source:?})", case.name);
    Ok(())
}

/// What Kiln's build (for a failing build) or its wasmtime run gives.
fn kiln_outcome(case: &Case, work: &Path) -> Result<Expected, String> {
    let out = tempfile::tempdir().unwrap();
    let wasm = out.path().join("case.wasm");
    let build = run_with_stdin(kiln(work).args(["build", "-q", &case.entry, "-o"]).arg(&wasm).args(&case.settings.args), b"");
    if case.settings.build_fails || !build.status.success() {
        return Ok(Expected::of(&build));
    }
    let mut run = kiln(out.path());
    run.arg("run");
    if let Some(name) = case.invoked() {
        run.args(["--invoke", name]);
    }
    Ok(Expected::of(&run_with_stdin(run.arg(&wasm), &case.input)))
}

/// What Node gives for the program: `node` on the entry (or `node_entry`),
/// or, for a TypeScript entry, on tsc's output.
fn node_run(case: &Case, work: &Path) -> Result<Expected, String> {
    if is_typescript(&case.entry) || case.source() == Source::Tsc {
        let out = tsc(case, work)?;
        let entry = case.settings.node_entry.clone().unwrap_or_else(|| compiled_name(&case.entry));
        node_outcome(case, work, &out, &entry)
    } else {
        node_outcome(case, work, work, case.settings.node_entry.as_deref().unwrap_or(&case.entry))
    }
}

/// The (file, line) of every stack frame in `output` ("at f (file:line:col)"
/// or "at file:line:col"), files made relative to `root` when given (Node's
/// are absolute; those outside `root`, Node's own, are left out).
fn frames(output: &Expected, root: Option<&Path>) -> Vec<(String, u32)> {
    let text = String::from_utf8_lossy(&[output.stdout.as_slice(), output.stderr.as_slice()].concat()).into_owned();
    let mut found = Vec::new();
    for line in text.lines() {
        let Some(frame) = line.trim_start().strip_prefix("at ") else { continue };
        let place = match (frame.rfind('('), frame.strip_suffix(')')) {
            (Some(open), Some(inner)) => &inner[open + 1..],
            _ => frame.rsplit(' ').next().unwrap_or(frame),
        };
        let mut parts = place.rsplitn(3, ':');
        let (Some(_column), Some(line), Some(file)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let Ok(line) = line.parse() else { continue };
        let file = file.strip_prefix("file://").unwrap_or(file);
        let file = match root {
            Some(root) => match Path::new(file).strip_prefix(root) {
                Ok(relative) => relative.to_string_lossy().into_owned(),
                Err(_) => continue,
            },
            None => file.to_string(),
        };
        found.push((file, line));
    }
    found
}

/// `frames_from_node`: the files and lines of Kiln's stack frames must be
/// those of Node's (with source maps, on tsc's output for TypeScript).
/// Columns are not compared: QuickJS places a frame's column at a
/// different token of the call than V8 does.
fn compare_frames(case: &Case, work: &Path, kiln: &Expected) -> Vec<String> {
    let node = match node_run(case, work) {
        Ok(node) => node,
        Err(e) => return vec![e],
    };
    let (want, got) = (frames(&node, Some(work)), frames(kiln, None));
    if want.is_empty() {
        return vec![format!("Node printed no stack frames in the program's files:\n{}", String::from_utf8_lossy(&node.stderr))];
    }
    if want == got {
        return vec![];
    }
    vec![format!("stack frames (file, line) differ from Node's:\n  node: {want:?}\n  kiln: {got:?}")]
}

/// Node running `entry` (relative to `dir`) in `dir`, with the case's input,
/// through `invoke.mjs` in function mode and with bundler-style resolution.
fn node_outcome(case: &Case, work: &Path, dir: &Path, entry: &str) -> Result<Expected, String> {
    let fixtures = fixtures_dir();
    let mut node = Command::new("node");
    node.current_dir(dir).env("NODE_ENV", "production").env("TZ", "UTC").envs(&case.settings.node_env);
    node.arg("--enable-source-maps").arg("--import").arg(fixtures.join("node-resolve.mjs"));
    node.arg("--import").arg(fixtures.join("kiln-globals.mjs")).args(&case.settings.node_args);
    if let Some(paths) = tsconfig_paths(work, dir) {
        node.env("KILN_TSC_PATHS", paths.0).env("KILN_TSC_BASE", paths.1);
    }
    match case.invoked() {
        Some(name) => node.arg(fixtures.join("invoke.mjs")).arg(entry).arg(name),
        None => node.arg(entry),
    };
    Ok(Expected::of(&run_with_stdin(&mut node, &case.input)))
}

/// tsconfig's `paths` (as JSON) and the directory of tsc's output they are
/// relative to, for node-resolve.mjs.
fn tsconfig_paths(work: &Path, out: &Path) -> Option<(String, PathBuf)> {
    let text = std::fs::read_to_string(work.join("tsconfig.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    let options = config.get("compilerOptions")?;
    let paths = options.get("paths")?;
    let base = options.get("baseUrl").and_then(|b| b.as_str()).unwrap_or(".");
    Some((paths.to_string(), out.join(base)))
}

/// The file tsc writes for `source`.
fn compiled_name(source: &str) -> String {
    for (from, to) in [(".mts", ".mjs"), (".cts", ".cjs"), (".tsx", ".js"), (".ts", ".js"), (".jsx", ".js")] {
        if let Some(stem) = source.strip_suffix(from) {
            return format!("{stem}{to}");
        }
    }
    source.to_string()
}

/// Compiles the case with tsc (its own tsconfig.json if it has one) into
/// `.tsc-out/` of the work dir, without type checking (a fixture may use
/// Node globals without @types/node); returns that directory.
fn tsc(case: &Case, work: &Path) -> Result<PathBuf, String> {
    let installed = npm::installed(&fixtures_dir().join("tools"), "fixture-tools")?;
    let out = work.join(".tsc-out");
    let mut cmd = Command::new("node");
    cmd.current_dir(work).arg(installed.join("node_modules/typescript/bin/tsc"));
    cmd.args(["--outDir", ".tsc-out", "--rootDir", ".", "--noCheck", "--noEmit", "false", "--declaration", "false", "--sourceMap"]);
    if work.join("tsconfig.json").is_file() {
        cmd.args(["-p", "tsconfig.json"]);
    } else {
        cmd.args(["--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler", "--skipLibCheck"]).arg(&case.entry);
    }
    let output = cmd.output().map_err(|e| format!("{}: running tsc: {e}", case.name))?;
    if !output.status.success() {
        return Err(format!("{}: tsc failed:\n{}{}", case.name, String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)));
    }
    // tsc emits only what it compiled; the program's other files (`.cjs`,
    // JSON, ...) are beside its output as they are beside its sources.
    for file in npm::files(&case.dir) {
        let name = file.to_string_lossy();
        let target = out.join(&file);
        if is_typescript(&name) || name == "tsconfig.json" || target.exists() {
            continue;
        }
        std::fs::create_dir_all(target.parent().unwrap()).map_err(|e| e.to_string())?;
        std::fs::copy(case.dir.join(&file), &target).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[test]
fn frames_are_read_from_both_engines_stack_formats() {
    let node = Expected {
        stdout: b"RangeError: negative\n    at total (/w/src/cart.ts:17:31)\n    at file:///w/main.mjs:6:3\n".to_vec(),
        stderr: b"    at ModuleJob.run (node:internal/modules/esm/module_job:325:25)\n".to_vec(),
        status: 1,
    };
    assert_eq!(frames(&node, Some(Path::new("/w"))), [("src/cart.ts".to_string(), 17), ("main.mjs".to_string(), 6)]);
    let kiln = Expected { stdout: vec![], stderr: b"Uncaught RangeError: negative\n    at total (src/cart.ts:17:41)\n    at <anonymous> (main.mjs:6:3)\n".to_vec(), status: 1 };
    assert_eq!(frames(&kiln, None), [("src/cart.ts".to_string(), 17), ("main.mjs".to_string(), 6)]);
}
