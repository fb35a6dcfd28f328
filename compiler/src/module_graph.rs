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
//! Import attributes choose what a file is: `with { type: "json" }` a JSON
//! module, `with { type: "text" }` a text module (any UTF-8 file, the entry
//! included); without attributes a `.js`/`.mjs` file is JavaScript and, as
//! in QuickJS-NG's `qjs`, a `.json` file JSON. Another `type`, another
//! attribute key, or a file of another extension without a `type` fails the
//! build at the import. JSON and text files are not scanned for imports; a
//! JSON file is parsed by the engine at build time, so a syntax error in it
//! fails the build with its position.
//!
//! A static import that cannot be served (missing file, unsupported
//! specifier) fails the build with the position of its specifier. A dynamic
//! `import()` of a file that cannot be found is left to fail at run time, as
//! it would in Node: the program may never take that path.

use crate::error::{Error, JsLocation};
use crate::source::Source;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file of the graph other than the entry (or the entry imported as
/// text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFile {
    /// The module's name: its path relative to the entry's directory.
    pub name: String,
    /// Its source text.
    pub text: String,
    /// What the program imports it as.
    pub kind: ModuleKind,
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

impl ModuleKind {
    /// Sorts and deduplicates the graph: one entry per file and kind.
    fn key(self) -> u8 {
        match self {
            ModuleKind::JavaScript => 0,
            ModuleKind::Json { .. } => 1,
            ModuleKind::Text => 2,
        }
    }
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
    /// The attributes written after the specifier (`with { type: "json" }`),
    /// as (key, key offset, value, value offset).
    pub(crate) attributes: Vec<(String, usize, String, usize)>,
}

/// What `import` asks for: the kind, or why it cannot be served (and the
/// byte offset to point at).
pub(crate) fn requested_kind(import: &Import) -> Result<ModuleKind, (usize, String)> {
    const SUPPORTED: &str = "Kiln supports with { type: \"json\" } and with { type: \"text\" }";
    let mut kind = None;
    for (key, key_at, value, value_at) in &import.attributes {
        if key != "type" {
            return Err((*key_at, format!("import attribute '{key}' is not supported; {SUPPORTED}")));
        }
        kind = Some(match value.as_str() {
            "json" => ModuleKind::Json { typed: true, untyped: false },
            "text" => ModuleKind::Text,
            other => return Err((*value_at, format!("unsupported module type '{other}'; {SUPPORTED}"))),
        });
    }
    if let Some(kind) = kind {
        return Ok(kind);
    }
    let path = import.specifier.as_str();
    if path.ends_with(".js") || path.ends_with(".mjs") {
        Ok(ModuleKind::JavaScript)
    } else if path.ends_with(".json") {
        Ok(ModuleKind::Json { typed: false, untyped: true })
    } else {
        Err((
            import.offset,
            format!(
                "'{path}' is not a JavaScript file (.js, .mjs): to import its text write `import text from '{path}' with {{ type: \"text\" }}` (or `with {{ type: \"json\" }}` for JSON)"
            ),
        ))
    }
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
    let mut files: BTreeMap<(String, u8), ModuleFile> = BTreeMap::new();
    let mut queue: Vec<(String, String)> = vec![(entry.name.clone(), entry.text.clone())];
    while let Some((importer, text)) = queue.pop() {
        for import in scan_imports(&text) {
            let fail = |offset: usize, message: String| Error::import_at(&importer, &text, offset, message);
            let name = match resolve(&importer, &import.specifier) {
                Ok(name) => name,
                Err(_) if import.dynamic => continue,
                Err(why) => return Err(fail(import.offset, why)),
            };
            let kind = match requested_kind(&import) {
                Ok(kind) => kind,
                // `import('./a.txt', options)` with options not written out:
                // what it asks for is known only when it runs.
                Err(_) if import.dynamic && import.attributes.is_empty() => continue,
                Err((offset, why)) => return Err(fail(offset, why)),
            };
            if let Some(known) = files.get_mut(&(name.clone(), kind.key())) {
                if let (ModuleKind::Json { typed, untyped }, ModuleKind::Json { typed: t, untyped: u }) = (&mut known.kind, kind) {
                    *typed |= t;
                    *untyped |= u;
                }
                continue;
            }
            if name == entry.name {
                match kind {
                    ModuleKind::JavaScript => continue,
                    // The entry's own source, imported as data.
                    _ => {
                        files.insert((name.clone(), kind.key()), ModuleFile { name, text: entry.text.clone(), kind });
                        continue;
                    }
                }
            }
            let path = base_dir.join(&name);
            if path.is_dir() {
                return Err(fail(import.offset, format!("'{}' is a directory; import a file, with its extension", import.specifier)));
            }
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(_) if import.dynamic => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(fail(import.offset, format!("cannot find module '{}' imported from {importer} (no file {})", import.specifier, path.display())));
                }
                Err(e) => return Err(fail(import.offset, format!("cannot read module '{}' ({}): {e}", import.specifier, path.display()))),
            };
            let text = match (String::from_utf8(bytes), kind) {
                (Ok(text), ModuleKind::JavaScript) if !text.contains('\0') => text,
                (Ok(text), ModuleKind::Json { .. } | ModuleKind::Text) => text,
                (_, ModuleKind::JavaScript) => return Err(fail(import.offset, format!("{name} is not UTF-8 JavaScript text"))),
                (Err(_), _) => return Err(fail(import.offset, format!("{name} is not UTF-8 text"))),
            };
            // A byte order mark starts no JavaScript token, and JSON's
            // grammar has none (Node drops it from JSON modules too); a text
            // module keeps its text exactly.
            let text = match kind {
                ModuleKind::Text => text,
                _ => text.strip_prefix('\u{FEFF}').map(str::to_string).unwrap_or(text),
            };
            files.insert((name.clone(), kind.key()), ModuleFile { name: name.clone(), text: text.clone(), kind });
            if kind == ModuleKind::JavaScript {
                queue.push((name, text));
            }
        }
    }
    Ok(files.into_values().collect())
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
    const SUPPORTED: &str = "Kiln bundles local files imported by relative path, with the extension ('./lib.js', '../util/a.mjs', './data.json')";
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
    // What the file is (its extension, the import's attributes) is checked
    // by `requested_kind`.
    Ok(kiln_module_path::join(importer, specifier))
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
                            let attributes = if close.text == "," { dynamic_attributes(&tokens, i + 4) } else { Vec::new() };
                            imports.push(Import { specifier: s.value.clone(), offset: s.start, clause: token.start..s.start, dynamic: true, attributes });
                        }
                    }
                    continue;
                }
                Some(t) if t.kind == Kind::Punct && t.text == "." => continue,
                Some(t) if t.kind == Kind::Str => {
                    let attributes = static_attributes(&tokens, i + 1);
                    imports.push(Import { specifier: t.value.clone(), offset: t.start, clause: token.start..t.start, dynamic: false, attributes });
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
                        let attributes = static_attributes(&tokens, k + 1);
                        imports.push(Import { specifier: s.value.clone(), offset: s.start, clause: token.start..s.start, dynamic: false, attributes });
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

/// The attributes of a declaration whose specifier is token `at`:
/// `with { type: "json" }` after it.
fn static_attributes(tokens: &[Token<'_>], at: usize) -> Vec<(String, usize, String, usize)> {
    match (tokens.get(at + 1), tokens.get(at + 2)) {
        (Some(with), Some(open)) if with.kind == Kind::Ident && with.text == "with" && open.kind == Kind::Punct && open.text == "{" => {
            attribute_pairs(tokens, at + 3)
        }
        _ => Vec::new(),
    }
}

/// The attributes of `import(specifier, { with: { ... } })`, the options
/// object starting at token `at`. Options that are not written out as
/// literals are not known at build time: none are returned.
fn dynamic_attributes(tokens: &[Token<'_>], at: usize) -> Vec<(String, usize, String, usize)> {
    let is = |k: usize, kind: Kind, text: &str| tokens.get(k).is_some_and(|t| t.kind == kind && t.text == text);
    let with_key = tokens.get(at + 1).is_some_and(|t| (t.kind == Kind::Ident && t.text == "with") || (t.kind == Kind::Str && t.value == "with"));
    if is(at, Kind::Punct, "{") && with_key && is(at + 2, Kind::Punct, ":") && is(at + 3, Kind::Punct, "{") {
        attribute_pairs(tokens, at + 4)
    } else {
        Vec::new()
    }
}

/// `key: "value"` pairs from token `at` (just inside `{`) to the `}`.
fn attribute_pairs(tokens: &[Token<'_>], mut at: usize) -> Vec<(String, usize, String, usize)> {
    let mut pairs = Vec::new();
    while let (Some(key), Some(colon), Some(value)) = (tokens.get(at), tokens.get(at + 1), tokens.get(at + 2)) {
        let key_text = match key.kind {
            Kind::Ident => key.text.to_string(),
            Kind::Str => key.value.clone(),
            _ => break,
        };
        if !(colon.kind == Kind::Punct && colon.text == ":" && value.kind == Kind::Str) {
            break;
        }
        pairs.push((key_text, key.start, value.value.clone(), value.start));
        at += 3;
        if tokens.get(at).is_some_and(|t| t.kind == Kind::Punct && t.text == ",") {
            at += 1;
        }
    }
    pairs
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
        assert_eq!(resolve("main.js", "./data.json").unwrap(), "data.json");
    }

    #[test]
    fn reads_import_attributes_and_the_kind_they_ask_for() {
        let text = r#"import a from "./a.json" with { type: "json" };
import b from './b.txt' with { "type": 'text' };
export { c } from "./c.js" with { type: "css" };
import d from "./d.json";
import e from "./e.txt";
const f = await import("./f.json", { with: { type: "text" } });
const g = await import("./g.json", opts);
import h from "./h.json" with { type: "json", other: "x" };
"#;
        let kinds: Vec<Result<ModuleKind, String>> = scan_imports(text).iter().map(|i| requested_kind(i).map_err(|(_, why)| why)).collect();
        assert_eq!(kinds[0], Ok(ModuleKind::Json { typed: true, untyped: false }));
        assert_eq!(kinds[1], Ok(ModuleKind::Text));
        assert!(kinds[2].as_ref().unwrap_err().starts_with("unsupported module type 'css'"), "{:?}", kinds[2]);
        assert_eq!(kinds[3], Ok(ModuleKind::Json { typed: false, untyped: true }));
        assert!(kinds[4].as_ref().unwrap_err().contains("with { type: \"text\" }"), "{:?}", kinds[4]);
        assert_eq!(kinds[5], Ok(ModuleKind::Text));
        assert_eq!(kinds[6], Ok(ModuleKind::Json { typed: false, untyped: true }));
        assert!(kinds[7].as_ref().unwrap_err().starts_with("import attribute 'other' is not supported"), "{:?}", kinds[7]);
        let css = &scan_imports(text)[2];
        assert_eq!(&text[css.attributes[0].3..css.attributes[0].3 + 5], "\"css\"");
    }

    #[test]
    fn positions_are_one_based_in_characters() {
        let loc = line_column("a\nλb 'x'", 6);
        assert_eq!((loc.line, loc.column), (2, 4));
    }
}
