//! The program to compile: its text, the name its stack traces show, and
//! whether it is a classic script or an ES module.

use crate::error::Error;
use crate::module_graph::{ModuleFile, ModuleKind};
use std::path::Path;

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

/// How an invoked function receives its input and returns its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoMode {
    /// stdin is parsed as one JSON value; the result is written as JSON and
    /// a newline.
    #[default]
    Json,
    /// The function gets stdin as a string and returns a string.
    Text,
    /// The function gets stdin as a `Uint8Array` and returns one.
    Bytes,
    /// Each stdin line is one JSON value; the function is called once per
    /// line and each result is written as one line as soon as it is ready.
    Ndjson,
}

impl IoMode {
    /// The mode's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            IoMode::Json => "json",
            IoMode::Text => "text",
            IoMode::Bytes => "bytes",
            IoMode::Ndjson => "ndjson",
        }
    }
}

/// Function mode: the module's top level runs at build time, and each
/// invoked export becomes a wasm export of type `() -> ()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionMode {
    /// The JS exports to invoke (`default` is the default export). The first
    /// one is what `_start` runs.
    pub invoke: Vec<String>,
    /// How they do I/O.
    pub io: IoMode,
}

impl FunctionMode {
    /// Checks the export names: each must be usable as a wasm export next to
    /// `memory` and `_start`, and appear once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the offending export.
    pub fn validate(&self) -> Result<(), Error> {
        if self.invoke.is_empty() {
            return Err(Error::InvalidInput("function mode needs at least one export to invoke".into()));
        }
        for (i, name) in self.invoke.iter().enumerate() {
            if name.is_empty() || name.contains(['\n', '\r', '\0']) {
                return Err(Error::InvalidInput(format!("{name:?} is not a usable export name")));
            }
            if crate::KEPT_EXPORTS.contains(&name.as_str()) || name.starts_with("kiln.") {
                return Err(Error::InvalidInput(format!("cannot invoke `{name}`: the module already exports that name")));
            }
            if self.invoke[..i].contains(name) {
                return Err(Error::InvalidInput(format!("`{name}` is invoked twice")));
            }
        }
        Ok(())
    }
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
        source.base_dir = Some(crate::module_graph::base_dir_of(path));
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

    /// The engine's init input: a small header, then the program, then the
    /// files it imports (format: `engine/src/init_input.rs`).
    pub(crate) fn init_input(&self, modules: &[ModuleFile], function_mode: Option<&FunctionMode>) -> Vec<u8> {
        let kind = match self.kind {
            SourceKind::Script => "script",
            SourceKind::Module => "module",
            SourceKind::Detect => "auto",
        };
        let mut header = format!("kiln-init 1\nfile {}\nkind {kind}\n", self.name);
        for module in modules.iter().filter(|m| m.kind == ModuleKind::JavaScript) {
            header.push_str(&format!("module {} {}\n", module.text.len(), module.name));
        }
        // Data modules after JavaScript ones: the engine reads the sources
        // in that order.
        for module in modules.iter().filter(|m| m.kind != ModuleKind::JavaScript) {
            let len = module.text.len();
            let line = match module.kind {
                ModuleKind::Json { typed, untyped } => {
                    let forms: Vec<&str> = [(typed, "typed"), (untyped, "untyped")].iter().filter(|f| f.0).map(|f| f.1).collect();
                    format!("json {len} {} {}\n", forms.join(","), module.name)
                }
                _ => format!("text {len} {}\n", module.name),
            };
            header.push_str(&line);
        }
        for (name, table) in &self.position_tables {
            header.push_str(&format!("map {} {name}\n", table.len()));
        }
        if let Some(mode) = function_mode {
            for name in &mode.invoke {
                header.push_str(&format!("invoke {name}\n"));
            }
            header.push_str(&format!("io {}\n", mode.io.name()));
        }
        header.push('\n');
        let mut input = header.into_bytes();
        input.extend_from_slice(self.text.as_bytes());
        for module in modules.iter().filter(|m| m.kind == ModuleKind::JavaScript) {
            input.extend_from_slice(module.text.as_bytes());
        }
        for module in modules.iter().filter(|m| m.kind != ModuleKind::JavaScript) {
            input.extend_from_slice(module.text.as_bytes());
        }
        for (_, table) in &self.position_tables {
            input.extend_from_slice(table);
        }
        input
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
    fn init_input_carries_name_kind_and_text() {
        let s = Source::from_bytes("a.mjs".into(), b"export {}".to_vec(), SourceKind::Module).unwrap();
        assert_eq!(s.init_input(&[], None), b"kiln-init 1\nfile a.mjs\nkind module\n\nexport {}");
        let lib = ModuleFile { name: "lib/b c.js".into(), text: "export let b".into(), kind: ModuleKind::JavaScript };
        assert_eq!(s.init_input(std::slice::from_ref(&lib), None), b"kiln-init 1\nfile a.mjs\nkind module\nmodule 12 lib/b c.js\n\nexport {}export let b");
        let data = [
            ModuleFile { name: "d.json".into(), text: "{}".into(), kind: ModuleKind::Json { typed: true, untyped: true } },
            lib.clone(),
            ModuleFile { name: "a.mjs".into(), text: "xy".into(), kind: ModuleKind::Text },
        ];
        assert_eq!(
            s.init_input(&data, None),
            b"kiln-init 1\nfile a.mjs\nkind module\nmodule 12 lib/b c.js\njson 2 typed,untyped d.json\ntext 2 a.mjs\n\nexport {}export let b{}xy"
        );
        let mode = FunctionMode { invoke: vec!["run".into(), "default".into()], io: IoMode::Ndjson };
        assert_eq!(s.init_input(&[], Some(&mode)), b"kiln-init 1\nfile a.mjs\nkind module\ninvoke run\ninvoke default\nio ndjson\n\nexport {}");
    }

    #[test]
    fn function_mode_rejects_clashing_or_repeated_names() {
        let mode = |names: &[&str]| FunctionMode { invoke: names.iter().map(|s| s.to_string()).collect(), io: IoMode::Json };
        assert!(mode(&["run", "default"]).validate().is_ok());
        assert!(mode(&[]).validate().is_err());
        assert!(mode(&["_start"]).validate().unwrap_err().to_string().contains("already exports"));
        assert!(mode(&["run", "run"]).validate().unwrap_err().to_string().contains("twice"));
        assert!(mode(&["a\nb"]).validate().is_err());
    }
}
