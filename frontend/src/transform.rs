//! One file through oxc: parse, strip TypeScript / lower JSX, replace
//! build-time constants, drop the branches they make dead, print it again
//! with a source map, and list what it imports.
//!
//! A JavaScript file that none of this changes (no TypeScript, no JSX, no
//! define to replace, not CommonJS) is passed through byte for byte: its
//! positions need no map.

use crate::decorators;
use crate::namespaces;
use crate::rewrite;
use crate::settings::TsSettings;
use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, CallExpression, Declaration, Expression, ImportDeclarationSpecifier, ImportExpression, ModuleExportName, ObjectPropertyKind,
    PropertyKey, Statement, WithClause,
};
use oxc_ast_visit::{Visit, walk};
use oxc_codegen::{Codegen, CodegenOptions, CommentOptions};
use oxc_minifier::{CompressOptions, Minifier, MinifierOptions};
use oxc_parser::{ParseOptions, Parser};
use oxc_semantic::{Scoping, SemanticBuilder};
use oxc_span::{GetSpan, SourceType, Span};
use oxc_transformer::Transformer;
use oxc_transformer_plugins::{ReplaceGlobalDefines, ReplaceGlobalDefinesConfig};
use std::path::Path;

/// What a file is, as the engine will run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// An ES module (it has `import`/`export` or `import.meta`).
    Esm,
    /// A CommonJS module: wrapped in a factory function.
    CommonJs,
    /// Neither: no module syntax and no CommonJS variables. As an entry it
    /// is a script (or detected, as today); imported, an ES module.
    Plain,
}

/// How a specifier is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    /// `import ... from`, `export ... from`, `import "x"`.
    Static,
    /// `import("x")`.
    Dynamic,
    /// `require("x")`.
    Require,
}

/// What import attributes ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attributes {
    None,
    Json,
    Text,
    /// Unsupported: the message and the offset to point at.
    Bad(String, u32),
}

/// One specifier a file asks for.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) specifier: String,
    /// The string literal's span in the original text.
    pub(crate) span: Span,
    /// Where the statement (or call) starts.
    pub(crate) statement: u32,
    pub(crate) kind: RequestKind,
    pub(crate) attributes: Attributes,
    /// The names imported from it (`default`, `*` for a namespace or
    /// `export *`), for static imports.
    pub(crate) names: Vec<String>,
    /// A `require` inside a `try` block: a failure to resolve it is left to
    /// run time (where the program catches it), as esbuild does.
    pub(crate) optional: bool,
    /// For `export ... from`: what the file exports of the target's.
    pub(crate) reexport: Option<Reexport>,
}

/// What an `export ... from` statement exports of its target's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reexport {
    /// `export { a, b as c, default as d } from`: (exported, imported)
    /// pairs.
    Named(Vec<(String, String)>),
    /// `export * from`: every name but `default`.
    Star,
    /// `export * as ns from`: the target's namespace, as `ns`.
    Namespace(String),
}

/// A file after oxc.
pub(crate) struct Transformed {
    /// The code the engine compiles (the body only, for CommonJS).
    pub(crate) code: String,
    /// The map from `code` to the original text; `None` when `code` is the
    /// original text.
    pub(crate) map: Option<oxc_sourcemap::SourceMap<'static>>,
    pub(crate) format: Format,
    pub(crate) requests: Vec<Request>,
    /// For CommonJS: the names it visibly exports (`exports.x = `,
    /// `module.exports = { x }`), as Node's cjs-module-lexer finds them.
    pub(crate) cjs_exports: Vec<String>,
    /// The names the file exports from its own bindings (`export const a`,
    /// `export { b as c }`, `export default`), re-exports left out; `None`
    /// for a file that did not parse (what it exports is unknown).
    pub(crate) exports: Option<Vec<String>>,
}

/// A problem found in the file: byte span and message.
#[derive(Debug, Clone)]
pub(crate) struct FileError {
    pub(crate) span: Option<Span>,
    pub(crate) message: String,
}

