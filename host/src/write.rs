//! Writing files so that a failure never leaves a partial or clobbered one.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: into a temporary file in the same
/// directory, then renamed over `path`. On any error `path` is untouched.
/// `mode` is the file's permission bits on Unix (temporary files are
/// created 0600).
///
/// # Errors
///
/// The failing step's error, with what was being done (`creating a
/// temporary file in`, `writing`) and the path it concerned.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), (std::io::Error, &'static str, std::path::PathBuf)> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new().prefix(".kiln-").suffix(".tmp").tempfile_in(dir).map_err(|e| (e, "creating a temporary file in", dir.to_path_buf()))?;
    let temp_path = temp.path().to_path_buf();
    let written = temp.write_all(bytes).and_then(|()| set_mode(temp.as_file(), mode)).and_then(|()| temp.as_file().sync_all());
    written.map_err(|e| (e, "writing", temp_path))?;
    temp.persist(path).map_err(|e| (e.error, "writing", path.to_path_buf()))?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(file: &std::fs::File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &std::fs::File, _: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_a_file_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        std::fs::write(&path, b"old").unwrap();
        super::write_atomically(&path, b"new", 0o644).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let missing = dir.path().join("no/such/dir/out.bin");
        assert!(super::write_atomically(&missing, b"x", 0o644).is_err());
    }
}
