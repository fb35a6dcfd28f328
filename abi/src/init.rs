//! The init input: everything the compiler hands the engine at build time,
//! written to the engine's stdin before `kiln.init` runs.
//!
//! The compiler has read every file of the build and decided what each is;
//! the engine compiles what it is given and looks names up, it reads no
//! file. One [`InitInput::encode`] and one [`InitInput::decode`], used by
//! both sides.

use crate::codec::{DecodeError, Reader, Writer};

/// The input's first bytes.
const MAGIC: &[u8] = b"\0kiln-init";
/// Bumped whenever what the input holds changes.
pub const INIT_INPUT_VERSION: u32 = 2;
const FORMAT: &str = "init input";

/// What the engine is to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitInput {
    /// The name of the program's own file: the [`Module`] whose kind is
    /// [`ModuleKind::JavaScript`] and whose name this is.
    pub entry: String,
    /// Every file of the build, the entry included. A file imported in two
    /// ways (as JavaScript and as text, say) is here once for each.
    pub modules: Vec<Module>,
    /// How each import resolves, as the compiler decided. An import not
    /// listed is resolved by the engine's own rules (relative paths only).
    pub import_map: Vec<ImportMapping>,
    /// Function mode, or `None` to run the program on every `_start`.
    pub function_mode: Option<FunctionMode>,
    /// What the build may use.
    pub limits: BuildLimits,
}

/// One file of the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// The module's name: what stack traces show and imports resolve to.
    pub name: String,
    /// What the file is compiled as.
    pub kind: ModuleKind,
    /// The file's bytes (UTF-8 for every kind so far).
    pub source: Vec<u8>,
    /// A source map for the file, opaque to the engine.
    pub source_map: Option<Vec<u8>>,
}

/// What a file is compiled as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    /// JavaScript: an imported file is always an ES module; the entry may
    /// also be a classic script, or be detected from its text.
    JavaScript(SourceKind),
    /// A JSON module: imported `with { type: "json" }` (`typed`) and/or,
    /// being a `.json` file, without attributes (`untyped`). QuickJS keeps
    /// the two forms apart, as distinct modules.
    Json {
        /// Imported `with { type: "json" }`.
        typed: bool,
        /// Imported without attributes.
        untyped: bool,
    },
    /// A text module (`with { type: "text" }`): its default export is the
    /// file's text.
    Text,
}

/// Whether JavaScript is a classic script or an ES module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceKind {
    /// A classic script (sloppy mode allowed).
    Script,
    /// An ES module (`import`, `export`, top-level `await`; always strict).
    #[default]
    Module,
    /// A script unless it only parses as a module, as Node decides for a
    /// `.js` file outside a `"type": "module"` package.
    Auto,
}

/// One resolved import: `specifier`, imported by `importer` with
/// `attributes`, is the module named `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportMapping {
    /// The importing module's name.
    pub importer: String,
    /// The specifier as written.
    pub specifier: String,
    /// The import attributes as written (`type` → `json`), sorted by key.
    pub attributes: Vec<(String, String)>,
    /// The name of the module it resolves to.
    pub target: String,
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
    /// Every mode, in the order of their codes.
    pub const ALL: [IoMode; 4] = [IoMode::Json, IoMode::Text, IoMode::Bytes, IoMode::Ndjson];

    /// The mode's name on the command line (`--io json`).
    pub fn name(self) -> &'static str {
        match self {
            IoMode::Json => "json",
            IoMode::Text => "text",
            IoMode::Bytes => "bytes",
            IoMode::Ndjson => "ndjson",
        }
    }

    fn code(self) -> u8 {
        match self {
            IoMode::Json => 0,
            IoMode::Text => 1,
            IoMode::Bytes => 2,
            IoMode::Ndjson => 3,
        }
    }
}

/// Resource limits of the build-time evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BuildLimits {
    /// The most memory QuickJS may allocate while the program is compiled
    /// and (function mode) its top level runs; `None`: no limit.
    pub max_memory: Option<u64>,
}

impl InitInput {
    /// The entry's own module.
    pub fn entry_module(&self) -> Option<&Module> {
        self.modules.iter().find(|m| m.name == self.entry && matches!(m.kind, ModuleKind::JavaScript(_)))
    }