/// What the caller knows about the file.
pub(crate) struct FileContext<'a> {
    /// The name in stack traces and maps.
    pub(crate) name: &'a str,
    /// Inside a package whose package.json does not say `"type": "module"`:
    /// a `.js` file without module syntax is CommonJS there, as in Node.
    pub(crate) commonjs_package: bool,
    pub(crate) ts: &'a TsSettings,
    pub(crate) defines: Option<&'a ReplaceGlobalDefinesConfig>,
}

/// The source type oxc parses `path` as.
pub(crate) fn source_type(path: &Path) -> SourceType {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "mjs" => SourceType::mjs(),
        "cjs" => SourceType::cjs(),
        "ts" => SourceType::ts().with_unambiguous(true),
        "mts" => SourceType::ts(),
        "cts" => SourceType::ts().with_commonjs(true),
        "tsx" => SourceType::tsx().with_unambiguous(true),
        "jsx" => SourceType::jsx().with_unambiguous(true),
        _ => SourceType::unambiguous(),
    }
}

pub(crate) fn transform(path: &Path, source: &str, cx: &FileContext<'_>) -> Result<Transformed, FileError> {
    let allocator = Allocator::default();
    let source_type = source_type(path);
    let options = ParseOptions { allow_return_outside_function: !source_type.is_module(), ..ParseOptions::default() };
    let parsed = Parser::new(&allocator, source, source_type).with_options(options).parse();
    let failed = parsed.diagnostics.iter().find(|d| d.severity == oxc_diagnostics::Severity::Error);
    if failed.is_some() || parsed.panicked {
        if !(source_type.is_typescript() || source_type.is_jsx()) {
            // Plain JavaScript goes to QuickJS as it is: its own syntax
            // error, with its position, is what the user sees, exactly as
            // for any program that does not parse.
            return Ok(Transformed { code: source.to_string(), map: None, format: Format::Plain, requests: Vec::new(), cjs_exports: Vec::new(), exports: None });
        }
        let mut error = failed.map(diagnostic_error).unwrap_or(FileError { span: None, message: "the parser gave up on this file".into() });
        if !parsed.panicked
            && let Some(span) = error.span
            && let Some(message) = decorators::parameter_decorator_error(&parsed.program, source, span.start)
        {
            error.message = message;
        }
        return Err(error);
    }
    let mut program = parsed.program;
    // `export =` is TypeScript's CommonJS export (it becomes `module.exports
    // =`), not a reason to take the file for an ES module.
    let is_esm_syntax = |s: &Statement| s.is_module_declaration() && !matches!(s, Statement::TSExportAssignment(_));
    let has_esm = program.body.iter().any(is_esm_syntax) || !parsed.module_record.import_metas.is_empty();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    // Standard decorators and `accessor` fields: rewritten (one pass per
    // level of nested classes) before anything else, see [`decorators`].
    let lowering = decorators::Options { standard: !cx.ts.experimental_decorators, module: has_esm || matches!(ext, "mjs" | "mts") };
    let mut remaps: Vec<rewrite::Remap> = Vec::new();
    let mut text: &str = source;
    // Namespace members tsc qualifies and oxc does not, qualified first
    // (on the original text), see [`namespaces`].
    if source_type.is_typescript() && namespaces::has_namespaces(&program) {
        let scoping = SemanticBuilder::new().build(&program).semantic.into_scoping();
        if let Some((next, remap)) = namespaces::rewrite(text, &program, &scoping)? {
            let next: &str = allocator.alloc_str(&next);
            remaps.push(remap);
            program = reparse(&allocator, next, source_type, options, &remaps, "namespaces")?;
            text = next;
        }
    }
    let mut passes = decorators::Passes::default();
    loop {
        let lowered = decorators::lower(text, &program, lowering, &mut passes).map_err(|mut error| {
            error.span = error.span.map(|s| original_span(&remaps, s));
            error
        })?;
        let Some((next, remap)) = lowered else { break };
        let next: &str = allocator.alloc_str(&next);
        remaps.push(remap);
        program = reparse(&allocator, next, source_type, options, &remaps, "decorators and accessors")?;
        text = next;
    }
    let semantic = SemanticBuilder::new().with_enum_eval(true).build(&program);
    let mut scoping = semantic.semantic.into_scoping();
    let mut changed = !remaps.is_empty();
    if source_type.is_typescript() || source_type.is_jsx() {
        let options = cx.ts.transform_options(path);
        let returned = Transformer::new(&allocator, path, &options).build_with_scoping(scoping, &mut program);
        if let Some(error) = returned.diagnostics.iter().find(|d| d.severity == oxc_diagnostics::Severity::Error) {
            let mut error = diagnostic_error(error);
            error.span = error.span.map(|s| original_span(&remaps, s));
            return Err(error);
        }
        scoping = returned.scoping;
        changed = true;
    }
    if let Some(defines) = cx.defines {
        let returned = ReplaceGlobalDefines::new(&allocator, defines.clone()).build(scoping, &mut program);
        if returned.changed {
            changed = true;
            let options = MinifierOptions { mangle: None, mangle_properties: None, compress: Some(CompressOptions::dce()) };
            Minifier::new(options).dce(&allocator, &mut program);
        }
    }
    // The program as it is now: what it imports and which CommonJS
    // variables it uses.
    let scoping: Scoping = SemanticBuilder::new().build(&program).semantic.into_scoping();
    let collect = |format: Format| {
        let mut collector = Collector { scoping: &scoping, format, requests: Vec::new(), cjs_exports: Vec::new(), exports: Vec::new(), try_depth: 0, assigns_exports: false };
        collector.module_declarations(&program.body);
        collector.visit_program(&program);
        collector
    };
    let collector = if has_esm {
        collect(Format::Esm)
    } else if matches!(ext, "cjs" | "cts") || (cx.commonjs_package && matches!(ext, "js" | "ts" | "")) {
        collect(Format::CommonJs)
    } else {
        // CommonJS only if it calls `require` or assigns `module.exports` /
        // `exports.x`: a mere `typeof require` test is no reason to wrap
        // (and make strict) a script.
        let probe = collect(Format::CommonJs);
        if probe.assigns_exports || probe.requests.iter().any(|r| r.kind == RequestKind::Require) { probe } else { collect(Format::Plain) }
    };
    let format = collector.format;
    let Collector { mut requests, cjs_exports, exports, .. } = collector;
    let exports = Some(exports);
    if !remaps.is_empty() {
        for request in &mut requests {
            request.span = original_span(&remaps, request.span);
            request.statement = original_offset(&remaps, request.statement);
        }
    }

    if !changed && format != Format::CommonJs && !source_type.is_typescript() {
        return Ok(Transformed { code: source.to_string(), map: None, format, requests, cjs_exports, exports });
    }
    if format == Format::CommonJs {
        // `#!` cannot start a function body.
        program.hashbang = None;
    }
    let options = CodegenOptions {
        source_map_path: Some(cx.name.into()),
        comments: CommentOptions { normal: false, jsdoc: false, ..CommentOptions::default() },
        ..CodegenOptions::default()
    };
    let printed = Codegen::new().with_options(options).with_scoping(Some(scoping)).build(&program);
    let mut map = printed.map.map(oxc_sourcemap::SourceMap::into_owned);
    if !remaps.is_empty() {
        map = map.map(|m| map_to_original(&m, text, source, &remaps));
    }
    Ok(Transformed { code: printed.code, map, format, requests, cjs_exports, exports })
}

