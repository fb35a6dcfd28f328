//! The program's module graph: every local file reached through relative
//! imports, read at build time so that the engine can compile them all into
//! the snapshot.
//!
//! Starting at the entry, each file is scanned for `import ... from '...'`,
//! `import '...'`, `export ... from '...'` and `import('...')` with a string
//! literal; each relative specifier is resolved against the importing file
//! and the file read. Names are paths relative to the entry's directory with
//! `/` separators and `.`/`..` folded lexically (`lib/util.js`,
//! `../shared/a.mjs`) — the engine's resolver (`engine/src/modules.rs`)
//! folds specifiers the same way, and stack traces show these names.
//!
//! A static import that cannot be served (missing file, unsupported
//! specifier) fails the build with the position of its specifier. A dynamic
//! `import()` of a file that cannot be found is left to fail at run time, as
//! it would in Node: the program may never take that path.

use crate::error::{Error, JsLocation};
use crate::source::Source;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file of the graph other than the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFile {
    /// The module's name: its path relative to the entry's directory.
    pub name: String,
    /// Its source text.
    pub text: String,
}

/// One import found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Import {
    /// The specifier, as written.
    pub(crate) specifier: String,
    /// Byte offset of the string literal (its opening quote).
    pub(crate) offset: usize,
    /// Byte range from the `import`/`export` keyword to the specifier: the
    /// names the statement imports are in there.
    pub(crate) clause: std::ops::Range<usize>,
    /// `import(...)` rather than a declaration.
    pub(crate) dynamic: bool,
}

/// Collects the files reached from `entry` by relative imports, in a
/// deterministic order (sorted by name). Files are looked up under
/// `base_dir`, the entry's directory.
///
/// # Errors
///
/// [`Error::Import`] with the position of the offending import for a
/// missing or unreadable file or an unsupported specifier.
pub fn collect(entry: &Source, base_dir: &Path) -> Result<Vec<ModuleFile>, Error> {
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let mut queue: Vec<(String, String)> = vec![(entry.name.clone(), entry.text.clone())];
    while let Some((importer, text)) = queue.pop() {
        for import in scan_imports(&text) {
            let fail = |message: String| Error::import_at(&importer, &text, import.offset, message);
            let name = match resolve(&importer, &import.specifier) {
                Ok(name) => name,
                Err(_) if import.dynamic => continue,
                Err(why) => return Err(fail(why)),
            };
            if name == entry.name || files.contains_key(&name) {
                continue;
            }
            let path = base_dir.join(&name);
            if path.is_dir() {
                return Err(fail(format!("'{}' is a directory; import a file, with its extension", import.specifier)));
            }
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(_) if import.dynamic => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(fail(format!("cannot find module '{}' imported from {importer} (no file {})", import.specifier, path.display())));
                }
                Err(e) => return Err(fail(format!("cannot read module '{}' ({}): {e}", import.specifier, path.display()))),
            };
            let text = match String::from_utf8(bytes) {
                Ok(text) if !text.contains('\0') => text,
                _ => return Err(fail(format!("{name} is not UTF-8 JavaScript text"))),
            };
            let text = text.strip_prefix('\u{FEFF}').map(str::to_string).unwrap_or(text);
            files.insert(name.clone(), text.clone());
            queue.push((name, text));
        }
    }
    Ok(files.into_iter().map(|(name, text)| ModuleFile { name, text }).collect())
}

/// For a source with no directory (not read from a file): any static
/// import is an error, since there is nowhere to find the file.
///
/// # Errors
///
/// [`Error::Import`] at the first static import.
pub(crate) fn refuse_imports(entry: &Source) -> Result<Vec<ModuleFile>, Error> {
    match scan_imports(&entry.text).into_iter().find(|i| !i.dynamic) {
        None => Ok(Vec::new()),
        Some(import) => Err(Error::import_at(
            &entry.name,
            &entry.text,
            import.offset,
            format!("cannot resolve '{}': this program was not read from a file, so there is no directory to import from", import.specifier),
        )),
    }
}

