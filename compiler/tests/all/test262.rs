//! test262-parser-tests (the npm package) through Kiln's compile step: every
//! `pass/` program must compile, every `fail/` and `early/` program must be
//! rejected with a syntax diagnostic that has a position.
//!
//! The package is fetched from the npm registry with `npm pack` on first use
//! and kept in `target/test262-parser-tests/` (set `KILN_TEST262_DIR` to a
//! directory holding an unpacked `package/` to use a copy instead, e.g.
//! offline). Each program is built as `kiln build` builds it
//! ([`kiln::Compiler::compile`]: compile in the engine, snapshot, finish the
//! module), on up to four threads; the finishing is a splice into the first
//! build's skeleton (`compiler/src/splice.rs`), so the 3,380 builds take
//! about a minute.
//!
//! Known deviations are listed, each with its reason, in
//! `tests/test262-exceptions.txt`. The test fails on any deviation not
//! listed and on any listed one that no longer deviates, so the list stays
//! exact. Run with `-- --nocapture` to see the counts.

use crate::util::workspace;
use kiln::{Compiler, Error, ModuleCache, Source, SourceKind};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGE: &str = "test262-parser-tests";
const VERSION: &str = "0.0.5";
const EXCEPTIONS: &str = "tests/test262-exceptions.txt";

/// The unpacked package, fetched once.
fn package_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KILN_TEST262_DIR") {
        return PathBuf::from(dir).join("package");
    }
    let root = workspace().join("target").join(PACKAGE).join(VERSION);
    let package = root.join("package");
    if package.join("pass").is_dir() {
        return package;
    }
    // Unpack into a fresh directory and rename it into place, so that an
    // interrupted fetch never looks like a complete one.
    std::fs::create_dir_all(&root.parent().unwrap()).unwrap();
    let staging = tempfile::tempdir_in(root.parent().unwrap()).unwrap();
    let spec = format!("{PACKAGE}@{VERSION}");
    let packed = Command::new("npm").args(["pack", "--silent", &spec, "--pack-destination"]).arg(staging.path()).output();
    let tarball = staging.path().join(format!("{PACKAGE}-{VERSION}.tgz"));
    match packed {
        Ok(out) if out.status.success() && tarball.is_file() => {}
        Ok(out) => panic!(
            "could not fetch {spec} from the npm registry (offline?); set KILN_TEST262_DIR to a directory with the unpacked package/\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("could not run npm to fetch {spec} ({e}); set KILN_TEST262_DIR to a directory with the unpacked package/"),
    }
    let untar = Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(staging.path()).status().unwrap();
    assert!(untar.success(), "unpacking {}", tarball.display());
    std::fs::create_dir_all(&root).unwrap();
    match std::fs::rename(staging.path().join("package"), &package) {
        Ok(()) => {}
        // Another test run won the race: use its copy.
        Err(_) if package.join("pass").is_dir() => {}
        Err(e) => panic!("moving the package into {}: {e}", package.display()),
    }
    package
}

/// What Kiln made of one program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    /// It compiled.
    Compiled,
    /// It parsed, but as one file its module imports cannot be resolved.
    UnresolvedImport,
    /// A syntax diagnostic with a position.
    SyntaxError,
    /// Some other error (or a syntax error without a position).
    OtherError,
}

fn verdict(compiler: &Compiler, path: &Path) -> (Verdict, String) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let kind = if name.ends_with(".module.js") { SourceKind::Module } else { SourceKind::Script };
    let bytes = std::fs::read(path).unwrap();
    let result = Source::from_bytes(name, bytes, kind).and_then(|source| compiler.compile(&source));
    match result {
        Ok(compiled) if compiled.wasm.starts_with(b"\0asm") => (Verdict::Compiled, String::new()),
        Ok(_) => (Verdict::OtherError, "the build returned something that is not a wasm module".into()),
        // Parsed (a syntax error would have been reported first), but its
        // imports name no file: the cases are single files.
        Err(e @ Error::Import { .. }) => (Verdict::UnresolvedImport, e.to_string()),
        Err(e @ Error::JsSyntax { location: Some(_), .. }) => (Verdict::SyntaxError, e.to_string()),
        Err(e) => (Verdict::OtherError, format!("{e:?}")),
    }
}

/// Whether `verdict` is right for a case in directory `dir`.
fn expected(dir: &str, verdict: Verdict) -> bool {
    match dir {
        "pass" => matches!(verdict, Verdict::Compiled | Verdict::UnresolvedImport),
        _ => verdict == Verdict::SyntaxError,
    }
}

/// `dir/file` → reason, from the checked-in list.
fn exceptions() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(EXCEPTIONS);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (case, reason) = l.split_once(char::is_whitespace).unwrap_or_else(|| panic!("{EXCEPTIONS}: `{l}` has no reason"));
            (case.to_string(), reason.trim().to_string())
        })
        .collect()
}

#[test]
fn test262_parser_tests_compile_or_fail_with_a_position() {
    let package = package_dir();
    let mut cases = Vec::new();
    for dir in ["pass", "fail", "early"] {
        let mut files: Vec<_> = std::fs::read_dir(package.join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        cases.extend(files.into_iter().map(|f| (dir, f)));
    }
    assert!(cases.len() > 3000, "the package looks incomplete: {} cases in {}", cases.len(), package.display());

    let mut compiler = Compiler::new().unwrap();
    compiler.cache(ModuleCache::new(workspace().join("target").join("kiln-test-cache")));
    let compiler = &compiler;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    let chunk = cases.len().div_ceil(threads);
    let verdicts: Vec<(&str, String, Verdict, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(dir, path)| {
                            let (verdict, detail) = verdict(compiler, path);
                            (*dir, path.file_name().unwrap().to_string_lossy().into_owned(), verdict, detail)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });

    let exceptions = exceptions();
    let mut summary: BTreeMap<(&str, Verdict), usize> = BTreeMap::new();
    let mut new_deviations = Vec::new();
    let mut deviating = std::collections::BTreeSet::new();
    for (dir, file, verdict, detail) in &verdicts {
        *summary.entry((dir, *verdict)).or_default() += 1;
        if !expected(dir, *verdict) {
            let case = format!("{dir}/{file}");
            if !exceptions.contains_key(&case) {
                new_deviations.push(format!("{case}: {verdict:?} {}", detail.lines().next().unwrap_or("")));
            }
            deviating.insert(case);
        }
    }
    println!("test262-parser-tests {VERSION}, {} cases built with Compiler::compile:", verdicts.len());
    for ((dir, verdict), n) in &summary {
        let ok = if expected(dir, *verdict) { "as expected" } else { "deviation" };
        println!("  {dir:>5}: {n:>5} {verdict:?} ({ok})");
    }
    println!("  {} deviations, all listed in {EXCEPTIONS}: {}", deviating.len(), new_deviations.is_empty());

    let stale: Vec<_> = exceptions.keys().filter(|case| !deviating.contains(*case)).collect();
    assert!(
        new_deviations.is_empty(),
        "{} deviations not in {EXCEPTIONS} (fix them, or list them with a reason):\n{}",
        new_deviations.len(),
        new_deviations.join("\n")
    );
    assert!(stale.is_empty(), "listed in {EXCEPTIONS} but no longer deviating (remove them): {stale:?}");
}
