//! The fuzz target's seed corpus (`fuzz/corpus/compile`), replayed through
//! the target's own check without libFuzzer, so that every test run
//! exercises it. Seed names say what each must give: `syntax-error-*`,
//! `unresolved-import*` and `deep-nesting-too-deep*` a JavaScript error,
//! `not-utf8*` a rejection, anything else a module.

#[path = "../../../fuzz/src/lib.rs"]
mod target;

use crate::util::workspace;
use target::Outcome;

fn expected(name: &str) -> Outcome {
    if ["syntax-error", "unresolved-import", "deep-nesting-too-deep", "nul-outside-string"].iter().any(|p| name.starts_with(p)) {
        Outcome::JsError
    } else if name.starts_with("not-utf8") {
        Outcome::Rejected
    } else {
        Outcome::Compiled
    }
}

#[test]
fn seed_corpus_builds_or_fails_cleanly() {
    let compiler = target::compiler(&workspace().join("target").join("kiln-test-cache"));
    let dir = workspace().join("fuzz/corpus/compile");
    let mut seeds: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    seeds.sort();
    assert!(seeds.len() >= 10, "the seed corpus in {} looks incomplete", dir.display());
    for seed in seeds {
        let name = seed.file_name().unwrap().to_string_lossy().into_owned();
        let outcome = target::build_one(&compiler, &std::fs::read(&seed).unwrap());
        assert_eq!(outcome, expected(&name), "seed {name}");
    }
}
