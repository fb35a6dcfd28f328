//! Builds the engine (`engine/`, for wasm32-wasip1) and tells the compiler
//! where it is, so that `kiln` embeds it with `include_bytes!`.
//!
//! The engine is built by a nested `cargo build` into its own target
//! directory (`<target>/kiln-engine`, shared by the debug and release builds
//! of the compiler), twice: with the `engine` profile from the workspace
//! manifest (the default, tuned for speed) and with `engine-lean` (for
//! size, `kiln build --lean`).
//! QuickJS's C code is compiled with the system's clang for wasm32-wasi
//! against Debian's wasi-libc: rquickjs-sys is told not to download wasi-sdk.
//!
//! `KILN_ENGINE_WASM=/path/to/engine.wasm` (and `KILN_LEAN_ENGINE_WASM`)
//! skip the nested build and embed that file instead.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const ENGINE_TARGET: &str = "wasm32-wasip1";

/// The engine builds: (cargo profile, env var naming a prebuilt one, env var
/// the compiler reads the path from).
const ENGINES: &[(&str, &str, &str)] = &[
    ("engine", "KILN_ENGINE_WASM", "KILN_ENGINE_WASM_PATH"),
    ("engine-lean", "KILN_LEAN_ENGINE_WASM", "KILN_LEAN_ENGINE_WASM_PATH"),
];

/// The crates whose version changes what the final rewrite makes of a
/// snapshot (see `compiler/src/splice.rs`, `skeleton_key`).
const REWRITE_CRATES: &[&str] = &["walrus", "wasm-encoder", "wasmparser"];

fn main() {
    println!("cargo:rustc-env=KILN_REWRITE_CRATES={}", rewrite_crate_versions());
    // A prebuilt default engine without a prebuilt lean one (an offline or
    // packaging build with no wasm toolchain) serves as both.
    let prebuilt_default = env::var_os(ENGINES[0].1);
    for &(profile, prebuilt, path_var) in ENGINES {
        println!("cargo:rerun-if-env-changed={prebuilt}");
        let engine = match env::var_os(prebuilt) {
            Some(path) => {
                let path = PathBuf::from(path);
                println!("cargo:rerun-if-changed={}", path.display());
                path
            }
            None if profile == LEAN_PROFILE => match &prebuilt_default {
                Some(path) => {
                    println!("cargo:warning=KILN_ENGINE_WASM is set and KILN_LEAN_ENGINE_WASM is not: --lean builds use the default engine");
                    PathBuf::from(path)
                }
                None => shrink(&build_engine(profile)),
            },
            None => build_engine(profile),
        };
        println!("cargo:rustc-env={path_var}={}", engine.display());
    }
}

/// `walrus 0.28.1,wasm-encoder 0.245.0,...`: the locked versions of
/// [`REWRITE_CRATES`], for the skeleton cache's key. The rewrite's own
/// changes are the `SKELETON_FORMAT` constant's to say.
fn rewrite_crate_versions() -> String {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let lock_path = manifest_dir.join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_else(|e| panic!("reading {}: {e}", lock_path.display()));
    let mut versions = Vec::new();
    for name in REWRITE_CRATES {
        // Every locked version of the crate (one, unless two are in use).
        let header = format!("name = \"{name}\"\nversion = \"");
        for (at, _) in lock.match_indices(&header) {
            let rest = &lock[at + header.len()..];
            versions.push(format!("{name} {}", &rest[..rest.find('"').unwrap_or(0)]));
        }
    }
    versions.join(",")
}

/// The profile whose engine is also run through `wasm-opt -Oz`.
const LEAN_PROFILE: &str = "engine-lean";

/// `wasm-opt -Oz` on the lean engine: measured ~90 KB (13%) less code than
/// LLVM's opt-level z alone. Binaryen's wasm-opt (Debian's `binaryen`,
/// installed by `scripts/setup.sh`) is optional: without it the lean engine
/// is used as LLVM made it, with a warning, and the lean size budget test
/// fails. `-g` keeps the name section the rewrite finds the parser by.
///
/// The result goes to this build script's own `OUT_DIR`: the engine's target
/// directory is shared by the debug and release builds, which may run at
/// the same time.
fn shrink(engine: &Path) -> PathBuf {
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let out = out_dir.join("kiln_engine.lean.wasm");
    let features = ["--enable-bulk-memory", "--enable-sign-ext", "--enable-mutable-globals", "--enable-nontrapping-float-to-int", "--enable-multivalue", "--enable-reference-types"];
    let status = Command::new("wasm-opt").arg("-Oz").arg("-g").args(features).arg(engine).arg("-o").arg(&out).status();
    match status {
        Ok(status) if status.success() => out,
        Ok(status) => panic!("wasm-opt -Oz failed on {} ({status})", engine.display()),
        Err(e) => {
            println!("cargo:warning=wasm-opt not found ({e}): the --lean engine is not size-optimized; ./scripts/setup.sh installs binaryen");
            engine.to_path_buf()
        }
    }
}