/// The module name a specifier in `importer` refers to, or why it is not
/// supported.
pub(crate) fn resolve(importer: &str, specifier: &str) -> Result<String, String> {
    const SUPPORTED: &str = "Kiln bundles local files imported by relative path, with the extension ('./lib.js', '../util/a.mjs')";
    let unsupported = |what: &str| Err(format!("unsupported import specifier '{specifier}': {what} are not supported; {SUPPORTED}"));
    if specifier.starts_with('/') || specifier.starts_with('\\') || specifier.get(1..3) == Some(":\\") {
        return unsupported("absolute paths");
    }
    if specifier.contains("://") || specifier.starts_with("data:") || specifier.starts_with("file:") {
        return unsupported("URLs");
    }
    if specifier.starts_with("node:") || specifier.starts_with("qjs:") {
        return unsupported("host modules (node:, qjs:)");
    }
    if !(specifier.starts_with("./") || specifier.starts_with("../")) {
        if specifier == "." || specifier == ".." {
            return unsupported("directories");
        }
        return unsupported("package imports (bare specifiers)");
    }
    if specifier.ends_with('/') {
        return unsupported("directories");
    }
    if specifier.ends_with(".json") {
        return unsupported("JSON modules");
    }
    if !(specifier.ends_with(".js") || specifier.ends_with(".mjs")) {
        return unsupported("files other than JavaScript (.js, .mjs)");
    }
    let mut parts: Vec<&str> = importer.split('/').collect();
    parts.pop();
    for part in specifier.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

/// Where the engine finds files: the entry's directory.
pub(crate) fn base_dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The imports of a JavaScript text, in source order.
///
/// A tokenizer just good enough to find them: it skips comments, strings,
/// template literals (with nested `${}`) and regular expression literals
/// (told apart from division by the previous token, as parsers do), so an
/// `import` inside any of those is not taken for one.
pub(crate) fn scan_imports(text: &str) -> Vec<Import> {
    let tokens = tokenize(text);
    let mut imports = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let keyword = match token.kind {
            Kind::Ident if token.text == "import" || token.text == "export" => token.text,
            _ => continue,
        };
        // `x.import(...)`, `obj?.export` are property names.
        if i > 0 && tokens[i - 1].kind == Kind::Punct && tokens[i - 1].text == "." {
            continue;
        }
        let next = |k: usize| tokens.get(i + k);
        if keyword == "import" {
            match next(1) {
                Some(t) if t.kind == Kind::Punct && t.text == "(" => {
                    if let (Some(s), Some(close)) = (next(2), next(3)) {
                        if s.kind == Kind::Str && close.kind == Kind::Punct && (close.text == ")" || close.text == ",") {
                            imports.push(Import { specifier: s.value.clone(), offset: s.start, clause: token.start..s.start, dynamic: true });
                        }
                    }
                    continue;
                }
                Some(t) if t.kind == Kind::Punct && t.text == "." => continue,
                Some(t) if t.kind == Kind::Str => {
                    imports.push(Import { specifier: t.value.clone(), offset: t.start, clause: token.start..t.start, dynamic: false });
                    continue;
                }
                _ => {}
            }
        } else {
            // Only `export * ...` and `export { ... }` can re-export.
            match next(1) {
                Some(t) if t.kind == Kind::Punct && (t.text == "*" || t.text == "{") => {}
                _ => continue,
            }
        }
        // Find `from '...'` before the statement ends.
        let mut depth = 0usize;
        for k in i + 1..tokens.len() {
            let t = &tokens[k];
            match (t.kind, t.text) {
                (Kind::Punct, "{") => depth += 1,
                (Kind::Punct, "}") => depth = depth.saturating_sub(1),
                (Kind::Punct, ";") if depth == 0 => break,
                (Kind::Ident, "from") => {
                    if let Some(s) = tokens.get(k + 1).filter(|s| s.kind == Kind::Str) {
                        imports.push(Import { specifier: s.value.clone(), offset: s.start, clause: token.start..s.start, dynamic: false });
                        break;
                    }
                }
                (Kind::Ident, "import" | "export" | "function" | "class" | "const" | "let" | "var") if depth == 0 => break,
                (Kind::Str, _) if depth == 0 => break,
                _ => {}
            }
        }
    }
    imports
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ident,
    Punct,
    Str,
    /// Numbers, templates, regular expressions: values that end an
    /// expression.
    Other,
}

#[derive(Debug)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
    start: usize,
    /// A string literal's value.
    value: String,
}

/// Keywords after which `/` starts a regular expression.
const BEFORE_EXPRESSION: &[&str] =
    &["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await", "extends"];

