//! Real npm projects for the tests: `npm ci` from a committed
//! `package-lock.json`, once per lockfile, into `target/kiln-npm/`.

use crate::util::workspace;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of the project in `dir` with its `node_modules` installed, under
/// `target/kiln-npm/<name>-<hash>/`. The hash is of every `package.json`
/// and `package-lock.json` in the project, so editing one reinstalls and
/// reruns skip the install; the project's other files are copied over the
/// installed copy on every call, so they are always current.
pub fn installed(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let work = workspace().join("target/kiln-npm").join(format!("{name}-{}", package_files_hash(dir)));
    if !work.join("node_modules/.kiln-installed").is_file() {
        if work.exists() {
            // Not an install of ours (they appear complete or not at all).
            std::fs::remove_dir_all(&work).map_err(|e| format!("{name}: clearing {}: {e}", work.display()))?;
        }
        npm_ci(dir, &work).map_err(|e| format!("{name}: {e}"))?;
    }
    copy_tree(dir, &work).map_err(|e| format!("{name}: copying into {}: {e}", work.display()))?;
    Ok(work)
}

/// A short hash of every `package.json` and `package-lock.json` under `dir`.
fn package_files_hash(dir: &Path) -> String {
    let mut hash = Sha256::new();
    for file in files(dir).iter().filter(|f| f.ends_with("package.json") || f.ends_with("package-lock.json")) {
        hash.update(file.to_string_lossy().as_bytes());
        hash.update(std::fs::read(dir.join(file)).unwrap_or_default());
    }
    hash.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Every file under `root` (relative to it, sorted), `node_modules` left out.
pub fn files(root: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                if entry.file_name() != "node_modules" {
                    walk(root, &path, out);
                }
            } else if let Ok(relative) = path.strip_prefix(root) {
                out.push(relative.to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Copies every file under `from` (except `node_modules`) to `to`.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for file in files(from) {
        let target = to.join(&file);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from.join(&file), target)?;
    }
    Ok(())
}

/// `npm ci` of the project in `dir` into `work`: installed in a staging
/// directory and renamed into place, so an interrupted install never looks
/// like a complete one. `--ignore-scripts`: no package runs code here.
fn npm_ci(dir: &Path, work: &Path) -> Result<(), String> {
    let parent = work.parent().ok_or("no parent directory")?;
    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    let staging = tempfile::tempdir_in(parent).map_err(|e| e.to_string())?;
    copy_tree(dir, staging.path()).map_err(|e| e.to_string())?;
    let output = Command::new("npm")
        .current_dir(staging.path())
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"])
        .output()
        .map_err(|e| format!("could not run npm ({e}); scripts/setup.sh installs Node.js and npm"))?;
    if !output.status.success() {
        return Err(format!("npm ci failed (is the npm registry reachable?):\n{}", String::from_utf8_lossy(&output.stderr)));
    }
    std::fs::create_dir_all(staging.path().join("node_modules")).map_err(|e| e.to_string())?;
    std::fs::write(staging.path().join("node_modules/.kiln-installed"), b"").map_err(|e| e.to_string())?;
    let staged = staging.keep();
    match std::fs::rename(&staged, work) {
        Ok(()) => Ok(()),
        // Another test thread installed the same project first: use its copy.
        Err(_) if work.join("node_modules/.kiln-installed").is_file() => {
            let _ = std::fs::remove_dir_all(&staged);
            Ok(())
        }
        Err(e) => Err(format!("moving the install into {}: {e}", work.display())),
    }
}
