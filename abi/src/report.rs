//! The build report: why the engine's init failed, in terms the compiler can
//! act on.
//!
//! It travels out of band, on a channel the program cannot write to: the
//! engine keeps the encoded report in its own memory and exports
//! [`REPORT_PTR`](crate::exports::REPORT_PTR) and
//! [`REPORT_LEN`](crate::exports::REPORT_LEN); after `kiln.init` returns,
//! the snapshotter reads the report there (an empty one: the init
//! succeeded). stderr is the program's, and only the program's.

use crate::codec::{DecodeError, Reader, Writer};

const MAGIC: &[u8] = b"\0kiln-report";
/// Bumped whenever what a report holds changes.
pub const REPORT_VERSION: u32 = 1;
const FORMAT: &str = "build report";

/// Why a build failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// A file does not compile.
    Syntax {
        /// The error's name, usually `SyntaxError`.
        name: String,
        /// QuickJS's message.
        message: String,
        /// Where, when QuickJS said.
        location: Option<Location>,
    },
    /// An import cannot be served or does not link.
    Import {
        /// What failed, and where.
        failure: ImportFailure,
        /// The error QuickJS threw for it, for the message.
        error: JsError,
    },
    /// The program threw while it compiled or (function mode) while its top
    /// level ran.
    Exception(JsError),
    /// Function mode: the top level's promise rejected, or a rejection went
    /// unhandled, while it ran at build time. `message` is the runtime's
    /// description (`TypeError: message` and the stack).
    Uncaught {
        /// The description, without `Uncaught `.
        message: String,
    },
    /// Function mode: an export named by `--invoke` is missing or not a
    /// function.
    NotInvocable {
        /// The export.
        export: String,
        /// What is wrong, and what the module does export.
        message: String,
    },
    /// The parser ran out of stack before it knew a position: the program
    /// nests too deeply.
    StackOverflow,
    /// The build-time evaluation passed its memory limit.
    OutOfMemory {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The engine failed for a reason of its own (a bad init input, a
    /// runtime that cannot be created).
    Internal {
        /// What failed.
        message: String,
    },
}

/// A JavaScript error, as thrown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsError {
    /// `name` (`TypeError`, ...).
    pub name: String,
    /// `message`.
    pub message: String,
    /// `stack`: one `    at ...` frame a line.
    pub stack: String,
}

/// A position in a file, 1-based as editors show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The module's name.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl Location {
    /// The first `file:line:column` of a QuickJS stack, whose frames read
    /// `    at app.js:2:10` or `    at f (app.js:2:10)`.
    pub fn first_in_stack(stack: &str) -> Option<Location> {
        stack.lines().find_map(|line| {
            let frame = line.trim().strip_prefix("at ")?;
            let place = match (frame.rfind('('), frame.ends_with(')')) {
                (Some(open), true) => &frame[open + 1..frame.len() - 1],
                _ => frame,
            };
            let (rest, column) = place.rsplit_once(':')?;
            let (file, line) = rest.rsplit_once(':')?;
            Some(Location { file: file.to_string(), line: line.parse().ok()?, column: column.parse().ok()? })
        })
    }
}

/// An import that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFailure {
    /// The importing module, when known.
    pub importer: Option<String>,
    /// The specifier as written, when known.
    pub specifier: Option<String>,
    /// The module the import resolved to, when it did.
    pub module: Option<String>,
    /// What went wrong.
    pub problem: ImportProblem,
}

/// What went wrong with an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportProblem {
    /// The specifier names a file that is not part of the build.
    NotFound,
    /// A kind of specifier the engine does not resolve (a package, a URL).
    Unsupported,
    /// The module was resolved but not compiled into the build.
    NotCompiled,
    /// The module does not export `name`.
    NotExported {
        /// The name imported.
        name: String,
    },
    /// `name` is exported by more than one `export *` of the module.
    Ambiguous {
        /// The name imported.
        name: String,
    },
    /// Re-exports of `name` form a cycle.
    Circular {
        /// The name imported.
        name: String,
    },
    /// The import attributes are not supported.
    BadAttributes,
}

