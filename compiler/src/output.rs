//! Writing the output module so that a failure never leaves a partial or
//! clobbered file.

use crate::error::Error;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: into a temporary file in the same
/// directory, then renamed over `path`. On any error `path` is untouched.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".kiln-")
        .suffix(".wasm.tmp")
        .tempfile_in(dir)
        .map_err(Error::io("creating a temporary file in", dir))?;
    temp.write_all(bytes).map_err(Error::io("writing", temp.path().to_path_buf()))?;
    set_readable(temp.as_file()).map_err(Error::io("writing", temp.path().to_path_buf()))?;
    temp.as_file().sync_all().map_err(Error::io("writing", temp.path().to_path_buf()))?;
    temp.persist(path).map_err(|e| Error::Io { action: "writing", path: path.to_path_buf(), source: e.error })?;
    Ok(())
}

/// Temporary files are created private (0600); a build output is an ordinary
/// file (0644).
#[cfg(unix)]
fn set_readable(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_readable(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}