/// The program of a rewritten text (the last of `remaps`).
fn reparse<'a>(
    allocator: &'a Allocator,
    text: &'a str,
    source_type: SourceType,
    options: ParseOptions,
    remaps: &[rewrite::Remap],
    what: &str,
) -> Result<oxc_ast::ast::Program<'a>, FileError> {
    let reparsed = Parser::new(allocator, text, source_type).with_options(options).parse();
    if let Some(error) = reparsed.diagnostics.iter().find(|d| d.severity == oxc_diagnostics::Severity::Error) {
        let mut error = diagnostic_error(error);
        error.span = error.span.map(|s| original_span(remaps, s));
        error.message = format!("{} (in the code Kiln generates for {what}: please report this)", error.message);
        return Err(error);
    }
    Ok(reparsed.program)
}

/// Offset `at` of the rewritten text, in the original (the last rewrite
/// first).
fn original_offset(remaps: &[rewrite::Remap], at: u32) -> u32 {
    remaps.iter().rev().fold(at, |at, remap| remap.original(at))
}

fn original_span(remaps: &[rewrite::Remap], span: Span) -> Span {
    let start = original_offset(remaps, span.start);
    Span::new(start, original_offset(remaps, span.end).max(start))
}

/// `map`, whose sources are positions in `rewritten`, with positions in
/// `original` instead.
fn map_to_original(
    map: &oxc_sourcemap::SourceMap<'_>,
    rewritten: &str,
    original: &str,
    remaps: &[rewrite::Remap],
) -> oxc_sourcemap::SourceMap<'static> {
    use std::borrow::Cow;
    let from = Lines::new(rewritten);
    let to = Lines::new(original);
    let names: Vec<Cow<'static, str>> = map.get_names().map(|n| Cow::Owned(n.to_string())).collect();
    let sources: Vec<Cow<'static, str>> = map.get_sources().map(|s| Cow::Owned(s.to_string())).collect();
    let tokens: Vec<oxc_sourcemap::Token> = map
        .get_tokens()
        .map(|t| {
            let at = from.offset(rewritten, t.get_src_line(), t.get_src_col());
            let (line, column) = to.position(original, original_offset(remaps, at as u32) as usize);
            oxc_sourcemap::Token::new(t.get_dst_line(), t.get_dst_col(), line, column, t.get_source_id(), t.get_name_id())
        })
        .collect();
    oxc_sourcemap::SourceMap::new(None, names, None, sources, vec![], tokens.into_boxed_slice(), None)
}

