//! The build-time input the compiler writes to the engine's stdin.
//!
//! ```text
//! kiln-init 1
//! file app.js
//! kind auto
//!
//! <JavaScript source>
//! ```
//!
//! `kind` is `script`, `module`, or `auto` (a script if it parses as one,
//! else a module, as Node decides for a `.js` file without a package type).
//!
//! Function mode adds one `invoke <export>` line per invoked export and an
//! `io json|text|bytes|ndjson` line.
//!
//! # Imported files
//!
//! Each file the program imports (the compiler collected the graph of
//! relative imports) adds one header line `module <byte length> <name>`,
//! where `<name>` is the file's path relative to the entry file's directory
//! with `/` separators (`lib/util.js`, `../shared/a.mjs`) — the name the
//! engine's module resolver produces and stack traces show. After the blank
//! line come the entry's source and then each module's source, in the order
//! of the `module` lines, each exactly its declared length:
//!
//! ```text
//! kiln-init 1
//! file main.js
//! kind module
//! module 27 lib/util.js
//!
//! <main.js source><27 bytes of lib/util.js>
//! ```
//!
//! Files imported with import attributes come as `json <byte length>
//! <forms> <name>` (JSON text; `<forms>` says how the program imports it:
//! `typed` for `with { type: "json" }`, `untyped` for a plain import of a
//! `.json` file, or `typed,untyped`; QuickJS keeps the two apart as distinct
//! modules) and `text <byte length> <name>` (`with { type: "text" }`, any
//! UTF-8 file, the entry's own source included). Their sources follow the
//! JavaScript modules' in the same way, in the order of their lines.
//!
//! A module the front end transformed (TypeScript, JSX, CommonJS) may come
//! with its position table (see `kiln-positions`): `map <byte length>
//! <name>`, `<name>` being the module's (the entry's own name for the
//! entry). The tables follow the data modules' sources, in the order of
//! their lines; stack frames of those modules then name the original
//! positions.
//!
//! The entry's length is what remains once the modules' lengths are taken
//! off the end. An input without `module` lines is a single-file program,
//! exactly as before the lines existed.

/// How the source is to be compiled.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SourceKind {
    Script,
    Module,
    Auto,
}

/// How an invoked function receives stdin and returns its result.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IoMode {
    /// stdin parsed as one JSON value; the result written as JSON.
    Json,
    /// stdin as a string; the result must be a string.
    Text,
    /// stdin as a Uint8Array; the result must be a Uint8Array.
    Bytes,
    /// One JSON value per stdin line; one result line per input line.
    Ndjson,
}

/// A parsed init input.
pub(crate) struct InitInput {
    pub(crate) file: String,
    pub(crate) kind: SourceKind,
    pub(crate) source: Vec<u8>,
    /// Exports to invoke; empty for a program (script mode).
    pub(crate) invoke: Vec<String>,
    pub(crate) io: IoMode,
    /// The imported files: (name, source), in the order of the header.
    pub(crate) modules: Vec<(String, Vec<u8>)>,
    /// The files imported as data (JSON or text modules).
    pub(crate) data: Vec<DataModule>,
    /// Position tables: (module name, table), in the order of the header.
    pub(crate) position_tables: Vec<(String, Vec<u8>)>,
}

/// What a data module's default export is made from.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub(crate) enum DataKind {
    /// The parsed JSON.
    Json,
    /// The file's text, as a string.
    Text,
}

/// A file imported as JSON or text.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct DataModule {
    pub(crate) kind: DataKind,
    pub(crate) name: String,
    /// Imported `with { type: ... }`.
    pub(crate) typed: bool,
    /// Imported without attributes (a `.json` file: JSON by its suffix).
    pub(crate) untyped: bool,
    pub(crate) source: Vec<u8>,
}

const MAGIC: &str = "kiln-init 1";

