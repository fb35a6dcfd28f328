//! Finishing by splicing (`compiler/src/splice.rs`): the rewrite of one
//! build serves every later build with the same options, and a module made
//! that way is byte for byte the module the full rewrite makes.

use crate::util::{kiln, run_both, run_with_stdin};
use kiln::{Compiler, FunctionMode, IoMode, ModuleCache, RewriteOptions, Source, SourceKind};

const PROGRAMS: &[(&str, &str)] = &[
    ("hello.js", "console.log('hello')\n"),
    ("sum.js", "let t = 0; for (const n of [1, 2, 3]) t += n; console.log(`sum ${t}`, JSON.stringify({ t }));\n"),
    ("lib.mjs", "export default function (input) { return { doubled: input.n * 2 }; }\nconsole.log('top level');\n"),
];

fn source(name: &str, text: &str) -> Source {
    Source::from_bytes(name.into(), text.as_bytes().to_vec(), SourceKind::Detect).unwrap()
}

fn compiler(options: &RewriteOptions, function_mode: bool) -> Compiler {
    let mut compiler = Compiler::new().unwrap();
    compiler.rewrite_options(options.clone());
    if function_mode {
        compiler.function_mode(FunctionMode { invoke: vec!["default".into()], io: IoMode::Json }).unwrap();
    }
    compiler
}

/// Each program, built by a compiler that already built the others (and so
/// splices into their skeleton), equals the same program built by a fresh
/// compiler (whose skeleton is made from that program's own snapshot).
#[test]
fn a_skeleton_made_from_one_program_finishes_any_other_exactly() {
    let eval = RewriteOptions { keep_parser: true, ..RewriteOptions::default() };
    for (options, function_mode) in [(RewriteOptions::default(), false), (eval, false), (RewriteOptions::default(), true)] {
        let programs: Vec<_> = PROGRAMS.iter().filter(|(name, _)| function_mode == name.ends_with(".mjs")).collect();
        let shared = compiler(&options, function_mode);
        for (name, text) in programs.iter().chain(programs.iter()) {
            let spliced = shared.compile(&source(name, text)).unwrap().wasm;
            let fresh = compiler(&options, function_mode).compile(&source(name, text)).unwrap().wasm;
            assert!(spliced == fresh, "{name} with {options:?} (function mode: {function_mode}): the spliced module differs");
        }
    }
}

/// The skeletons on disk: reused by the next process, and a damaged one is
/// rebuilt, not trusted.
#[test]
fn a_damaged_skeleton_on_disk_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::write(dir.path().join("hello.js"), "console.log('hello')\n").unwrap();
    let build = |out: &str| {
        let output = run_with_stdin(kiln(dir.path()).env("KILN_CACHE_DIR", &cache).args(["build", "-q", "hello.js", "-o", out]), b"");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        std::fs::read(dir.path().join(out)).unwrap()
    };
    let first = build("first.wasm");
    let skeletons: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("skeleton-"))
        .collect();
    assert_eq!(skeletons.len(), 1, "one skeleton stored");
    let stored = std::fs::read(&skeletons[0]).unwrap();

    let mut damaged = stored.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    std::fs::write(&skeletons[0], &damaged).unwrap();
    assert_eq!(build("second.wasm"), first, "a damaged skeleton must not change the module");
    assert_eq!(std::fs::read(&skeletons[0]).unwrap(), stored, "and it is replaced by a good one");
    assert_eq!(run_both(dir.path(), &dir.path().join("second.wasm"), b"").stdout, "hello\n");
}

/// A compiler with a cache directory stores its skeleton there.
#[test]
fn a_compiler_with_a_cache_keeps_its_skeleton_there() {
    let dir = tempfile::tempdir().unwrap();
    let mut compiler = Compiler::new().unwrap();
    compiler.cache(ModuleCache::new(dir.path()));
    compiler.compile(&source("hello.js", "console.log('hello')\n")).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().any(|n| n.starts_with("skeleton-")), "{names:?}");
}
