//! The program's modules: what the front end (`kiln-frontend`: oxc's
//! parser, transformer and resolver) makes of the entry and everything it
//! imports, in the form the engine's init input takes.
//!
//! Names are paths relative to the project root (the nearest directory at
//! or above the entry's with a `package.json`, else the entry's own):
//! `main.js`, `lib/util.js`, `src/index.ts`, `node_modules/zod/lib/index.js`.
//! Stack traces show them. Every specifier is resolved here, once; the
//! engine gets the map (importer, specifier) → name and only looks names
//! up.

use crate::error::{Error, JsLocation};
use crate::source::{Source, SourceKind};
use std::path::{Path, PathBuf};

/// A module of the program other than the entry (or the entry imported as
/// text).
#[derive(Debug, Clone)]
pub struct ModuleFile {
    /// The module's name.
    pub name: String,
    /// The text the engine compiles.
    pub text: String,
    /// What the program imports it as.
    pub kind: ModuleKind,
    /// From `text` back to the file as written, when the front end changed
    /// it (TypeScript, JSX, CommonJS, defines).
    pub source_map: Option<kiln_frontend::SourceMap<'static>>,
    /// The file as written, when `text` differs from it.
    pub original: Option<String>,
}

/// What a file is imported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ModuleKind {
    /// An ES module.
    JavaScript,
    /// A JSON module: imported `with { type: "json" }` (`typed`) and/or,
    /// being a `.json` file, without attributes (`untyped`). The engine keeps
    /// the two forms apart, as distinct modules.
    Json {
        /// Imported `with { type: "json" }`.
        typed: bool,
        /// Imported without attributes.
        untyped: bool,
    },
    /// A text module (`with { type: "text" }`).
    Text,
}

/// The whole program as the engine compiles it.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    /// The entry, as compiled (transformed; for CommonJS, the module that
    /// runs it).
    pub(crate) entry: Source,
    /// The entry's map and original text, when it was transformed.
    pub(crate) entry_map: Option<(kiln_frontend::SourceMap<'static>, String)>,
    pub(crate) modules: Vec<ModuleFile>,
    pub(crate) imports: Vec<kiln_frontend::Import>,
}

impl Program {
    /// A program of one file and no imports.
    pub(crate) fn alone(entry: Source) -> Self {
        Program { entry, entry_map: None, modules: Vec::new(), imports: Vec::new() }
    }

    /// The text the engine compiled under `name`, its map and the original
    /// text.
    pub(crate) fn file(&self, name: &str) -> Option<(&str, Option<(&kiln_frontend::SourceMap<'static>, &str)>)> {
        if name == self.entry.name {
            return Some((self.entry.text.as_str(), self.entry_map.as_ref().map(|(m, o)| (m, o.as_str()))));
        }
        let module = self.modules.iter().find(|m| m.name == name && m.kind == ModuleKind::JavaScript).or_else(|| self.modules.iter().find(|m| m.name == name))?;
        Some((module.text.as_str(), module.source_map.as_ref().zip(module.original.as_deref())))
    }

    /// `location` (in the compiled text of its file) in the file as written,
    /// and that text: through the file's source map when it has one.
    pub(crate) fn original_location(&self, location: &JsLocation) -> Option<(JsLocation, &str)> {
        let (text, mapped) = self.file(&location.file)?;
        let Some((map, original)) = mapped else { return Some((location.clone(), text)) };
        let (line, column) = map_position(map, text, location.line, location.column)?;
        Some((JsLocation { file: location.file.clone(), line, column }, original))
    }
}

/// 1-based `line`:`column` (characters) of `generated` through `map`, as a
/// 1-based line and column in the original: the mapping at or before the
/// position, plus the distance from it on the same line.
fn map_position(map: &kiln_frontend::SourceMap<'_>, generated: &str, line: usize, column: usize) -> Option<(usize, usize)> {
    let text_line = generated.lines().nth(line.checked_sub(1)?)?;
    // Source maps count UTF-16 units.
    let column16: usize = text_line.chars().take(column.saturating_sub(1)).map(char::len_utf16).sum();
    let table = map.generate_lookup_table();
    let token = map.lookup_token(&table, (line - 1) as u32, column16 as u32)?;
    let delta = if token.get_dst_line() as usize == line - 1 { column16 - token.get_dst_col() as usize } else { 0 };
    Some((token.get_src_line() as usize + 1, token.get_src_col() as usize + delta + 1))
}

/// The front end's stack: deep enough for any program the engine itself
/// can compile (QuickJS's own limit is far lower).
const FRONTEND_STACK: usize = 1 << 30;

/// Runs `f` on a thread with [`FRONTEND_STACK`] of stack.
fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, Error> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(FRONTEND_STACK)
            .spawn_scoped(scope, f)
            .map_err(|e| Error::InvalidInput(format!("starting the front end: {e}")))?
            .join()
            .map_err(|_| Error::InvalidInput("the front end failed".into()))
    })
}