/// Line starts of a text, for source map positions (0-based lines,
/// columns in UTF-16 units).
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        Lines(std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect())
    }

    fn offset(&self, text: &str, line: u32, column: u32) -> usize {
        let start = self.0.get(line as usize).copied().unwrap_or(text.len());
        let mut units = 0;
        for (i, c) in text[start..].char_indices() {
            if units >= column as usize || c == '\n' {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    }

    fn position(&self, text: &str, offset: usize) -> (u32, u32) {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.0.partition_point(|&s| s <= offset).saturating_sub(1);
        let column: usize = text[self.0[line]..offset].chars().map(char::len_utf16).sum();
        (line as u32, column as u32)
    }
}

fn diagnostic_error(error: &oxc_diagnostics::OxcDiagnostic) -> FileError {
    let span = error.labels.first().map(|l| Span::new(l.offset() as u32, (l.offset() + l.len()) as u32));
    let mut message = error.message.to_string();
    if let Some(help) = &error.help {
        message.push_str(&format!(" ({help})"));
    }
    FileError { span, message }
}

/// Walks the final program for what it asks for.
struct Collector<'s> {
    scoping: &'s Scoping,
    format: Format,
    requests: Vec<Request>,
    cjs_exports: Vec<String>,
    /// See [`Transformed::exports`].
    exports: Vec<String>,
    try_depth: usize,
    /// Assigns `module.exports` or `exports.x`.
    assigns_exports: bool,
}