    /// The bytes the engine reads.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(MAGIC, INIT_INPUT_VERSION);
        w.str(&self.entry);
        w.list(&self.modules, |w, m| {
            w.str(&m.name);
            match m.kind {
                ModuleKind::JavaScript(SourceKind::Module) => w.u8(0),
                ModuleKind::JavaScript(SourceKind::Script) => w.u8(1),
                ModuleKind::JavaScript(SourceKind::Auto) => w.u8(2),
                ModuleKind::Json { typed, untyped } => {
                    w.u8(3);
                    w.bool(typed);
                    w.bool(untyped);
                }
                ModuleKind::Text => w.u8(4),
            }
            w.bytes(&m.source);
            w.option(m.source_map.as_ref(), |w, map| w.bytes(map));
        });
        w.list(&self.import_map, |w, i| {
            w.str(&i.importer);
            w.str(&i.specifier);
            w.list(&i.attributes, |w, (key, value)| {
                w.str(key);
                w.str(value);
            });
            w.str(&i.target);
        });
        w.option(self.function_mode.as_ref(), |w, mode| {
            w.list(&mode.invoke, |w, name| w.str(name));
            w.u8(mode.io.code());
        });
        w.option(self.limits.max_memory.as_ref(), |w, max| w.u64(*max));
        w.finish()
    }

    /// Reads an input [`encode`](Self::encode) wrote, and checks it: the
    /// entry is one of the modules, no name is empty or holds a NUL.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Version`] for an input of another version of Kiln,
    /// [`DecodeError::Malformed`] for one that breaks the format or its
    /// rules.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(FORMAT, MAGIC, INIT_INPUT_VERSION, bytes)?;
        let entry = name(&mut r)?;
        let modules = r.list(|r| {
            let name = name(r)?;
            let kind = match r.u8()? {
                0 => ModuleKind::JavaScript(SourceKind::Module),
                1 => ModuleKind::JavaScript(SourceKind::Script),
                2 => ModuleKind::JavaScript(SourceKind::Auto),
                3 => ModuleKind::Json { typed: r.bool()?, untyped: r.bool()? },
                4 => ModuleKind::Text,
                other => return Err(r.malformed(format_args!("unknown module kind {other}"))),
            };
            Ok(Module { name, kind, source: r.bytes()?, source_map: r.option(Reader::bytes)? })
        })?;
        let import_map = r.list(|r| {
            Ok(ImportMapping {
                importer: name(r)?,
                specifier: r.string()?,
                attributes: r.list(|r| Ok((r.string()?, r.string()?)))?,
                target: name(r)?,
            })
        })?;
        let function_mode = r.option(|r| {
            let invoke = r.list(Reader::string)?;
            let code = r.u8()?;
            let io = IoMode::ALL.into_iter().find(|io| io.code() == code).ok_or_else(|| r.malformed(format_args!("unknown io mode {code}")))?;
            Ok(FunctionMode { invoke, io })
        })?;
        let limits = BuildLimits { max_memory: r.option(Reader::u64)? };
        let at_end = r.malformed("the entry is not one of the modules");
        r.end()?;
        let input = InitInput { entry, modules, import_map, function_mode, limits };
        if input.entry_module().is_none() {
            return Err(at_end);
        }
        Ok(input)
    }
}

/// A module name: not empty, no NUL (QuickJS takes names as C strings).
fn name(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    let name = r.string()?;
    if name.is_empty() || name.contains('\0') {
        return Err(r.malformed(format_args!("unusable module name {name:?}")));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(name: &str, kind: ModuleKind, source: &str) -> Module {
        Module { name: name.into(), kind, source: source.as_bytes().to_vec(), source_map: None }
    }

    fn sample() -> InitInput {
        InitInput {
            entry: "main.js".into(),
            modules: vec![
                module("main.js", ModuleKind::JavaScript(SourceKind::Auto), "import './lib/b c.js'"),
                Module { source_map: Some(b"{\"version\":3}".to_vec()), ..module("lib/b c.js", ModuleKind::JavaScript(SourceKind::Module), "export let b") },
                module("d.json", ModuleKind::Json { typed: true, untyped: false }, "{}"),
                module("main.js", ModuleKind::Text, "import './lib/b c.js'"),
            ],
            import_map: vec![ImportMapping {
                importer: "main.js".into(),
                specifier: "./lib/b c.js".into(),
                attributes: vec![("type".into(), "json".into())],
                target: "lib/b c.js".into(),
            }],
            function_mode: Some(FunctionMode { invoke: vec!["run".into(), "default".into()], io: IoMode::Ndjson }),
            limits: BuildLimits { max_memory: Some(1 << 30) },
        }
    }

    #[test]
    fn round_trips() {
        let input = sample();
        assert_eq!(InitInput::decode(&input.encode()), Ok(input.clone()));
        let plain = InitInput { import_map: vec![], function_mode: None, limits: BuildLimits::default(), modules: input.modules[..1].to_vec(), ..input };
        assert_eq!(InitInput::decode(&plain.encode()), Ok(plain.clone()));
        assert_eq!(plain.entry_module().map(|m| m.source.as_slice()), Some(&b"import './lib/b c.js'"[..]));
    }

    #[test]
    fn refuses_another_version_clearly() {
        let mut bytes = sample().encode();
        bytes[MAGIC.len()] = 1;
        let err = InitInput::decode(&bytes).unwrap_err();
        assert_eq!(err.to_string(), "the init input is version 1, this build of Kiln reads version 2: the compiler and the engine come from different builds");
        assert_eq!(InitInput::decode(b"kiln-init 1\nfile a.js\n\n").unwrap_err(), DecodeError::Magic { format: "init input" });
    }

    #[test]
    fn refuses_broken_inputs() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            assert!(InitInput::decode(&bytes[..len]).is_err(), "a prefix of {len} bytes decoded");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(InitInput::decode(&longer).is_err());
        let no_entry = InitInput { entry: "other.js".into(), ..sample() };
        assert!(InitInput::decode(&no_entry.encode()).unwrap_err().to_string().contains("entry is not one of the modules"));
        let nul = InitInput { entry: "a\0.js".into(), ..sample() };
        assert!(InitInput::decode(&nul.encode()).unwrap_err().to_string().contains("unusable module name"));
    }
}
