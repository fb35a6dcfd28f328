//! Every program in `examples/` is built (with the default and the `--lean`
//! engine, and as a dynamic module linked against the shared engine) and
//! run on both hosts; stdout (and stderr and exit status, where the example
//! states them) must match the expected files byte for byte.

use crate::util::{kiln, run_both, run_both_linked, run_with_stdin, workspace};
use std::path::{Path, PathBuf};

struct Example {
    dir: PathBuf,
    program: String,
    input: Vec<u8>,
    expected_stdout: String,
    expected_stderr: String,
    expected_status: i32,
    /// Extra `kiln build` arguments, from the example's `build-args` file.
    build_args: Vec<String>,
}

fn load(dir: &Path) -> Option<Example> {
    let mut program = None;
    let mut input = None;
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        let name = path.file_name()?.to_string_lossy().into_owned();
        if [".js", ".mjs", ".ts", ".mts", ".tsx"].iter().any(|ext| name.ends_with(ext)) {
            assert!(program.is_none(), "{} has more than one program", dir.display());
            program = Some(name);
        } else if name.starts_with("input.") {
            input = Some(std::fs::read(&path).unwrap());
        }
    }
    // A TypeScript project keeps its program in src/ (beside generated/).
    if program.is_none() && dir.join("src/index.ts").is_file() {
        program = Some("src/index.ts".to_string());
    }
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    Some(Example {
        dir: dir.to_path_buf(),
        program: program?,
        input: input.unwrap_or_else(|| panic!("{} has no input.* file", dir.display())),
        expected_stdout: read("expected.out").unwrap_or_else(|| panic!("{} has no expected.out", dir.display())),
        expected_stderr: read("expected.err").unwrap_or_default(),
        expected_status: read("expected.status").map_or(0, |s| s.trim().parse().unwrap()),
        build_args: read("build-args").map_or_else(Vec::new, |s| s.split_whitespace().map(str::to_string).collect()),
    })
}

/// Builds the example as it asks, once as it is and once with `--lean`
/// (the engine compiled for size must behave the same), and checks both.
/// An example with a `package-lock.json` is built in a copy with its
/// dependencies installed by `npm ci` (see `npm.rs`).
fn check(name: &str) {
    let mut example = load(&workspace().join("examples").join(name)).expect("example exists");
    if example.dir.join("package-lock.json").is_file() {
        example.dir = crate::npm::installed(&example.dir, &format!("example-{name}")).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = tempfile::tempdir().unwrap();
    for profile in [&[][..], &["--lean"][..]] {
        let wasm = out.path().join(format!("{name}{}.wasm", profile.join("")));
        let output = run_with_stdin(
            kiln(&example.dir).args(["build", "-q", &example.program, "-o"]).arg(&wasm).args(&example.build_args).args(profile),
            b"",
        );
        assert!(output.status.success(), "building {name} {profile:?}: {}", String::from_utf8_lossy(&output.stderr));
        let run = run_both(out.path(), &wasm, &example.input);
        assert_eq!(run.stdout, example.expected_stdout, "stdout of {name} {profile:?}");
        assert_eq!(run.stderr, example.expected_stderr, "stderr of {name} {profile:?}");
        assert_eq!(run.status, Some(example.expected_status), "exit status of {name} {profile:?}");
    }
    // The same program as a dynamic module: the program only, linked
    // against the shared engine when it runs.
    let wasm = out.path().join(format!("{name}-dynamic.wasm"));
    let output = run_with_stdin(kiln(&example.dir).args(["build", "-q", "--dynamic", &example.program, "-o"]).arg(&wasm).args(&example.build_args), b"");
    assert!(output.status.success(), "building {name} --dynamic: {}", String::from_utf8_lossy(&output.stderr));
    let run = run_both_linked(out.path(), &wasm, &crate::dynamic::shared_engine(), "_start", &example.input);
    assert_eq!(run.stdout, example.expected_stdout, "stdout of {name} --dynamic");
    assert_eq!(run.stderr, example.expected_stderr, "stderr of {name} --dynamic");
    assert_eq!(run.status, Some(example.expected_status), "exit status of {name} --dynamic");
}

#[test]
fn every_example_directory_is_covered() {
    let mut found: Vec<String> = std::fs::read_dir(workspace().join("examples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    // `browser` is a host, not a program: `hosts.rs` runs the examples in it.
    found.retain(|name| name != "browser");
    assert_eq!(found, ["async-module", "discount", "discount-function", "hello", "javy-json", "json-transform", "modules", "shopify-dynamic", "shopify-ts", "sieve", "timers", "uncaught-error"], "add a #[test] for each new example");
}

#[test]
fn hello() {
    check("hello");
}

#[test]
fn json_transform() {
    check("json-transform");
}

#[test]
fn discount() {
    check("discount");
}

#[test]
fn sieve() {
    check("sieve");
}

#[test]
fn async_module() {
    check("async-module");
}

#[test]
fn uncaught_error() {
    check("uncaught-error");
}

#[test]
fn discount_function() {
    check("discount-function");
}

#[test]
fn function_mode_discount_gives_the_script_versions_output() {
    let examples = workspace().join("examples");
    let script = std::fs::read(examples.join("discount/expected.out")).unwrap();
    let function = std::fs::read(examples.join("discount-function/expected.out")).unwrap();
    assert_eq!(script, function);
}

#[test]
fn timers() {
    check("timers");
}

#[test]
fn modules() {
    check("modules");
}

/// Shopify's discount-function template in TypeScript, with generated types
/// full of enums and an npm dependency (see `examples/shopify-ts/README.md`).
#[test]
fn shopify_ts() {
    check("shopify-ts");
}

/// A function written for Javy (`Javy.JSON.fromStdin`/`toStdout`) runs
/// unchanged. Its expected output comes from Node with a two-line stand-in
/// for `Javy.JSON` (see `examples/javy-json/README.md`).
#[test]
fn javy_json() {
    check("javy-json");
}

/// Shopify's generated entry and `@shopify/shopify_function`'s run.ts,
/// unchanged (`_start` runs the first target; `shopify.rs` calls both).
#[test]
fn shopify_dynamic() {
    check("shopify-dynamic");
}