impl InitInput {
    /// Splits the header from the source.
    pub(crate) fn parse(input: Vec<u8>) -> Result<Self, String> {
        let header_end = find(&input, b"\n\n").ok_or("init input has no header terminator")?;
        let header = std::str::from_utf8(&input[..header_end]).map_err(|_| "init header is not UTF-8")?;
        let mut lines = header.lines();
        if lines.next() != Some(MAGIC) {
            return Err(format!("init input does not start with `{MAGIC}`"));
        }
        let mut file = None;
        let mut kind = SourceKind::Auto;
        let mut invoke = Vec::new();
        let mut io = IoMode::Json;
        let mut module_lines: Vec<(String, usize)> = Vec::new();
        let mut data_lines: Vec<(DataKind, bool, bool, String, usize)> = Vec::new();
        let mut map_lines: Vec<(String, usize)> = Vec::new();
        for line in lines {
            let (key, value) = line.split_once(' ').ok_or_else(|| format!("bad init header line `{line}`"))?;
            match key {
                "file" => file = Some(value.to_string()),
                "kind" => {
                    kind = match value {
                        "script" => SourceKind::Script,
                        "module" => SourceKind::Module,
                        "auto" => SourceKind::Auto,
                        other => return Err(format!("unknown source kind `{other}`")),
                    }
                }
                "invoke" => invoke.push(value.to_string()),
                "module" | "map" => {
                    let (len, name) = value.split_once(' ').ok_or_else(|| format!("bad {key} line `{line}`"))?;
                    let len = len.parse::<usize>().map_err(|_| format!("bad {key} length in `{line}`"))?;
                    if name.is_empty() || name.contains('\0') {
                        return Err(format!("bad {key} name in `{line}`"));
                    }
                    let lines = if key == "module" { &mut module_lines } else { &mut map_lines };
                    lines.push((name.to_string(), len));
                }
                "json" | "text" => {
                    let bad = || format!("bad {key} line `{line}`");
                    let (len, rest) = value.split_once(' ').ok_or_else(bad)?;
                    let len = len.parse::<usize>().map_err(|_| bad())?;
                    let (kind, typed, untyped, name) = if key == "json" {
                        let (forms, name) = rest.split_once(' ').ok_or_else(bad)?;
                        let forms: Vec<&str> = forms.split(',').collect();
                        if forms.iter().any(|f| *f != "typed" && *f != "untyped") {
                            return Err(bad());
                        }
                        (DataKind::Json, forms.contains(&"typed"), forms.contains(&"untyped"), name)
                    } else {
                        (DataKind::Text, true, false, rest)
                    };
                    if name.is_empty() || name.contains('\0') {
                        return Err(bad());
                    }
                    data_lines.push((kind, typed, untyped, name.to_string(), len));
                }
                "io" => {
                    io = match value {
                        "json" => IoMode::Json,
                        "text" => IoMode::Text,
                        "bytes" => IoMode::Bytes,
                        "ndjson" => IoMode::Ndjson,
                        other => return Err(format!("unknown io mode `{other}`")),
                    }
                }
                other => return Err(format!("unknown init header key `{other}`")),
            }
        }
        let file = file.ok_or("init header names no file")?;
        if file.contains('\0') {
            return Err("file name contains a NUL byte".into());
        }
        let payload = &input[header_end + 2..];
        let modules_len = module_lines
            .iter()
            .map(|(_, len)| *len)
            .chain(data_lines.iter().map(|d| d.4))
            .chain(map_lines.iter().map(|(_, len)| *len))
            .try_fold(0usize, |sum, len| sum.checked_add(len))
            .ok_or("module lengths overflow")?;
        let entry_len = payload.len().checked_sub(modules_len).ok_or("init input is shorter than its module lengths")?;
        let source = payload[..entry_len].to_vec();
        let mut at = entry_len;
        let mut modules = Vec::with_capacity(module_lines.len());
        for (name, len) in module_lines {
            modules.push((name, payload[at..at + len].to_vec()));
            at += len;
        }
        let mut data = Vec::with_capacity(data_lines.len());
        for (kind, typed, untyped, name, len) in data_lines {
            data.push(DataModule { kind, name, typed, untyped, source: payload[at..at + len].to_vec() });
            at += len;
        }
        let mut position_tables = Vec::with_capacity(map_lines.len());
        for (name, len) in map_lines {
            position_tables.push((name, payload[at..at + len].to_vec()));
            at += len;
        }
        Ok(InitInput { file, kind, source, invoke, io, modules, data, position_tables })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_entry_and_modules() {
        let input = b"kiln-init 1\nfile main.js\nkind module\nmodule 3 a.js\nmodule 2 ../b c.js\n\nENTRYaaabb".to_vec();
        let parsed = InitInput::parse(input).unwrap();
        assert_eq!(parsed.source, b"ENTRY");
        assert_eq!(parsed.modules, vec![("a.js".to_string(), b"aaa".to_vec()), ("../b c.js".to_string(), b"bb".to_vec())]);
        assert!(InitInput::parse(b"kiln-init 1\nfile m.js\nmodule 9 a.js\n\nxx".to_vec()).is_err());
        let input = b"kiln-init 1\nfile m.js\nmodule 1 a.js\njson 2 typed,untyped d/x y.json\ntext 3 m.js\n\nEa{}m.j".to_vec();
        let parsed = InitInput::parse(input).unwrap();
        assert_eq!(parsed.source, b"E");
        assert_eq!(parsed.modules, vec![("a.js".to_string(), b"a".to_vec())]);
        let json = DataModule { kind: DataKind::Json, name: "d/x y.json".into(), typed: true, untyped: true, source: b"{}".to_vec() };
        let text = DataModule { kind: DataKind::Text, name: "m.js".into(), typed: true, untyped: false, source: b"m.j".to_vec() };
        assert_eq!(parsed.data, vec![json, text]);
        assert!(InitInput::parse(b"kiln-init 1\nfile m.js\njson 2 sometimes a.json\n\n{}".to_vec()).is_err());
        let input = b"kiln-init 1\nfile m.js\nmodule 1 a.js\ntext 1 t\nmap 2 m.js\nmap 3 a.js\n\nEatMMAAA".to_vec();
        let parsed = InitInput::parse(input).unwrap();
        assert_eq!((parsed.source.as_slice(), parsed.modules[0].1.as_slice(), parsed.data[0].source.as_slice()), (&b"E"[..], &b"a"[..], &b"t"[..]));
        assert_eq!(parsed.position_tables, vec![("m.js".to_string(), b"MM".to_vec()), ("a.js".to_string(), b"AAA".to_vec())]);
    }
}
