//! Writing the output module so that a failure never leaves a partial or
//! clobbered file.

use crate::error::Error;
use std::path::Path;

/// Writes `bytes` to `path` atomically: into a temporary file in the same
/// directory, then renamed over `path`. On any error `path` is untouched.
/// A build output is an ordinary file (0644), not private as temporary files
/// are created.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    kiln_host::write_atomically(path, bytes, 0o644).map_err(|(source, action, path)| Error::Io { action, path, source })
}
