//! Kiln's front end: from an entry file to every module the engine
//! compiles, the import map, source maps and diagnostics.
//!
//! One job: starting at the entry, each file is parsed by oxc, the names
//! tsc resolves to namespace members qualified (see [`namespaces`]), its
//! standard decorators and `accessor` fields lowered (see [`decorators`]),
//! its TypeScript and JSX removed or lowered, its build-time constants
//! (`process.env.NODE_ENV`, `--define`) replaced and the branches they make
//! dead dropped; the imports the parser records (and CommonJS `require`s of
//! string literals) are resolved once, by oxc_resolver, with Node's and
//! bundlers' rules; CommonJS files are wrapped (see [`cjs`]); the files of
//! packages that declare `"sideEffects": false` are left out when nothing
//! uses what they export (see [`prune`]). The result, a [`Graph`], says for
//! every (importing module, specifier) which module it means: the engine
//! only looks names up.
//!
//! # Module names
//!
//! Paths relative to the project root — the directory of the nearest
//! `package.json` at or above the entry's directory, or the entry's
//! directory when there is none — with `/` separators: `src/index.ts`,
//! `node_modules/zod/lib/types.js`. Symlinks (npm workspaces, pnpm) are
//! resolved to the real file first. Stack traces show these names.
//!
//! No type checking: that is `tsc`'s job.

mod cjs;
mod decorators;
mod namespaces;
mod prune;
mod resolve;
mod rewrite;
mod settings;
mod transform;

pub use cjs::{FACADE_PREFIX, REGISTRY};
pub use prune::UNUSED_PREFIX;
pub use oxc_sourcemap::SourceMap;
pub use resolve::{IMPORT_CONDITIONS, REQUIRE_CONDITIONS};

use resolve::{Failure, Resolvers, Target};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use transform::{Attributes, FileContext, Format, Request, RequestKind, Transformed};

/// What the build asks of the front end.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Build-time constants, `KEY=VALUE` as esbuild's `--define`: each
    /// `KEY` (an identifier or a dotted path such as `process.env.DEBUG`)
    /// is replaced by the expression `VALUE`. `process.env.NODE_ENV` is
    /// `"production"` unless given here.
    pub defines: Vec<(String, String)>,
}

/// What a module is to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    /// JavaScript (ES module, or for the entry possibly a script).
    JavaScript,
    /// A JSON file, imported `with { type: "json" }` (`typed`) and/or
    /// without attributes (`untyped`).
    Json {
        /// Imported with `{ type: "json" }` (or required).
        typed: bool,
        /// Imported without attributes.
        untyped: bool,
    },
    /// A text module (`with { type: "text" }`).
    Text,
}

/// How the entry is to be compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryFormat {
    /// An ES module.
    Module,
    /// No module syntax: a script or a module, as the caller decides.
    Plain,
}

/// One module of the build.
#[derive(Debug, Clone)]
pub struct Module {
    /// Its name (see the crate docs).
    pub name: String,
    /// What it is.
    pub kind: ModuleKind,
    /// The text the engine compiles.
    pub text: String,
    /// From `text` back to the original file, when `text` is not the
    /// file's own text.
    pub source_map: Option<SourceMap<'static>>,
    /// The file's own text, when `text` differs from it (for code frames).
    pub original: Option<String>,
}

/// One entry of the import map: in module `importer`, `specifier` means
/// module `name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Import {
    /// The importing module's name.
    pub importer: String,
    /// The specifier as written.
    pub specifier: String,
    /// The import attributes as written (`type` → `json`).
    pub attributes: Vec<(String, String)>,
    /// The module it means.
    pub name: String,
    /// Byte offsets in the importer's original text of the statement's
    /// start and of the specifier's string literal (0 in generated
    /// modules): the names a static import asks for are in between.
    pub statement: usize,
    /// See `statement`.
    pub offset: usize,
}

/// Everything the engine compiles.
#[derive(Debug, Clone)]
pub struct Graph {
    /// The entry module (for a CommonJS entry: the module that runs it).
    pub entry: Module,
    /// How to compile the entry.
    pub entry_format: EntryFormat,
    /// Every other module, sorted by name.
    pub modules: Vec<Module>,
    /// The import map, sorted.
    pub imports: Vec<Import>,
}

