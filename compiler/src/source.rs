//! The program to compile: its text, the name its stack traces show, and
//! whether it is a classic script or an ES module.

use crate::error::Error;
use std::path::{Path, PathBuf};

/// Whether a program is compiled as a classic script or an ES module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A classic script (sloppy mode allowed).
    Script,
    /// An ES module (`import`, `export`, top-level `await`; always strict).
    Module,
    /// Decide from the text at build time: a script unless it only parses
    /// as a module (it uses module syntax). Node decides the same way for a
    /// `.js` file outside a `"type": "module"` package.
    Detect,
}

pub use kiln_abi::{FunctionMode, IoMode};

/// Checks function mode's export names: each must be usable as a wasm export
/// next to `memory` and `_start`, and appear once.
///
/// # Errors
///
/// [`Error::InvalidInput`] naming the offending export.
pub(crate) fn validate_function_mode(mode: &FunctionMode) -> Result<(), Error> {
    if mode.invoke.is_empty() {
        return Err(Error::InvalidInput("function mode needs at least one export to invoke".into()));
    }
    for (i, name) in mode.invoke.iter().enumerate() {
        if name.is_empty() || name.contains(['\n', '\r', '\0']) {
            return Err(Error::InvalidInput(format!("{name:?} is not a usable export name")));
        }
        if kiln_abi::exports::KEPT.contains(&name.as_str()) || name.starts_with(kiln_abi::exports::PRIVATE_PREFIX) {
            return Err(Error::InvalidInput(format!("cannot invoke `{name}`: the module already exports that name")));
        }
        if mode.invoke[..i].contains(name) {
            return Err(Error::InvalidInput(format!("`{name}` is invoked twice")));
        }
    }
    Ok(())
}

/// Splits an `--invoke` argument: `NAME` (the wasm export NAME calls the JS
/// export NAME) or `NAME=EXPORT` (the wasm export EXPORT calls the JS export
/// NAME: `cartLinesDiscountsGenerateRun=cart-lines-discounts-generate-run`,
/// for a platform that expects export names no JS identifier can have).
/// Returns (JS name, wasm export name).
pub fn split_invoke_spec(spec: &str) -> (String, String) {
    match spec.split_once('=') {
        Some((name, export)) => (name.to_string(), export.to_string()),
        None => (spec.to_string(), spec.to_string()),
    }
}

/// Checks the wasm export names of function mode's invoked functions: one
/// per invoked function, each usable next to `memory` and `_start`, none
/// twice.
///
/// # Errors
///
/// [`Error::InvalidInput`] naming the offending export.
pub(crate) fn validate_exports(mode: &FunctionMode, exports: &[String]) -> Result<(), Error> {
    if exports.len() != mode.invoke.len() {
        return Err(Error::InvalidInput(format!("{} invoked functions but {} wasm export names", mode.invoke.len(), exports.len())));
    }
    for (i, (name, export)) in mode.invoke.iter().zip(exports).enumerate() {
        if export.is_empty() || export.contains(['\n', '\r', '\0']) {
            return Err(Error::InvalidInput(format!("{export:?} is not a usable wasm export name (for `{name}`)")));
        }
        if kiln_abi::exports::KEPT.contains(&export.as_str()) || export.starts_with(kiln_abi::exports::PRIVATE_PREFIX) {
            return Err(Error::InvalidInput(format!("cannot export `{name}` as `{export}`: the module already exports that name")));
        }
        if exports[..i].contains(export) {
            return Err(Error::InvalidInput(format!("`{export}` is exported twice")));
        }
    }
    Ok(())
}

/// A JavaScript program, read and checked.
#[derive(Debug, Clone)]
pub struct Source {
    /// The name stack traces and diagnostics use: the input's file name.
    pub name: String,
    /// The program text.
    pub text: String,
    /// How to compile it.
    pub kind: SourceKind,
    /// The directory its relative imports are resolved in (the file's
    /// directory). `None` (the default for [`Source::from_bytes`]): a
    /// relative import of a file is a build error.
    pub base_dir: Option<std::path::PathBuf>,
    /// Position tables (`kiln_positions::encode`) of the modules whose text
    /// is not what the user wrote, keyed by module name (the entry's own
    /// name for the entry): their stack frames name the original positions.
    /// Empty for plain JavaScript.
    pub position_tables: Vec<(String, Vec<u8>)>,
}