fn build_engine(profile: &str) -> PathBuf {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().expect("compiler/ lives in the workspace root").to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_dir = engine_target_dir(&out_dir);

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .args(["-p", "kiln-engine", "--target", ENGINE_TARGET, "--profile", profile])
        .arg("--target-dir")
        .arg(&target_dir);
    if env::var_os("CARGO_NET_OFFLINE").is_some() {
        cmd.arg("--offline");
    }
    // Flags meant for the host build must not leak into the wasm build.
    for var in ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "CARGO_PROFILE_RELEASE_DEBUG"] {
        cmd.env_remove(var);
    }
    for (var, value) in c_toolchain_env(&workspace) {
        match env::var(&var) {
            Err(_) => {
                cmd.env(var, value);
            }
            // The caller's own C flags are kept, and ours added: without
            // them the engine would silently lose `Atomics`.
            Ok(theirs) if var.starts_with("CFLAGS_") => {
                cmd.env(var, format!("{theirs} {value}"));
            }
            Ok(_) => {}
        }
    }

    let status = cmd.status().unwrap_or_else(|e| panic!("could not run cargo to build the engine: {e}"));
    if !status.success() {
        panic!(
            "building the engine for {ENGINE_TARGET} failed ({status}).\n\
             It needs the Rust target (`rustup target add {ENGINE_TARGET}`) and a C toolchain for\n\
             wasm32-wasi: on Debian `apt-get install clang-16 lld-16 llvm-16 wasi-libc libclang-rt-16-dev-wasm32`.\n\
             `./scripts/setup.sh` installs all of them."
        );
    }

    let wasm = target_dir.join(ENGINE_TARGET).join(profile).join("kiln_engine.wasm");
    declare_inputs(&wasm.with_extension("d"), &workspace);
    wasm
}

// The engine is deliberately not run through binaryen's `wasm-opt -O3`:
// measured on this machine kind it saves ~41 KB (3%) and ~5% fuel, but
// Cranelift runs its output 6-13% slower (sieve 575 vs 507 ms, richards
// 1,325 vs 1,245 ms), and the default profile is tuned for speed.

/// `<target>/kiln-engine`, found by walking up from
/// `<target>/<profile>/build/kiln-<hash>/out`.
fn engine_target_dir(out_dir: &Path) -> PathBuf {
    match out_dir.ancestors().nth(4) {
        Some(target) => target.join("kiln-engine"),
        None => out_dir.join("kiln-engine"),
    }
}

/// Environment for rquickjs-sys to compile QuickJS with the system clang.
///
/// Besides the toolchain, the C flags turn on QuickJS's `Atomics` object,
/// which quickjs.c leaves out on wasi: `-DCONFIG_ATOMICS`, and `-include`
/// of `engine/c/single_thread_atomics.h`, which supplies the lock and
/// condition variable types that code needs on a single thread (see the
/// header). rquickjs-sys's C build (the `cc` crate) reruns when these
/// variables change, not when the header does, so the flags carry a hash of
/// the header's contents: editing it changes the flags and QuickJS is
/// recompiled.
fn c_toolchain_env(workspace: &Path) -> Vec<(String, String)> {
    let pick = |names: &[&'static str]| -> &'static str {
        names.iter().copied().find(|n| on_path(n)).unwrap_or(names[names.len() - 1])
    };
    let target = ENGINE_TARGET.replace('-', "_");
    let shim = workspace.join(ATOMICS_SHIM);
    println!("cargo:rerun-if-changed={}", shim.display());
    let contents = std::fs::read(&shim).unwrap_or_else(|e| panic!("reading {}: {e}", shim.display()));
    let cflags = vec![
        "--target=wasm32-wasi".to_string(),
        "-DCONFIG_ATOMICS".to_string(),
        format!("-DKILN_ATOMICS_SHIM_HASH={:016x}", fnv1a(&contents)),
        "-include".to_string(),
        shell_quote(&shim.to_string_lossy()),
    ];
    vec![
        ("RQUICKJS_SYS_NO_WASI_SDK".into(), "1".into()),
        (format!("CC_{target}"), pick(&["clang-16", "clang"]).into()),
        (format!("AR_{target}"), pick(&["llvm-ar-16", "llvm-ar"]).into()),
        (format!("CFLAGS_{target}"), cflags.join(" ")),
        // The header's path is quoted, so that a workspace path with spaces
        // stays one argument; unquoted flags split the same either way.
        ("CC_SHELL_ESCAPED_FLAGS".into(), "1".into()),
    ]
}

/// The header that lets QuickJS's `Atomics` compile on single-threaded wasi.
const ATOMICS_SHIM: &str = "engine/c/single_thread_atomics.h";

/// 64-bit FNV-1a: a stable fingerprint (std's hasher may change between
/// Rust releases, which would rebuild QuickJS for nothing).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Quotes `s` for a POSIX shell (what `cc` parses the flags as, given
/// `CC_SHELL_ESCAPED_FLAGS`).
fn shell_quote(s: &str) -> String {
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,".contains(&b)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn on_path(program: &str) -> bool {
    env::var_os("PATH")
        .map(|paths| env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// Turns the nested build's dep-info file into `rerun-if-changed` lines, so
/// the engine is rebuilt exactly when one of its sources changes.
fn declare_inputs(dep_file: &Path, workspace: &Path) {
    println!("cargo:rerun-if-changed={}", workspace.join("Cargo.lock").display());
    println!("cargo:rerun-if-changed={}", workspace.join("Cargo.toml").display());
    println!("cargo:rerun-if-changed={}", workspace.join("engine").display());
    println!("cargo:rerun-if-changed={}", workspace.join("js-runtime").display());
    let Ok(text) = std::fs::read_to_string(dep_file) else { return };
    let Some((_, deps)) = text.split_once(": ") else { return };
    // Paths are separated by spaces; a space inside a path is escaped.
    let deps = deps.replace("\\ ", "\u{0}");
    for dep in deps.split_whitespace() {
        let dep = dep.replace('\u{0}', " ");
        if dep.starts_with(&*workspace.to_string_lossy()) {
            println!("cargo:rerun-if-changed={dep}");
        }
    }
}