impl Graph {
    /// The module named `name`, the entry included.
    pub fn module(&self, name: &str) -> Option<&Module> {
        std::iter::once(&self.entry).chain(&self.modules).find(|m| m.name == name)
    }
}

/// What kind of problem a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagnosticKind {
    /// The file does not parse (or cannot be transformed).
    Syntax,
    /// An import or require cannot be served.
    Import,
    /// Bad input that is not in a file (a define, tsconfig.json, a file
    /// that cannot be read).
    Input,
}

/// A build error, pointing into the original text of a file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// What kind of error.
    pub kind: DiagnosticKind,
    /// The file's module name (empty for [`DiagnosticKind::Input`]).
    pub file: String,
    /// The file's original text.
    pub text: String,
    /// Byte offset in `text` of what is wrong.
    pub offset: Option<usize>,
    /// What is wrong, and what to do.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl Diagnostic {
    fn input(message: String) -> Self {
        Diagnostic { kind: DiagnosticKind::Input, file: String::new(), text: String::new(), offset: None, message }
    }
}

/// The entry of a build: its path (for a program read from stdin, a file
/// name in the directory it imports from) and its text.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Where it is, or would be.
    pub path: &'a Path,
    /// Its text (already read, byte order mark removed).
    pub text: &'a str,
}

/// The project root of an entry in `dir`: see the crate docs.
pub fn project_root(dir: &Path) -> PathBuf {
    dir.ancestors().find(|d| d.join("package.json").is_file()).unwrap_or(dir).to_path_buf()
}

/// Builds the graph of `entry`.
///
/// # Errors
///
/// The first [`Diagnostic`]: a syntax error, an import that cannot be
/// served (with its position), a bad define.
pub fn build(entry: Entry<'_>, options: &Options) -> Result<Graph, Diagnostic> {
    let defines = settings::defines(&options.defines).map_err(Diagnostic::input)?;
    let entry_path = absolute(entry.path);
    let dir = entry_path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"));
    let root = project_root(&dir);
    let resolvers = Resolvers::new();
    let ts = match resolvers.tsconfig(&entry_path).map_err(Diagnostic::input)? {
        Some(config) => settings::TsSettings::from_tsconfig(&config.compiler_options),
        None => settings::TsSettings::default(),
    };
    let mut walk = Walk { root, resolvers, ts, defines, nodes: Vec::new(), index: HashMap::new(), edges: Vec::new() };
    walk.add_entry(&entry_path, entry.text)?;
    walk.run()?;
    Ok(walk.assemble())
}

/// `path` made absolute and its directory's symlinks resolved (the file
/// itself may not exist: a program from stdin).
fn absolute(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::canonicalize(&dir).unwrap_or(dir).join(name)
}

/// What a node of the walk holds.
enum Content {
    Js { original: String, transformed: Transformed },
    Json { text: String, typed: bool, untyped: bool },
    Text(String),
    Helper(&'static str),
}

struct Node {
    name: String,
    path: PathBuf,
    content: Content,
    /// The node that first imported this one (for the chain of a node:
    /// error).
    parent: Option<usize>,
    /// Its package declares it free of side effects (see [`prune`]).
    side_effect_free: bool,
}

/// How nodes are keyed: one per file and kind (a file imported as JSON
/// and as text is two modules).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum KindKey {
    Js,
    Json,
    Text,
}

struct Walk {
    root: PathBuf,
    resolvers: Resolvers,
    ts: settings::TsSettings,
    defines: oxc_transformer_plugins::ReplaceGlobalDefinesConfig,
    nodes: Vec<Node>,
    index: HashMap<(PathBuf, KindKey), usize>,
    /// (importer node, request, target node).
    edges: Vec<(usize, Request, usize)>,
}

impl Walk {
    fn name_of(&self, path: &Path) -> String {
        let relative = pathdiff(path, &self.root);
        relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
    }

