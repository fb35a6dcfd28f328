//! Kiln's error type: what can go wrong in a build or a run, in terms a
//! caller can match on.

use std::path::PathBuf;

/// A JavaScript error reported by the engine while building: the position is
/// 1-based, as editors show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsLocation {
    /// The file name as the program knows it (e.g. `app.js`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Everything that can make `kiln build` or `kiln run` fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}", path = path.display())]
    Io {
        /// What was being done: "reading", "writing", ...
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The program does not parse.
    #[error("{name}: {message}")]
    JsSyntax {
        /// The error's name, usually `SyntaxError`.
        name: String,
        /// QuickJS's message.
        message: String,
        /// Where, if QuickJS said.
        location: Option<JsLocation>,
        /// A code frame showing the offending line, ready to print.
        frame: String,
    },
    /// An import cannot be served: a missing file, an unsupported specifier,
    /// or a name that the imported module does not export (the module graph
    /// does not link).
    #[error("{message}")]
    Import {
        /// What is wrong, and what is supported.
        message: String,
        /// The offending import.
        location: Option<JsLocation>,
        /// A code frame showing the import, ready to print.
        frame: String,
    },
    /// The program threw while it was evaluated at build time.
    #[error("{}{message}", if name.is_empty() { String::new() } else { format!("{name}: ") })]
    JsException {
        /// The error's name (`TypeError`, ...).
        name: String,
        /// The error's message.
        message: String,
        /// The JavaScript stack, one `at ...` frame a line.
        stack: String,
    },
    /// An export named by `--invoke` does not exist or is not a function.
    #[error("{0}")]
    NoSuchExport(String),
    /// The input is not something Kiln can compile (e.g. not UTF-8).
    #[error("{0}")]
    InvalidInput(String),
    /// A file given to `kiln run` is not a usable WebAssembly module.
    #[error("{path} is not a WebAssembly module: {reason}", path = path.display())]
    NotWasm {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Pre-initialization failed for a reason other than the program.
    #[error("pre-initialization failed: {0}")]
    Snapshot(#[source] kiln_snapshot::SnapshotError),
    /// Rewriting the snapshot into the output module failed.
    #[error("rewriting the module failed: {0}")]
    Rewrite(String),
    /// Running a module failed for a reason other than its own exit status.
    #[error("{0}")]
    Run(String),
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { action, path, source }
    }


    /// True when the user's JavaScript is at fault (exit status 1), as
    /// opposed to a usage or environment problem.
    pub fn is_javascript_error(&self) -> bool {
        matches!(self, Error::JsSyntax { .. } | Error::JsException { .. } | Error::Import { .. })
    }
}