/// The name given to a program read from stdin.
pub const STDIN_NAME: &str = "stdin.js";

impl Source {
    /// Reads a program from a file. A `.mjs` file is a module, a `.cjs` file a
    /// script; any other is detected from its text.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be read, [`Error::InvalidInput`] if it
    /// is not UTF-8.
    pub fn from_path(path: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(Error::io("reading", path))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| STDIN_NAME.into());
        let kind = match path.extension().and_then(|e| e.to_str()) {
            Some("mjs") => SourceKind::Module,
            Some("cjs") => SourceKind::Script,
            _ => SourceKind::Detect,
        };
        let mut source = Self::from_bytes(name, bytes, kind)?;
        source.base_dir = Some(base_dir_of(path));
        Ok(source)
    }

    /// Wraps program bytes read from elsewhere (e.g. stdin).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] if the bytes are not UTF-8. A NUL character is
    /// kept: it is a valid source character (in a string literal, say), and
    /// the engine reads the program by length, not up to a NUL.
    pub fn from_bytes(name: String, bytes: Vec<u8>, kind: SourceKind) -> Result<Self, Error> {
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            Error::InvalidInput(format!("{name} is not valid UTF-8 (first bad byte at offset {offset})"))
        })?;
        let text = text.strip_prefix('\u{FEFF}').map(str::to_string).unwrap_or(text);
        if name.contains('\0') || name.contains('\n') {
            return Err(Error::InvalidInput(format!("unusable file name {name:?}")));
        }
        Ok(Source { name, text, kind, base_dir: None, position_tables: Vec::new() })
    }
}

/// Where the engine finds files: the entry's directory.
pub(crate) fn base_dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_utf8_with_the_offset() {
        let err = Source::from_bytes("a.js".into(), b"let x = '\xff';".to_vec(), SourceKind::Detect).unwrap_err();
        assert_eq!(err.to_string(), "a.js is not valid UTF-8 (first bad byte at offset 9)");
    }

    #[test]
    fn invoked_functions_may_be_exported_under_other_names() {
        assert_eq!(split_invoke_spec("run"), ("run".to_string(), "run".to_string()));
        let (name, export) = split_invoke_spec("cartLinesDiscountsGenerateRun=cart-lines-discounts-generate-run");
        assert_eq!((name.as_str(), export.as_str()), ("cartLinesDiscountsGenerateRun", "cart-lines-discounts-generate-run"));
        let mode = FunctionMode { invoke: vec!["a".into(), "b".into()], io: IoMode::Json };
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(validate_exports(&mode, &names(&["a-x", "b-y"])).is_ok());
        assert!(validate_exports(&mode, &names(&["a-x"])).is_err());
        assert!(validate_exports(&mode, &names(&["a", "_start"])).unwrap_err().to_string().contains("already exports"));
        assert!(validate_exports(&mode, &names(&["x", "x"])).unwrap_err().to_string().contains("twice"));
        assert!(validate_exports(&mode, &names(&["", "b"])).is_err());
    }

    #[test]
    fn function_mode_rejects_clashing_or_repeated_names() {
        let mode = |names: &[&str]| FunctionMode { invoke: names.iter().map(|s| s.to_string()).collect(), io: IoMode::Json };
        let validate = |names: &[&str]| validate_function_mode(&mode(names));
        assert!(validate(&["run", "default"]).is_ok());
        assert!(validate(&[]).is_err());
        assert!(validate(&["_start"]).unwrap_err().to_string().contains("already exports"));
        assert!(validate(&["kiln.init"]).unwrap_err().to_string().contains("already exports"));
        assert!(validate(&["run", "run"]).unwrap_err().to_string().contains("twice"));
        assert!(validate(&["a\nb"]).is_err());
    }
}