    fn add_entry(&mut self, path: &Path, text: &str) -> Result<(), Diagnostic> {
        let name = self.name_of(path);
        let transformed = self.transform(path, &name, text, false)?;
        self.nodes.push(Node {
            name,
            path: path.to_path_buf(),
            content: Content::Js { original: text.to_string(), transformed },
            parent: None,
            side_effect_free: false,
        });
        self.index.insert((path.to_path_buf(), KindKey::Js), 0);
        Ok(())
    }

    fn transform(&self, path: &Path, name: &str, text: &str, commonjs_package: bool) -> Result<Transformed, Diagnostic> {
        let cx = FileContext { name, commonjs_package, ts: &self.ts, defines: Some(&self.defines) };
        transform::transform(path, text, &cx).map_err(|e| Diagnostic {
            kind: DiagnosticKind::Syntax,
            file: name.to_string(),
            text: text.to_string(),
            offset: e.span.map(|s| s.start as usize),
            message: e.message,
        })
    }

    /// Walks the graph breadth first from the entry.
    fn run(&mut self) -> Result<(), Diagnostic> {
        let mut next = 0;
        while next < self.nodes.len() {
            let at = next;
            next += 1;
            let Content::Js { transformed, .. } = &self.nodes[at].content else { continue };
            let requests = transformed.requests.clone();
            for request in requests {
                if let Some(target) = self.follow(at, &request)? {
                    self.edges.push((at, request, target));
                }
            }
        }
        Ok(())
    }