fn tokenize(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut tokens: Vec<Token<'_>> = Vec::new();
    // For each open `{`: whether it opened a template substitution `${`.
    let mut braces: Vec<bool> = Vec::new();
    let mut i = 0;
    if text.starts_with("#!") {
        i = text.find('\n').unwrap_or(text.len());
    }
    let regex_allowed = |tokens: &[Token<'_>]| match tokens.last() {
        None => true,
        Some(t) => match t.kind {
            Kind::Punct => !matches!(t.text, ")" | "]" | "}"),
            Kind::Ident => BEFORE_EXPRESSION.contains(&t.text),
            Kind::Str | Kind::Other => false,
        },
    };
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(bytes.len(), |n| i + 2 + n + 2);
            }
            b'/' if regex_allowed(&tokens) => {
                i += 1;
                let mut in_class = false;
                while i < bytes.len() && bytes[i] != b'\n' {
                    match bytes[i] {
                        b'\\' => i += 1,
                        b'[' => in_class = true,
                        b']' => in_class = false,
                        b'/' if !in_class => break,
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                i = i.min(bytes.len());
                tokens.push(Token { kind: Kind::Other, text: &text[start..i], start, value: String::new() });
            }
            b'\'' | b'"' => {
                let (end, value) = string_literal(text, i);
                i = end;
                tokens.push(Token { kind: Kind::Str, text: &text[start..i], start, value });
            }
            b'`' => {
                i = template_rest(bytes, i + 1, &mut braces);
                tokens.push(Token { kind: Kind::Other, text: &text[start..i], start, value: String::new() });
            }
            b'}' if braces.last() == Some(&true) => {
                braces.pop();
                i = template_rest(bytes, i + 1, &mut braces);
                tokens.push(Token { kind: Kind::Other, text: &text[start..i], start, value: String::new() });
            }
            b'0'..=b'9' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' || bytes[i] == b'_') {
                    i += 1;
                }
                tokens.push(Token { kind: Kind::Other, text: &text[start..i], start, value: String::new() });
            }
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                tokens.push(Token { kind: Kind::Other, text: &text[start..i], start, value: String::new() });
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c == b'#' || c == b'\\' || c >= 0x80 => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$' || bytes[i] == b'\\' || bytes[i] >= 0x80) {
                    i += 1;
                }
                tokens.push(Token { kind: Kind::Ident, text: &text[start..i], start, value: String::new() });
            }
            _ => {
                i += 1;
                if c == b'{' {
                    braces.push(false);
                } else if c == b'}' {
                    braces.pop();
                }
                // `?.` is one token so that `a?.import` reads as a property.
                if c == b'?' && bytes.get(i) == Some(&b'.') && !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                    tokens.push(Token { kind: Kind::Punct, text: ".", start, value: String::new() });
                    continue;
                }
                tokens.push(Token { kind: Kind::Punct, text: &text[start..i], start, value: String::new() });
            }
        }
    }
    tokens
}

/// Scans a string literal starting at its quote; returns the offset after
/// it and its value (common escapes decoded).
fn string_literal(text: &str, start: usize) -> (usize, String) {
    let quote = text.as_bytes()[start] as char;
    let mut value = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((k, c)) = chars.next() {
        match c {
            c if c == quote => return (start + 1 + k + 1, value),
            '\n' => return (start + 1 + k, value),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, '\n')) | None => {}
                Some((_, other)) => value.push(other),
            },
            c => value.push(c),
        }
    }
    (text.len(), value)
}

/// Scans template text from `i` up to the closing backtick (returns the
/// offset after it) or a `${` (pushes a template brace, returns the offset
/// after it).
fn template_rest(bytes: &[u8], mut i: usize, braces: &mut Vec<bool>) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'`' => return i + 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                braces.push(true);
                return i + 2;
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The 1-based line and column (in characters) of byte `offset`.
pub(crate) fn line_column(text: &str, offset: usize) -> JsLocation {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    JsLocation { file: String::new(), line, column: before[line_start..].chars().count() + 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specifiers(text: &str) -> Vec<(String, bool)> {
        scan_imports(text).into_iter().map(|i| (i.specifier, i.dynamic)).collect()
    }

    #[test]
    fn finds_every_form_of_import() {
        let text = r#"
import a from "./a.js";
import { b, c as d } from './b.js'
import * as e from "./e.js";
import "./side.js";
import f, { g } from "./f.js";
export { h } from "./h.js";
export * from "./star.js";
export * as ns from "./ns.js";
export const x = 1;
export { x as y };
const m = await import("./dyn.js");
import { from } from "./from.js";
"#;
        let found: Vec<String> = specifiers(text).into_iter().map(|(s, _)| s).collect();
        assert_eq!(found, ["./a.js", "./b.js", "./e.js", "./side.js", "./f.js", "./h.js", "./star.js", "./ns.js", "./dyn.js", "./from.js"]);
        assert_eq!(specifiers("import('./x.js')"), [("./x.js".to_string(), true)]);
    }

    #[test]
    fn ignores_imports_in_comments_strings_templates_and_regexes() {
        let text = r#"
// import a from "./no1.js";
/* import "./no2.js" */
const s = 'import "./no3.js"';
const t = `import "./no4.js" ${ `${"x"}` } import "./no5.js"`;
const r = /import "\/no6.js"/g;
const q = a / 2 / 3; import "./yes.js";
obj.import("./no7.js");
import.meta.url;
"#;
        assert_eq!(specifiers(text), [("./yes.js".to_string(), false)]);
    }

    #[test]
    fn resolves_relative_names_and_refuses_the_rest() {
        assert_eq!(resolve("main.js", "./lib/a.js").unwrap(), "lib/a.js");
        assert_eq!(resolve("lib/a.js", "../util/b.mjs").unwrap(), "util/b.mjs");
        assert_eq!(resolve("main.js", "../up.js").unwrap(), "../up.js");
        assert!(resolve("main.js", "lodash").unwrap_err().contains("package imports"));
        assert!(resolve("main.js", "https://x.com/a.js").unwrap_err().contains("URLs"));
        assert!(resolve("main.js", "/abs/a.js").unwrap_err().contains("absolute paths"));
        assert!(resolve("main.js", "./data.json").unwrap_err().contains("JSON"));
    }

    #[test]
    fn positions_are_one_based_in_characters() {
        let loc = line_column("a\nλb 'x'", 6);
        assert_eq!((loc.line, loc.column), (2, 4));
    }
}
