//! Positions and code frames: what every build error that points into a
//! file is made with.

use crate::error::{Error, JsLocation};
use crate::source::Source;
use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::term::{self, Config};

/// The 1-based line and column (in characters) of byte `offset`.
pub(crate) fn line_column(text: &str, offset: usize) -> JsLocation {
    let (line, column) = kiln_frontend::line_column(text, offset);
    JsLocation { file: String::new(), line, column }
}

/// An [`Error::Import`] pointing at byte `offset` of `file`'s `text`.
pub(crate) fn import_at(file: &str, text: &str, offset: usize, message: String) -> Error {
    let mut location = line_column(text, offset);
    location.file = file.to_string();
    let frame = code_frame(file, text, &location, &format!("ImportError: {message}"));
    Error::Import { message, location: Some(location), frame }
}

/// The message of a build that ran out of stack, as QuickJS (and V8) word it.
pub(crate) const STACK_EXHAUSTED: &str = "Maximum call stack size exceeded";

/// The engine ran out of stack during init. With `offset` (where the parser
/// gave up, see `Compiler::locate_stack_exhaustion`) the program nests too
/// deeply to parse: a syntax-class error with a position and a code frame.
/// Without, it was the top level's own recursion (function mode).
pub(crate) fn stack_exhausted(source: &Source, offset: Option<usize>) -> Error {
    let name = "RangeError".to_string();
    let Some(offset) = offset else {
        return Error::JsException { name, message: format!("{STACK_EXHAUSTED} while the top level ran at build time"), stack: String::new() };
    };
    let before = &source.text[..offset.min(source.text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let location = JsLocation { file: source.name.clone(), line, column };
    let message = format!("{STACK_EXHAUSTED}: the program nests too deeply to compile");
    let frame = code_frame(&source.name, &source.text, &location, &format!("{name}: {message}"));
    Error::JsSyntax { name, message, location: Some(location), frame }
}

/// Renders the offending line of `text` (the file `name`) with a caret under
/// the column. A long line (minified or generated code) is cut to a window
/// around the column, so that the frame stays a few lines of text whatever
/// the input.
pub(crate) fn code_frame(name: &str, text: &str, loc: &JsLocation, message: &str) -> String {
    let Some(offset) = byte_offset(text, loc.line, loc.column) else { return String::new() };
    let excerpt = Excerpt::around(name, text, offset, loc);
    let end = excerpt.text[excerpt.label..].chars().next().map_or(excerpt.label, |c| excerpt.label + c.len_utf8());
    let diagnostic = Diagnostic::error().with_message(message).with_labels(vec![Label::primary((), excerpt.label..end)]);
    let mut out = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
    if term::emit_to_write_style(&mut out, &Config::default(), &excerpt, &diagnostic).is_err() {
        return String::new();
    }
    String::from_utf8_lossy(&out.into_inner()).into_owned()
}

/// The characters of a line shown on either side of the column.
const FRAME_HALF_WIDTH: usize = 60;

/// One line of the source, possibly cut short, that reports the positions
/// of the whole file: codespan renders it as if it were the file.
struct Excerpt<'a> {
    name: &'a str,
    /// The shown part of the line, with `…` where it was cut.
    text: String,
    /// Byte offset of the labelled character in `text`.
    label: usize,
    /// Where that character is in the file.
    location: &'a JsLocation,
}

impl<'a> Excerpt<'a> {
    fn around(name: &'a str, text: &str, offset: usize, location: &'a JsLocation) -> Self {
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        let line = text[line_start..line_end].trim_end_matches('\r');
        let at = (offset - line_start).min(line.len());
        let from = line[..at].char_indices().rev().nth(FRAME_HALF_WIDTH - 1).map_or(0, |(i, _)| i);
        let to = line[at..].char_indices().nth(FRAME_HALF_WIDTH).map_or(line.len(), |(i, _)| at + i);
        let (head, tail) = (if from > 0 { "…" } else { "" }, if to < line.len() { "…" } else { "" });
        Excerpt { name, text: format!("{head}{}{tail}", &line[from..to]), label: head.len() + at - from, location }
    }
}

impl<'a> codespan_reporting::files::Files<'a> for Excerpt<'_> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, (): ()) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(self.name)
    }

    fn source(&'a self, (): ()) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(&self.text)
    }

    fn line_index(&'a self, (): (), _: usize) -> Result<usize, codespan_reporting::files::Error> {
        Ok(0)
    }

    fn line_number(&'a self, (): (), _: usize) -> Result<usize, codespan_reporting::files::Error> {
        Ok(self.location.line)
    }

    fn column_number(&'a self, (): (), _: usize, byte_index: usize) -> Result<usize, codespan_reporting::files::Error> {
        let shown = |b: usize| self.text.get(..b).map_or(0, |t| t.chars().count());
        Ok((self.location.column + shown(byte_index)).saturating_sub(shown(self.label)).max(1))
    }

    fn line_range(&'a self, (): (), _: usize) -> Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        Ok(0..self.text.len())
    }
}

/// The byte offset of 1-based `line`:`column` (column counted in characters),
/// clamped to the end of the line.
fn byte_offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let mut start = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let content = l.trim_end_matches(['\n', '\r']);
            let within = content.char_indices().nth(column.saturating_sub(1)).map_or(content.len(), |(b, _)| b);
            return Some(start + within);
        }
        start += l.len();
    }
    (line == text.split_inclusive('\n').count() + 1).then_some(text.len())
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_in_characters() {
        let loc = line_column("a\nλb 'x'", 6);
        assert_eq!((loc.line, loc.column), (2, 4));
    }
    use crate::source::SourceKind;

    #[test]
    fn code_frame_points_at_the_column() {
        let source = Source::from_bytes("app.js".into(), b"let a = 1;\nlet b = (;\n".to_vec(), SourceKind::Script).unwrap();
        let loc = JsLocation { file: "app.js".into(), line: 2, column: 10 };
        let frame = code_frame(&source.name, &source.text, &loc, "SyntaxError: unexpected token");
        assert!(frame.contains("app.js:2:10"), "{frame}");
        assert!(frame.contains("let b = (;"), "{frame}");
        let caret_line = frame.lines().find(|l| l.contains('^')).unwrap();
        let code_line = frame.lines().find(|l| l.contains("let b")).unwrap();
        assert_eq!(caret_line.find('^'), code_line.find(';'), "{frame}");
    }

    #[test]
    fn code_frame_of_a_long_line_is_a_window_around_the_column() {
        let line = format!("{}BAD{}", "a".repeat(5000), "z".repeat(5000));
        let source = Source::from_bytes("min.js".into(), format!("x\n{line}\n").into_bytes(), SourceKind::Script).unwrap();
        let loc = JsLocation { file: "min.js".into(), line: 2, column: 5001 };
        let frame = code_frame(&source.name, &source.text, &loc, "SyntaxError: unexpected token");
        assert!(frame.contains("min.js:2:5001"), "{frame}");
        assert!(frame.len() < 600, "the frame must not print the whole line:\n{frame}");
        let code_line = frame.lines().find(|l| l.contains("BAD")).unwrap();
        assert!(code_line.starts_with("2 │ …a") && code_line.ends_with("z…"), "{frame}");
        let caret_line = frame.lines().find(|l| l.contains('^')).unwrap();
        let column_of = |line: &str, at: usize| line[..at].chars().count();
        assert_eq!(column_of(caret_line, caret_line.find('^').unwrap()), column_of(code_line, code_line.find("BAD").unwrap()), "{frame}");
    }
}