impl Report {
    /// The bytes the snapshotter reads.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(MAGIC, REPORT_VERSION);
        match self {
            Report::Syntax { name, message, location } => {
                w.u8(0);
                w.str(name);
                w.str(message);
                w.option(location.as_ref(), |w, l| {
                    w.str(&l.file);
                    w.u32(l.line);
                    w.u32(l.column);
                });
            }
            Report::Import { failure, error } => {
                w.u8(1);
                w.option(failure.importer.as_ref(), |w, s| w.str(s));
                w.option(failure.specifier.as_ref(), |w, s| w.str(s));
                w.option(failure.module.as_ref(), |w, s| w.str(s));
                match &failure.problem {
                    ImportProblem::NotFound => w.u8(0),
                    ImportProblem::Unsupported => w.u8(1),
                    ImportProblem::NotCompiled => w.u8(2),
                    ImportProblem::NotExported { name } => {
                        w.u8(3);
                        w.str(name);
                    }
                    ImportProblem::Ambiguous { name } => {
                        w.u8(4);
                        w.str(name);
                    }
                    ImportProblem::Circular { name } => {
                        w.u8(5);
                        w.str(name);
                    }
                    ImportProblem::BadAttributes => w.u8(6),
                }
                js_error(&mut w, error);
            }
            Report::Exception(error) => {
                w.u8(2);
                js_error(&mut w, error);
            }
            Report::Uncaught { message } => {
                w.u8(3);
                w.str(message);
            }
            Report::NotInvocable { export, message } => {
                w.u8(4);
                w.str(export);
                w.str(message);
            }
            Report::StackOverflow => w.u8(5),
            Report::OutOfMemory { limit } => {
                w.u8(6);
                w.u64(*limit);
            }
            Report::Internal { message } => {
                w.u8(7);
                w.str(message);
            }
        }
        w.finish()
    }

    /// Reads a report [`encode`](Self::encode) wrote.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Version`] for a report of another version of Kiln,
    /// [`DecodeError::Malformed`] for bytes that break the format.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(FORMAT, MAGIC, REPORT_VERSION, bytes)?;
        let report = match r.u8()? {
            0 => Report::Syntax {
                name: r.string()?,
                message: r.string()?,
                location: r.option(|r| Ok(Location { file: r.string()?, line: r.u32()?, column: r.u32()? }))?,
            },
            1 => {
                let importer = r.option(Reader::string)?;
                let specifier = r.option(Reader::string)?;
                let module = r.option(Reader::string)?;
                let problem = match r.u8()? {
                    0 => ImportProblem::NotFound,
                    1 => ImportProblem::Unsupported,
                    2 => ImportProblem::NotCompiled,
                    3 => ImportProblem::NotExported { name: r.string()? },
                    4 => ImportProblem::Ambiguous { name: r.string()? },
                    5 => ImportProblem::Circular { name: r.string()? },
                    6 => ImportProblem::BadAttributes,
                    other => return Err(r.malformed(format_args!("unknown import problem {other}"))),
                };
                Report::Import { failure: ImportFailure { importer, specifier, module, problem }, error: read_js_error(&mut r)? }
            }
            2 => Report::Exception(read_js_error(&mut r)?),
            3 => Report::Uncaught { message: r.string()? },
            4 => Report::NotInvocable { export: r.string()?, message: r.string()? },
            5 => Report::StackOverflow,
            6 => Report::OutOfMemory { limit: r.u64()? },
            7 => Report::Internal { message: r.string()? },
            other => return Err(r.malformed(format_args!("unknown report kind {other}"))),
        };
        r.end()?;
        Ok(report)
    }
}

fn js_error(w: &mut Writer, error: &JsError) {
    w.str(&error.name);
    w.str(&error.message);
    w.str(&error.stack);
}

fn read_js_error(r: &mut Reader<'_>) -> Result<JsError, DecodeError> {
    Ok(JsError { name: r.string()?, message: r.string()?, stack: r.string()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_frame_in_both_shapes() {
        assert_eq!(Location::first_in_stack("    at app.js:2:10\n"), Some(Location { file: "app.js".into(), line: 2, column: 10 }));
        let nested = Location::first_in_stack("    at f (dir:x/app.js:3:7)\n    at app.js:9:1\n");
        assert_eq!(nested, Some(Location { file: "dir:x/app.js".into(), line: 3, column: 7 }));
        assert_eq!(Location::first_in_stack("    at <native>\n"), None);
    }

    #[test]
    fn every_kind_round_trips() {
        let error = JsError { name: "SyntaxError".into(), message: "Could not find export 'x' in module 'a.js'".into(), stack: "    at b.js:1:1\n".into() };
        let import = |problem| Report::Import {
            failure: ImportFailure { importer: Some("b.js".into()), specifier: Some("./a.js".into()), module: Some("a.js".into()), problem },
            error: error.clone(),
        };
        let reports = [
            Report::Syntax { name: "SyntaxError".into(), message: "unexpected token".into(), location: Some(Location { file: "a.js".into(), line: 2, column: 10 }) },
            Report::Syntax { name: "SyntaxError".into(), message: "m".into(), location: None },
            import(ImportProblem::NotFound),
            import(ImportProblem::Unsupported),
            import(ImportProblem::NotCompiled),
            import(ImportProblem::NotExported { name: "x".into() }),
            import(ImportProblem::Ambiguous { name: "x".into() }),
            import(ImportProblem::Circular { name: "x".into() }),
            import(ImportProblem::BadAttributes),
            Report::Import { failure: ImportFailure { importer: None, specifier: None, module: None, problem: ImportProblem::NotFound }, error: error.clone() },
            Report::Exception(error.clone()),
            Report::Uncaught { message: "Error: no\n    at x.js:1:1".into() },
            Report::NotInvocable { export: "run".into(), message: "the module has no export named `run`".into() },
            Report::StackOverflow,
            Report::OutOfMemory { limit: 1 << 30 },
            Report::Internal { message: "bad".into() },
        ];
        for report in reports {
            let bytes = report.encode();
            assert_eq!(Report::decode(&bytes), Ok(report.clone()));
            assert!(Report::decode(&bytes[..bytes.len() - 1]).is_err());
        }
    }
}