impl Collector<'_> {
    #[expect(clippy::too_many_arguments)]
    fn push(&mut self, statement: u32, specifier: &str, span: Span, kind: RequestKind, attributes: Attributes, names: Vec<String>) {
        let optional = kind == RequestKind::Require && self.try_depth > 0;
        self.requests.push(Request { specifier: specifier.to_string(), span, statement, kind, attributes, names, optional, reexport: None });
    }

    /// The request just pushed re-exports `reexport` of its target.
    fn reexports(&mut self, reexport: Reexport) {
        if let Some(last) = self.requests.last_mut() {
            last.reexport = Some(reexport);
        }
    }

    /// `import`/`export ... from` at the top level.
    fn module_declarations(&mut self, body: &[Statement<'_>]) {
        for statement in body {
            match statement {
                Statement::ImportDeclaration(decl) => {
                    let mut names = Vec::new();
                    for specifier in decl.specifiers.iter().flatten() {
                        names.push(match specifier {
                            ImportDeclarationSpecifier::ImportSpecifier(s) => export_name(&s.imported),
                            ImportDeclarationSpecifier::ImportDefaultSpecifier(_) => "default".to_string(),
                            ImportDeclarationSpecifier::ImportNamespaceSpecifier(_) => "*".to_string(),
                        });
                    }
                    let attributes = with_clause(decl.with_clause.as_deref());
                    self.push(decl.span.start, &decl.source.value, decl.source.span, RequestKind::Static, attributes, names);
                }
                Statement::ExportAllDeclaration(decl) => {
                    let attributes = with_clause(decl.with_clause.as_deref());
                    self.push(decl.span.start, &decl.source.value, decl.source.span, RequestKind::Static, attributes, vec!["*".into()]);
                    self.reexports(match &decl.exported {
                        Some(name) => Reexport::Namespace(export_name(name)),
                        None => Reexport::Star,
                    });
                }
                Statement::ExportFromDeclaration(decl) => {
                    let names = decl.specifiers.iter().map(|s| export_name(&s.local)).collect();
                    let attributes = with_clause(decl.with_clause.as_deref());
                    self.push(decl.span.start, &decl.source.value, decl.source.span, RequestKind::Static, attributes, names);
                    let pairs = decl.specifiers.iter().map(|s| (export_name(&s.exported), export_name(&s.local))).collect();
                    self.reexports(Reexport::Named(pairs));
                }
                Statement::ExportDefaultDeclaration(_) => self.exports.push("default".into()),
                Statement::ExportNamedDeclaration(decl) => {
                    self.exports.extend(decl.specifiers.iter().map(|s| export_name(&s.exported)));
                }
                Statement::ExportDeclaration(decl) => match &decl.declaration {
                    Declaration::VariableDeclaration(variables) => {
                        for declarator in &variables.declarations {
                            self.exports.extend(declarator.id.get_binding_identifiers().iter().map(|id| id.name.to_string()));
                        }
                    }
                    // Functions, classes, and whatever TypeScript left (it
                    // has removed the types by now).
                    other => self.exports.extend(other.id().map(|id| id.name.to_string())),
                },
                _ => {}
            }
        }
    }

    fn is_global(&self, ident: &oxc_ast::ast::IdentifierReference<'_>) -> bool {
        ident.reference_id.get().is_none_or(|id| self.scoping.get_reference(id).symbol_id().is_none())
    }
}

fn export_name(name: &ModuleExportName<'_>) -> String {
    name.name().to_string()
}

/// The `type` a `with { ... }` clause asks for.
fn with_clause(clause: Option<&WithClause<'_>>) -> Attributes {
    const SUPPORTED: &str = "Kiln supports with { type: \"json\" } and with { type: \"text\" }";
    let Some(clause) = clause else { return Attributes::None };
    let mut kind = Attributes::None;
    for entry in &clause.with_entries {
        let key = entry.key.as_arena_str();
        if key.as_str() != "type" {
            return Attributes::Bad(format!("import attribute '{key}' is not supported; {SUPPORTED}"), entry.key.span().start);
        }
        kind = match entry.value.value.as_str() {
            "json" => Attributes::Json,
            "text" => Attributes::Text,
            other => return Attributes::Bad(format!("unsupported module type '{other}'; {SUPPORTED}"), entry.value.span.start),
        };
    }
    kind
}

/// The `type` of `import(x, { with: { type: "json" } })`, when written out.
fn dynamic_attributes(options: Option<&Expression<'_>>) -> Option<Attributes> {
    let Some(options) = options else { return Some(Attributes::None) };
    let Expression::ObjectExpression(object) = options else { return None };
    for property in &object.properties {
        let ObjectPropertyKind::ObjectProperty(p) = property else { return None };
        if p.key.static_name().as_deref() != Some("with") {
            continue;
        }
        let Expression::ObjectExpression(with) = &p.value else { return None };
        let mut kind = Attributes::None;
        for entry in &with.properties {
            let ObjectPropertyKind::ObjectProperty(e) = entry else { return None };
            let key = e.key.static_name()?;
            let Expression::StringLiteral(value) = &e.value else { return None };
            if key != "type" {
                return Some(Attributes::Bad(format!("import attribute '{key}' is not supported"), e.key.span().start));
            }
            kind = match value.value.as_str() {
                "json" => Attributes::Json,
                "text" => Attributes::Text,
                other => return Some(Attributes::Bad(format!("unsupported module type '{other}'"), value.span.start)),
            };
        }
        return Some(kind);
    }
    Some(Attributes::None)
}

