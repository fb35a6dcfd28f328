//! Turning the engine's build-time report (`kiln_abi::Report`) into an
//! [`Error`]: positions in the files as written, through the program's
//! source maps, with code frames.

use crate::diagnostic::{code_frame, import_at, stack_exhausted};
use crate::error::{Error, JsLocation};
use crate::module_graph::Program;
use kiln_abi::{ImportFailure, ImportProblem, Report};

/// The error a failed init's report stands for. A stack overflow, which
/// needs a search for its position, is the caller's (see
/// [`stack_exhausted`]).
pub(crate) fn from_report(report: Report, program: &Program) -> Error {
    let source = &program.entry;
    match report {
        Report::Syntax { name, message, location } => {
            // The position in the file as written (through its map, for a
            // file the front end transformed).
            let location = location.map(|l| JsLocation { file: l.file, line: l.line as usize, column: l.column as usize });
            let located = location.map(|loc| match program.original_location(&loc) {
                Some((original, text)) => (original, Some(text)),
                None => (loc, None),
            });
            let frame = located
                .as_ref()
                .and_then(|(loc, text)| Some(code_frame(&loc.file, (*text)?, loc, &format!("{name}: {message}"))))
                .unwrap_or_default();
            Error::JsSyntax { name, message, location: located.map(|(loc, _)| loc), frame }
        }
        Report::Import { failure, error } => import_error(&failure, &error.message, program)
            .unwrap_or(Error::JsException { name: error.name, message: error.message, stack: error.stack }),
        Report::Exception(error) => Error::JsException { name: error.name, message: error.message, stack: error.stack },
        // Already formatted by the runtime: `TypeError: message` + stack.
        Report::Uncaught { message } => Error::JsException { name: String::new(), message, stack: String::new() },
        Report::NotInvocable { message, .. } => Error::NoSuchExport(message),
        Report::StackOverflow => stack_exhausted(source, None),
        Report::OutOfMemory { limit } => {
            let limit = if limit % (1 << 20) == 0 { format!("{} MiB", limit >> 20) } else { format!("{limit} bytes") };
            Error::JsException {
                name: "InternalError".into(),
                message: format!("out of memory: the build used more than its memory limit of {limit} (raise it with --build-max-memory)"),
                stack: String::new(),
            }
        }
        Report::Internal { message } => Error::InvalidInput(message),
    }
}

/// Turns an import the engine could not serve or link into an
/// [`Error::Import`] pointing at the import in question, in the file as
/// written; `message` is the engine's. `None` when no import of the
/// program matches.
fn import_error(failure: &ImportFailure, message: &str, program: &Program) -> Option<Error> {
    // The file as written of each import's importer (imports of generated
    // modules have no position to show), the importer the engine named
    // first.
    let written = |import: &kiln_frontend::Import| -> Option<&str> {
        let (text, mapped) = program.file(&import.importer)?;
        let text = mapped.map_or(text, |(_, original)| original);
        (import.offset > 0).then_some(text)
    };
    let (first, others): (Vec<&kiln_frontend::Import>, Vec<_>) =
        program.imports.iter().partition(|i| failure.importer.as_deref() == Some(i.importer.as_str()));
    let imports = first.into_iter().chain(others);
    match &failure.problem {
        ImportProblem::NotExported { name: export } | ImportProblem::Circular { name: export } | ImportProblem::Ambiguous { name: export } => {
            // Find an import of the module whose clause names the export.
            let module = failure.module.as_deref()?;
            let mut fallback = None;
            for import in imports.filter(|i| i.name == module) {
                let Some(text) = written(import) else { continue };
                let clause = text.get(import.statement..import.offset).unwrap_or("");
                if let Some(at) = find_word(clause, export) {
                    let why = format!("{message} (imported by {}); the module graph does not link", import.importer);
                    return Some(import_at(&import.importer, text, import.statement + at, why));
                }
                fallback.get_or_insert((import, text));
            }
            let (import, text) = fallback?;
            Some(import_at(&import.importer, text, import.offset, format!("{message}; the module graph does not link")))
        }
        ImportProblem::NotFound | ImportProblem::Unsupported | ImportProblem::NotCompiled => {
            let specifier = failure.specifier.as_deref().or(failure.module.as_deref())?;
            let import = imports.into_iter().find(|i| i.specifier == specifier)?;
            Some(import_at(&import.importer, written(import)?, import.offset, message.to_string()))
        }
        ImportProblem::BadAttributes => None,
    }
}

/// The byte offset of `word` in `text` as a whole identifier.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    text.match_indices(word).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}
