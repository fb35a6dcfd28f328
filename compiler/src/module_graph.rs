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
use std::path::Path;

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

/// What a file is imported as: the front end's kind, one type on both sides.
pub use kiln_frontend::ModuleKind;

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
    /// The engine's init input for this program (see [`init_input`]).
    pub(crate) fn init_input(&self, function_mode: Option<&kiln_abi::FunctionMode>, limits: kiln_abi::BuildLimits) -> Vec<u8> {
        init_input(&self.entry, &self.modules, &self.imports, function_mode, limits)
    }

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

/// The engine's init input: the entry `entry`, the files it imports (JSON
/// and text ones after the JavaScript, the order the engine loads data
/// modules in), the import map and function mode.
pub(crate) fn init_input(entry: &Source, modules: &[ModuleFile], imports: &[kiln_frontend::Import], function_mode: Option<&kiln_abi::FunctionMode>, limits: kiln_abi::BuildLimits) -> Vec<u8> {
    let kind = match entry.kind {
        SourceKind::Script => kiln_abi::SourceKind::Script,
        SourceKind::Module => kiln_abi::SourceKind::Module,
        SourceKind::Detect => kiln_abi::SourceKind::Auto,
    };
    let module = |name: &str, kind, text: &str| kiln_abi::Module { name: name.to_string(), kind, source: text.as_bytes().to_vec(), source_map: None };
    let mut files = vec![module(&entry.name, kiln_abi::ModuleKind::JavaScript(kind), &entry.text)];
    let (code, data): (Vec<&ModuleFile>, Vec<&ModuleFile>) = modules.iter().partition(|m| m.kind == ModuleKind::JavaScript);
    for file in code.into_iter().chain(data) {
        let kind = match file.kind {
            ModuleKind::JavaScript => kiln_abi::ModuleKind::JavaScript(kiln_abi::SourceKind::Module),
            ModuleKind::Json { typed, untyped } => kiln_abi::ModuleKind::Json { typed, untyped },
            ModuleKind::Text => kiln_abi::ModuleKind::Text,
        };
        files.push(module(&file.name, kind, &file.text));
    }
    for file in files.iter_mut().filter(|f| matches!(f.kind, kiln_abi::ModuleKind::JavaScript(_))) {
        file.source_map = entry.position_tables.iter().find(|(name, _)| *name == file.name).map(|(_, table)| table.clone());
    }
    let import_map = imports
        .iter()
        .map(|i| kiln_abi::ImportMapping {
            importer: i.importer.clone(),
            specifier: i.specifier.clone(),
            attributes: i.attributes.clone(),
            target: i.name.clone(),
        })
        .collect();
    kiln_abi::InitInput {
        entry: entry.name.clone(),
        modules: files,
        import_map,
        function_mode: function_mode.cloned(),
        limits,
    }
    .encode()
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
            kind: m.kind,
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
        Some((specifier, offset)) => Err(crate::diagnostic::import_at(
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
        kiln_frontend::DiagnosticKind::Import => crate::diagnostic::import_at(&d.file, &d.text, d.offset.unwrap_or(0), d.message),
        kiln_frontend::DiagnosticKind::Syntax => {
            let name = "SyntaxError".to_string();
            let location = d.offset.map(|offset| {
                let mut location = crate::diagnostic::line_column(&d.text, offset);
                location.file = d.file.clone();
                location
            });
            let frame = location.as_ref().map(|l| crate::diagnostic::code_frame(&d.file, &d.text, l, &format!("{name}: {}", d.message))).unwrap_or_default();
            Error::JsSyntax { name, message: d.message, location, frame }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_input_carries_every_file_javascript_first() {
        let s = Source::from_bytes("a.mjs".into(), b"export {}".to_vec(), SourceKind::Module).unwrap();
        let decode = |bytes: Vec<u8>| kiln_abi::InitInput::decode(&bytes).unwrap();
        let alone = decode(init_input(&s, &[], &[], None, kiln_abi::BuildLimits::default()));
        assert_eq!(alone.entry, "a.mjs");
        assert_eq!(alone.entry_module().map(|m| (m.kind, m.source.as_slice())), Some((kiln_abi::ModuleKind::JavaScript(kiln_abi::SourceKind::Module), &b"export {}"[..])));
        let file = |name: &str, text: &str, kind| ModuleFile { name: name.into(), text: text.into(), kind, source_map: None, original: None };
        let data = [
            file("d.json", "{}", ModuleKind::Json { typed: true, untyped: true }),
            file("lib/b c.js", "export let b", ModuleKind::JavaScript),
            file("a.mjs", "xy", ModuleKind::Text),
        ];
        let input = decode(init_input(&s, &data, &[], None, kiln_abi::BuildLimits::default()));
        let names: Vec<(&str, kiln_abi::ModuleKind)> = input.modules.iter().map(|m| (m.name.as_str(), m.kind)).collect();
        assert_eq!(
            names,
            [
                ("a.mjs", kiln_abi::ModuleKind::JavaScript(kiln_abi::SourceKind::Module)),
                ("lib/b c.js", kiln_abi::ModuleKind::JavaScript(kiln_abi::SourceKind::Module)),
                ("d.json", kiln_abi::ModuleKind::Json { typed: true, untyped: true }),
                ("a.mjs", kiln_abi::ModuleKind::Text),
            ]
        );
        let mode = kiln_abi::FunctionMode { invoke: vec!["run".into(), "default".into()], io: kiln_abi::IoMode::Ndjson };
        assert_eq!(decode(init_input(&s, &[], &[], Some(&mode), kiln_abi::BuildLimits::default())).function_mode, Some(mode));
        let import = kiln_frontend::Import {
            importer: "a.mjs".into(),
            specifier: "./d".into(),
            attributes: vec![("type".into(), "json".into())],
            name: "d.json".into(),
            statement: 0,
            offset: 7,
        };
        let mapped = decode(init_input(&s, &data, std::slice::from_ref(&import), None, kiln_abi::BuildLimits::default())).import_map;
        assert_eq!((mapped[0].specifier.as_str(), mapped[0].target.as_str(), mapped[0].attributes.len()), ("./d", "d.json", 1));
    }


}