    /// The node `request` of node `at` leads to (added if new); `None` for
    /// an optional request that leads nowhere.
    fn follow(&mut self, at: usize, request: &Request) -> Result<Option<usize>, Diagnostic> {
        let optional = request.kind == RequestKind::Dynamic || request.optional;
        let fail = |walk: &Walk, offset: usize, message: String| {
            let node = &walk.nodes[at];
            let Content::Js { original, .. } = &node.content else { unreachable!("only JavaScript imports") };
            Diagnostic { kind: DiagnosticKind::Import, file: node.name.clone(), text: original.clone(), offset: Some(offset), message }
        };
        let offset = request.span.start as usize;
        let importer = self.nodes[at].path.clone();
        let target = match self.resolvers.resolve(&importer, &request.specifier, request.kind) {
            Ok(target) => target,
            Err(_) if optional => return Ok(None),
            Err(failure) => {
                let position = self.position(at, offset);
                let message = match failure {
                    Failure::Builtin(builtin) => format!(
                        "'{}' is a Node.js built-in module (imported at {position}); Kiln modules run on WASI, without Node's APIs (chain: {})",
                        request.specifier,
                        self.chain(at, &builtin)
                    ),
                    Failure::MissingPackage(package) => {
                        format!("cannot find package '{package}' (imported at {position}); is it installed? run npm install")
                    }
                    Failure::NotFound(tried) => {
                        format!("cannot find module '{}' imported from {} ({tried})", request.specifier, self.nodes[at].name)
                    }
                    Failure::Unsupported(message) => message,
                };
                return Err(fail(self, offset, message));
            }
        };
        let (path, commonjs_package, side_effect_free) = match target {
            Target::Helper(helper) => {
                let Some(text) = cjs::helper(&helper) else {
                    return Err(fail(self, offset, format!("this file needs the transform helper '{helper}', which Kiln does not provide")));
                };
                let key = (PathBuf::from(format!("{}/helpers/{helper}", settings::HELPERS_MODULE)), KindKey::Js);
                if let Some(&known) = self.index.get(&key) {
                    return Ok(Some(known));
                }
                let name = key.0.to_string_lossy().into_owned();
                let node = Node { name, path: PathBuf::new(), content: Content::Helper(text), parent: Some(at), side_effect_free: false };
                return Ok(Some(self.insert(key, node)));
            }
            Target::File { path, commonjs_package, side_effect_free } => (path, commonjs_package, side_effect_free),
        };
        let key_kind = match &request.attributes {
            Attributes::Json => KindKey::Json,
            Attributes::Text => KindKey::Text,
            Attributes::Bad(message, at_offset) => {
                if request.kind == RequestKind::Dynamic {
                    return Ok(None);
                }
                return Err(fail(self, *at_offset as usize, message.clone()));
            }
            Attributes::None => match path.extension().and_then(|e| e.to_str()) {
                Some("json") => KindKey::Json,
                Some("js" | "mjs" | "cjs" | "jsx" | "ts" | "mts" | "cts" | "tsx") => KindKey::Js,
                _ if request.kind == RequestKind::Require => KindKey::Js,
                // `import('./x.txt')` without attributes: what it asks for
                // is known only when it runs (as before the front end).
                _ if request.kind == RequestKind::Dynamic => return Ok(None),
                _ => {
                    let spec = &request.specifier;
                    return Err(fail(
                        self,
                        offset,
                        format!(
                            "'{spec}' is not a JavaScript file (.js, .mjs, .cjs, .ts, .mts, .cts, .jsx, .tsx): to import its text write `import text from '{spec}' with {{ type: \"text\" }}` (or `with {{ type: \"json\" }}` for JSON)"
                        ),
                    ));
                }
            },
        };
        let untyped = request.attributes == Attributes::None && request.kind != RequestKind::Require;
        let key = (path.clone(), key_kind);
        if let Some(&known) = self.index.get(&key) {
            if let Content::Json { typed, untyped: u, .. } = &mut self.nodes[known].content {
                *typed |= !untyped;
                *u |= untyped;
            }
            return Ok(Some(known));
        }
        if path.is_dir() {
            return Err(fail(self, offset, format!("'{}' is a directory", request.specifier)));
        }
        let name = self.name_of(&path);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(_) if optional => return Ok(None),
            Err(e) => return Err(fail(self, offset, format!("cannot read module '{}' ({}): {e}", request.specifier, path.display()))),
        };
        let text = match (String::from_utf8(bytes), key_kind) {
            (Ok(text), KindKey::Js) if !text.contains('\0') => text,
            (Ok(text), KindKey::Json | KindKey::Text) => text,
            (_, KindKey::Js) => return Err(fail(self, offset, format!("{name} is not UTF-8 JavaScript text"))),
            (Err(_), _) => return Err(fail(self, offset, format!("{name} is not UTF-8 text"))),
        };
        // A byte order mark starts no JavaScript token, and JSON's grammar
        // has none; a text module keeps its text exactly.
        let text = match key_kind {
            KindKey::Text => text,
            _ => text.strip_prefix('\u{FEFF}').map(str::to_string).unwrap_or(text),
        };
        let content = match key_kind {
            KindKey::Js => Content::Js { transformed: self.transform(&path, &name, &text, commonjs_package)?, original: text },
            KindKey::Json => Content::Json { text, typed: !untyped, untyped },
            KindKey::Text => Content::Text(text),
        };
        // Only JavaScript is left out when unused: JSON and text modules
        // cost little, and a stub could not stand for their kind.
        let side_effect_free = side_effect_free && key_kind == KindKey::Js;
        Ok(Some(self.insert(key, Node { name, path, content, parent: Some(at), side_effect_free })))
    }

    fn insert(&mut self, key: (PathBuf, KindKey), node: Node) -> usize {
        let at = self.nodes.len();
        self.nodes.push(node);
        self.index.insert(key, at);
        at
    }

    /// `file:line:column` of byte `offset` in node `at`'s original text.
    fn position(&self, at: usize, offset: usize) -> String {
        let node = &self.nodes[at];
        let text = match &node.content {
            Content::Js { original, .. } => original.as_str(),
            _ => "",
        };
        let (line, column) = line_column(text, offset);
        format!("{}:{line}:{column}", node.name)
    }

    /// `src/index.ts → pkg-a → node:fs`: the importers that led from the
    /// entry to node `at`, then `last`; files of one package are shown once,
    /// by the package's name.
    fn chain(&self, at: usize, last: &str) -> String {
        let mut steps = vec![last.to_string()];
        let mut cursor = Some(at);
        while let Some(i) = cursor {
            let node = &self.nodes[i];
            let shown = match node.name.rfind("node_modules/") {
                Some(k) => resolve::package_name(&node.name[k + "node_modules/".len()..]).to_string(),
                None => node.name.clone(),
            };
            if steps.last() != Some(&shown) {
                steps.push(shown);
            }
            cursor = node.parent;
        }
        steps.reverse();
        steps.join(" → ")
    }

    /// The graph the engine compiles.
    fn assemble(self) -> Graph {
        let Walk { nodes, edges, .. } = self;
        let Kept { keep, edges, stubbed } = leave_out_unused(&nodes, edges);
        let format = |i: usize| match &nodes[i].content {
            Content::Js { transformed, .. } => Some(transformed.format),
            _ => None,
        };
        let is_cjs = |i: usize| format(i) == Some(Format::CommonJs);
        // Registry entries: every CommonJS file, and whatever a CommonJS
        // file requires.
        let mut registry_index: BTreeMap<usize, usize> = BTreeMap::new();
        let mut order: Vec<usize> = Vec::new();
        let mut register = |i: usize, registry_index: &mut BTreeMap<usize, usize>| {
            if !registry_index.contains_key(&i) {
                registry_index.insert(i, order.len());
                order.push(i);
            }
        };
        for i in 0..nodes.len() {
            if keep[i] && is_cjs(i) {
                register(i, &mut registry_index);
            }
        }
        for (_, request, to) in &edges {
            if request.kind == RequestKind::Require {
                register(*to, &mut registry_index);
            }
        }
        let entries: Vec<cjs::Entry> = order
            .iter()
            .map(|&i| {
                let name = nodes[i].name.clone();
                match &nodes[i].content {
                    Content::Json { .. } => cjs::Entry::Json { name },
                    Content::Helper(_) => cjs::Entry::Default { name },
                    _ if is_cjs(i) => {
                        let requires = edges
                            .iter()
                            .filter(|(from, r, _)| *from == i && r.kind == RequestKind::Require)
                            .map(|(_, r, to)| (r.specifier.clone(), registry_index[to]))
                            .collect();
                        cjs::Entry::Factory { name, requires }
                    }
                    _ => cjs::Entry::Namespace { name },
                }
            })
            .collect();

        // Names each CommonJS file's facade exports.
        let mut facade_names: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
        for (from, request, to) in &edges {
            if request.kind != RequestKind::Require && is_cjs(*to) && !is_cjs(*from) {
                let names = facade_names.entry(*to).or_default();
                names.extend(request.names.iter().filter(|n| *n != "default" && *n != "*").cloned());
            }
        }
        if is_cjs(0) {
            facade_names.entry(0).or_default();
        }
        for (i, names) in facade_names.iter_mut() {
            if let Content::Js { transformed, .. } = &nodes[*i].content {
                names.extend(transformed.cjs_exports.iter().filter(|n| *n != "default").cloned());
            }
        }
        let facade_name = |i: usize| format!("{FACADE_PREFIX}{}", nodes[i].name);

        let mut imports: BTreeSet<Import> = BTreeSet::new();
        let mut modules: Vec<Module> = Vec::new();
        for (from, request, to) in &edges {
            if request.kind == RequestKind::Require {
                continue;
            }
            let name = if is_cjs(*to) { facade_name(*to) } else { nodes[*to].name.clone() };
            imports.insert(Import {
                importer: nodes[*from].name.clone(),
                specifier: request.specifier.clone(),
                attributes: attribute_pairs(&request.attributes),
                name,
                statement: request.statement as usize,
                offset: request.span.start as usize,
            });
        }
        modules.extend(stubs(&nodes, stubbed, &mut imports));
        let entry_is_esm = format(0) == Some(Format::Esm);
        // Generated modules: a facade per CommonJS file that ES modules
        // import, and the registry.
        let mut facades: Vec<(usize, Module)> = Vec::new();
        for (i, names) in &facade_names {
            let name = facade_name(*i);
            let names: Vec<String> = names.iter().cloned().collect();
            imports.insert(Import { importer: name.clone(), specifier: REGISTRY.into(), attributes: Vec::new(), name: REGISTRY.into(), statement: 0, offset: 0 });
            let text = cjs::facade(registry_index[i], &names);
            facades.push((*i, Module { name, kind: ModuleKind::JavaScript, text, source_map: None, original: None }));
        }
        if !entries.is_empty() {
            for e in &entries {
                let (cjs::Entry::Factory { name, .. } | cjs::Entry::Namespace { name } | cjs::Entry::Json { name } | cjs::Entry::Default { name }) = e;
                let attributes = if matches!(e, cjs::Entry::Json { .. }) { vec![("type".into(), "json".into())] } else { Vec::new() };
                imports.insert(Import { importer: REGISTRY.into(), specifier: name.clone(), attributes, name: name.clone(), statement: 0, offset: 0 });
            }
            modules.push(Module { name: REGISTRY.into(), kind: ModuleKind::JavaScript, text: cjs::registry(&entries), source_map: None, original: None });
        }
        let mut entry = None;
        for (i, node) in nodes.into_iter().enumerate() {
            if !keep[i] {
                continue;
            }
            let Node { name, content, .. } = node;
            let module = match content {
                Content::Js { original, transformed } => {
                    let Transformed { code, map, format, .. } = transformed;
                    let (text, source_map) = if format == Format::CommonJs { cjs::wrap(&code, map) } else { (code, map) };
                    let original = (text != original).then_some(original);
                    Module { name, kind: ModuleKind::JavaScript, text, source_map, original }
                }
                Content::Json { text, typed, untyped } => {
                    Module { name, kind: ModuleKind::Json { typed, untyped }, text, source_map: None, original: None }
                }
                Content::Text(text) => Module { name, kind: ModuleKind::Text, text, source_map: None, original: None },
                Content::Helper(text) => Module { name, kind: ModuleKind::JavaScript, text: text.to_string(), source_map: None, original: None },
            };
            if i == 0 {
                entry = Some(module);
            } else {
                modules.push(module);
            }
        }
        let Some(mut entry) = entry else { unreachable!("node 0 is the entry") };
        let mut entry_format = if entry_is_esm { EntryFormat::Module } else { EntryFormat::Plain };
        for (i, facade) in facades {
            if i == 0 {
                // A CommonJS entry runs through its facade.
                modules.push(std::mem::replace(&mut entry, facade));
                entry_format = EntryFormat::Module;
            } else {
                modules.push(facade);
            }
        }
        modules.sort_by(|a, b| a.name.cmp(&b.name).then(kind_order(a.kind).cmp(&kind_order(b.kind))));
        Graph { entry, entry_format, modules, imports: imports.into_iter().collect() }
    }
}

