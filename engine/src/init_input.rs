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
        let source = input[header_end + 2..].to_vec();
        Ok(InitInput { file, kind, source, invoke, io })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