/// Collects the program of `source`, read from a file in `dir`.
///
/// # Errors
///
/// [`Error::Import`] with the position of an import that cannot be served,
/// [`Error::JsSyntax`] for a file that does not parse, [`Error::InvalidInput`]
/// for a bad define.
pub(crate) fn collect(source: &Source, dir: &Path, options: &kiln_frontend::Options) -> Result<Program, Error> {
    let path = dir.join(&source.name);
    // oxc's parser and printer recurse as deep as the program nests: they
    // run on a thread with room for that (reserved, not committed, memory).
    let graph = on_big_stack(|| kiln_frontend::build(kiln_frontend::Entry { path: &path, text: &source.text }, options))?.map_err(from_diagnostic)?;
    let kiln_frontend::Graph { entry, entry_format, modules, imports } = graph;
    let kind = match (entry_format, source.kind) {
        _ if entry.name.starts_with(kiln_frontend::FACADE_PREFIX) => SourceKind::Module,
        (kiln_frontend::EntryFormat::Module, SourceKind::Detect) => SourceKind::Module,
        (_, kind) => kind,
    };
    // Position tables (kiln-positions) for every file the front end changed,
    // after those the caller brought for code it generated itself: the
    // engine maps stack frames of those files back to the file as written.
    let mut position_tables = source.position_tables.clone();
    if let Some(map) = &entry.source_map {
        position_tables.push((entry.name.clone(), kiln_positions::encode(map, &entry.text, &entry.name)));
    }
    for m in &modules {
        if let Some(map) = &m.source_map {
            position_tables.push((m.name.clone(), kiln_positions::encode(map, &m.text, &m.name)));
        }
    }
    let entry_map = entry.source_map.zip(entry.original);
    let compiled = Source { name: entry.name, text: entry.text, kind, base_dir: source.base_dir.clone(), position_tables };
    let modules = modules
        .into_iter()
        .map(|m| ModuleFile {
            name: m.name,
            text: m.text,
            kind: match m.kind {
                kiln_frontend::ModuleKind::JavaScript => ModuleKind::JavaScript,
                kiln_frontend::ModuleKind::Json { typed, untyped } => ModuleKind::Json { typed, untyped },
                kiln_frontend::ModuleKind::Text => ModuleKind::Text,
            },
            source_map: m.source_map,
            original: m.original,
        })
        .collect();
    Ok(Program { entry: compiled, entry_map, modules, imports })
}

/// For a source with no directory (not read from a file): any static
/// import is an error, since there is nowhere to find the file.
///
/// # Errors
///
/// [`Error::Import`] at the first static import.
pub(crate) fn refuse_imports(entry: &Source) -> Result<Program, Error> {
    // In a classic script an import declaration is a syntax error, which
    // the engine reports.
    if entry.kind == SourceKind::Script {
        return Ok(Program::alone(entry.clone()));
    }
    match on_big_stack(|| kiln_frontend::first_static_import(&entry.text))? {
        None => Ok(Program::alone(entry.clone())),
        Some((specifier, offset)) => Err(Error::import_at(
            &entry.name,
            &entry.text,
            offset,
            format!("cannot resolve '{specifier}': this program was not read from a file, so there is no directory to import from"),
        )),
    }
}

fn from_diagnostic(d: kiln_frontend::Diagnostic) -> Error {
    match d.kind {
        kiln_frontend::DiagnosticKind::Input => Error::InvalidInput(d.message),
        kiln_frontend::DiagnosticKind::Import => Error::import_at(&d.file, &d.text, d.offset.unwrap_or(0), d.message),
        kiln_frontend::DiagnosticKind::Syntax => {
            let name = "SyntaxError".to_string();
            let location = d.offset.map(|offset| {
                let mut location = line_column(&d.text, offset);
                location.file = d.file.clone();
                location
            });
            let frame = location.as_ref().map(|l| crate::diagnostic::code_frame(&d.file, &d.text, l, &format!("{name}: {}", d.message))).unwrap_or_default();
            Error::JsSyntax { name, message: d.message, location, frame }
        }
    }
}

/// Where the engine finds files: the entry's directory.
pub(crate) fn base_dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The 1-based line and column (in characters) of byte `offset`.
pub(crate) fn line_column(text: &str, offset: usize) -> JsLocation {
    let (line, column) = kiln_frontend::line_column(text, offset);
    JsLocation { file: String::new(), line, column }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_in_characters() {
        let loc = line_column("a\nλb 'x'", 6);
        assert_eq!((loc.line, loc.column), (2, 4));
    }
}