/// What stays of the walk's graph (see [`prune`]).
struct Kept {
    /// Per node.
    keep: Vec<bool>,
    /// The edges between kept nodes.
    edges: Vec<(usize, Request, usize)>,
    /// The edges from kept nodes to left-out ones, each with the names a
    /// stub standing for its target must export.
    stubbed: Vec<(usize, Request, BTreeSet<String>)>,
}

fn leave_out_unused(nodes: &[Node], edges: Vec<(usize, Request, usize)>) -> Kept {
    if !nodes.iter().any(|n| n.side_effect_free) {
        return Kept { keep: vec![true; nodes.len()], edges, stubbed: Vec::new() };
    }
    let modules: Vec<prune::Module> = nodes
        .iter()
        .map(|node| {
            let exports = match &node.content {
                Content::Js { transformed, .. } if transformed.format != Format::CommonJs => transformed.exports.clone(),
                _ => None,
            };
            let free = match &node.content {
                // A file that did not parse (no exports known, not
                // CommonJS) stays, so its syntax error does.
                Content::Js { .. } => node.side_effect_free && (exports.is_some() || is_commonjs(node)),
                // The transform's helpers only define a function each: a
                // left-out file that used one does not keep it.
                Content::Helper(_) => true,
                Content::Json { .. } | Content::Text(_) => false,
            };
            prune::Module { free, exports }
        })
        .collect();
    let uses: Vec<prune::Edge> = edges
        .iter()
        .map(|(from, request, to)| {
            let uses = match (request.kind, &request.reexport) {
                (RequestKind::Dynamic | RequestKind::Require, _) => prune::Use::Whole,
                (RequestKind::Static, Some(reexport)) => prune::Use::Reexport(reexport.clone()),
                (RequestKind::Static, None) => prune::Use::Import(request.names.clone()),
            };
            prune::Edge { from: *from, to: *to, uses }
        })
        .collect();
    let pruned = prune::prune(&modules, &uses, 0);
    let mut kept_edges = Vec::new();
    let mut stubbed = Vec::new();
    for ((from, request, to), names) in edges.into_iter().zip(pruned.stub_names) {
        match names {
            Some(names) => stubbed.push((from, request, names)),
            None if pruned.keep[from] => kept_edges.push((from, request, to)),
            None => {}
        }
    }
    Kept { keep: pruned.keep, edges: kept_edges, stubbed }
}