/// The name a `exports.NAME` / `module.exports.NAME` target assigns.
fn exports_member(target: &oxc_ast::ast::AssignmentTarget<'_>) -> Option<String> {
    let member = target.as_member_expression()?;
    let name = member.static_property_name()?;
    match member.object() {
        Expression::Identifier(id) if id.name == "exports" => Some(name.to_string()),
        Expression::StaticMemberExpression(m) if m.property.name == "exports" => match &m.object {
            Expression::Identifier(id) if id.name == "module" => Some(name.to_string()),
            _ => None,
        },
        _ => None,
    }
}

impl<'a> Visit<'a> for Collector<'_> {
    fn visit_try_statement(&mut self, it: &oxc_ast::ast::TryStatement<'a>) {
        self.try_depth += 1;
        self.visit_block_statement(&it.block);
        self.try_depth -= 1;
        if let Some(handler) = &it.handler {
            self.visit_catch_clause(handler);
        }
        if let Some(finalizer) = &it.finalizer {
            self.visit_block_statement(finalizer);
        }
    }

    fn visit_import_expression(&mut self, it: &ImportExpression<'a>) {
        if let Expression::StringLiteral(source) = &it.source {
            // Options not written out: what they ask for is known only when
            // the import runs; the file is still part of the build.
            let attributes = dynamic_attributes(it.options.as_ref()).unwrap_or(Attributes::None);
            self.push(it.span.start, &source.value, source.span, RequestKind::Dynamic, attributes, Vec::new());
        }
        walk::walk_import_expression(self, it);
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        if self.format == Format::CommonJs
            && let Expression::Identifier(callee) = &it.callee
            && callee.name == "require"
            && self.is_global(callee)
            && it.arguments.len() == 1
            && let Some(Argument::StringLiteral(source)) = it.arguments.first()
        {
            self.push(it.span.start, &source.value, source.span, RequestKind::Require, Attributes::None, Vec::new());
        }
        walk::walk_call_expression(self, it);
    }

    fn visit_assignment_expression(&mut self, it: &oxc_ast::ast::AssignmentExpression<'a>) {
        if self.format == Format::CommonJs {
            let module_exports = it.left.as_member_expression().is_some_and(|m| {
                m.static_property_name() == Some("exports") && matches!(m.object(), Expression::Identifier(id) if id.name == "module")
            });
            if module_exports {
                self.assigns_exports = true;
            }
            if let Some(name) = exports_member(&it.left) {
                self.assigns_exports = true;
                self.cjs_exports.push(name);
            } else if let Some(member) = it.left.as_member_expression()
                && member.static_property_name() == Some("exports")
                && matches!(member.object(), Expression::Identifier(id) if id.name == "module")
                && let Expression::ObjectExpression(object) = &it.right
            {
                for property in &object.properties {
                    if let ObjectPropertyKind::ObjectProperty(p) = property
                        && let Some(name) = p.key.static_name()
                        && !matches!(p.key, PropertyKey::PrivateIdentifier(_))
                    {
                        self.cjs_exports.push(name.to_string());
                    }
                }
            }
        }
        walk::walk_assignment_expression(self, it);
    }
}

/// The static imports of a JavaScript text (specifier, offset of its
/// literal), parsed as a module or a script, whichever it is.
pub(crate) fn static_imports(text: &str) -> Vec<(String, usize)> {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, text, SourceType::unambiguous()).parse();
    // A program with a syntax error (early errors included) names no import:
    // the engine reports the error itself, before any import, as it does
    // for a program read from a file.
    if parsed.panicked || parsed.diagnostics.has_errors() || SemanticBuilder::new().with_check_syntax_error(true).build(&parsed.program).diagnostics.has_errors() {
        return Vec::new();
    }
    let scoping = Scoping::default();
    let mut collector = Collector { scoping: &scoping, format: Format::Esm, requests: Vec::new(), cjs_exports: Vec::new(), exports: Vec::new(), try_depth: 0, assigns_exports: false };
    collector.module_declarations(&parsed.program.body);
    collector.requests.into_iter().map(|r| (r.specifier, r.span.start as usize)).collect()
}