fn is_commonjs(node: &Node) -> bool {
    matches!(&node.content, Content::Js { transformed, .. } if transformed.format == Format::CommonJs)
}

/// The stubs the left-out targets of `stubbed` are linked to, one per set
/// of names (most need none: an `export *` of a left-out module), with
/// their import map entries.
fn stubs(nodes: &[Node], stubbed: Vec<(usize, Request, BTreeSet<String>)>, imports: &mut BTreeSet<Import>) -> Vec<Module> {
    // Per importer, specifier and attributes (an import map key), the
    // names all its statements take, and one of them for the position.
    type Key = (usize, String, Vec<(String, String)>);
    let mut wanted: BTreeMap<Key, (BTreeSet<String>, Request)> = BTreeMap::new();
    for (from, request, names) in stubbed {
        let attributes = attribute_pairs(&request.attributes);
        wanted.entry((from, request.specifier.clone(), attributes)).or_insert_with(|| (BTreeSet::new(), request)).0.extend(names);
    }
    let sets: BTreeSet<&BTreeSet<String>> = wanted.values().map(|(names, _)| names).collect();
    let name_of = |names: &BTreeSet<String>| match sets.iter().position(|s| *s == names) {
        Some(0) if names.is_empty() => UNUSED_PREFIX.trim_end_matches('/').to_string(),
        Some(i) => format!("{UNUSED_PREFIX}{i}"),
        None => unreachable!("every set was collected"),
    };
    let modules = sets.iter().map(|names| Module { name: name_of(names), kind: ModuleKind::JavaScript, text: prune::stub(names), source_map: None, original: None }).collect();
    for ((from, specifier, attributes), (names, request)) in &wanted {
        imports.insert(Import {
            importer: nodes[*from].name.clone(),
            specifier: specifier.clone(),
            attributes: attributes.clone(),
            name: name_of(names),
            statement: request.statement as usize,
            offset: request.span.start as usize,
        });
    }
    modules
}

fn attribute_pairs(attributes: &Attributes) -> Vec<(String, String)> {
    match attributes {
        Attributes::Json => vec![("type".into(), "json".into())],
        Attributes::Text => vec![("type".into(), "text".into())],
        _ => Vec::new(),
    }
}

fn kind_order(kind: ModuleKind) -> u8 {
    match kind {
        ModuleKind::JavaScript => 0,
        ModuleKind::Json { .. } => 1,
        ModuleKind::Text => 2,
    }
}

/// `path` relative to `base` (both absolute), with `..` where it leaves it.
fn pathdiff(path: &Path, base: &Path) -> PathBuf {
    let path: Vec<_> = path.components().collect();
    let base: Vec<_> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for part in &path[common..] {
        out.push(part.as_os_str());
    }
    out
}

/// The 1-based line and column (in characters) of byte `offset`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The first static import of a program that has no directory to import
/// from (read from stdin by a library caller): its specifier and the byte
/// offset of its string literal.
pub fn first_static_import(text: &str) -> Option<(String, usize)> {
    transform::static_imports(text).into_iter().next()
}
