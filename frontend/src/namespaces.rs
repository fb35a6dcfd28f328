//! TypeScript namespaces as tsc compiles them: names that tsc resolves
//! through its binder and oxc 0.146 (like Babel, one file without types)
//! does not, qualified in the source before oxc's transform.
//!
//! - A namespace's declarations merge (`namespace N {}` twice, `namespace
//!   A.B {}` beside `namespace A { export namespace B {} }`): inside one
//!   declaration, a name that no binding of that declaration's body declares
//!   but another declaration of the same namespace exports is that export,
//!   `N.name` (tsc: the namespace's exports come before the enclosing
//!   scopes). oxc leaves it unresolved (a ReferenceError) or takes an outer
//!   binding of the same name. For nested namespaces the lookup goes out
//!   declaration by declaration, as tsc's: the inner namespace's locals, its
//!   exports (every declaration's), the enclosing declaration's locals, the
//!   enclosing namespace's exports, and so on. A local binding of the name
//!   (a parameter, a `let`, a nested namespace of that name) wins.
//! - An exported `let` or `var` (and any `export declare`d value) is a
//!   property of the namespace object in tsc's output: every read and write
//!   is `N.x`. oxc emits `let x = N.x = init` and leaves the other references
//!   on the local, so an assignment never reaches `N.x` (and a `declare`d
//!   one names a global that does not exist). Its references are qualified
//!   too.
//!
//! The qualifier is the namespace's local name, as tsc writes it (the
//! innermost name of a dotted `A.B.C`). Where that name is shadowed at the
//! reference (a local binding called like the namespace), no qualified name
//! reaches the namespace object (tsc renames its function's parameter; a
//! source rewrite cannot): a build error says so.
//!
//! The rewrite only inserts text (`N.` before an identifier, `x: N.` before
//! a shorthand property), so every original byte keeps its place through
//! [`Remap`].

use crate::rewrite::{Edit, Remap, assemble};
use crate::transform::FileError;
use oxc_ast::ast::{
    AssignmentTargetPropertyIdentifier, BindingPattern, Declaration, Expression, IdentifierReference, JSXElement, JSXElementName,
    JSXMemberExpressionObject, ObjectProperty, Program, Statement, TSEnumDeclaration, TSNamespaceDeclaration, TSNamespaceDeclarationBody,
};
use oxc_ast_visit::{Visit, walk};
use oxc_semantic::{Scoping, ScopeId, SymbolId};
use std::collections::{BTreeSet, HashMap};

/// Whether `program` has a namespace declaration that emits code (the
/// rewrite is needed at all).
pub(crate) fn has_namespaces(program: &Program<'_>) -> bool {
    program.body.iter().any(|s| match s {
        Statement::TSNamespaceDeclaration(n) => !n.declare,
        Statement::ExportDeclaration(e) => matches!(&e.declaration, Declaration::TSNamespaceDeclaration(n) if !n.declare),
        _ => false,
    })
}

/// `program` (parsed from `source`, `scoping` its semantic analysis) with
/// the references tsc qualifies qualified, and the way back; `None` when
/// there are none.
///
/// # Errors
///
/// A reference that must be qualified where the namespace's name is
/// shadowed.
pub(crate) fn rewrite(source: &str, program: &Program<'_>, scoping: &Scoping) -> Result<Option<(String, Remap)>, FileError> {
    let mut collector = Collector { scoping, frames: Vec::new(), by_span: HashMap::new(), exports: HashMap::new(), qualified: HashMap::new(), enums: HashMap::new(), stack: Vec::new() };
    collector.visit_program(program);
    let Collector { frames, by_span, exports, qualified, enums, .. } = collector;
    let mut rewriter = Rewriter {
        source,
        scoping,
        frames: &frames,
        by_span: &by_span,
        exports: &exports,
        qualified: &qualified,
        enums: &enums,
        stack: Vec::new(),
        enum_stack: Vec::new(),
        edits: Vec::new(),
        error: None,
    };
    rewriter.visit_program(program);
    if let Some(error) = rewriter.error {
        return Err(error);
    }
    let mut edits = rewriter.edits;
    if edits.is_empty() {
        return Ok(None);
    }
    edits.sort_by_key(|e| (e.start, e.end));
    Ok(Some(assemble(source, edits)))
}

/// One namespace declaration (one level of a dotted one).
struct Frame {
    /// Which merged namespace it declares: declarations with the same key
    /// share their exports.
    key: String,
    /// Its local name, the qualifier.
    name: String,
    /// The binding of that name (shared by merged declarations of one
    /// scope).
    symbol: Option<SymbolId>,
    /// The scope of its body.
    scope: Option<ScopeId>,
}

struct Collector<'s> {
    scoping: &'s Scoping,
    frames: Vec<Frame>,
    /// Frame index by declaration span.
    by_span: HashMap<(u32, u32), usize>,
    /// The value names each merged namespace exports.
    exports: HashMap<String, BTreeSet<String>>,
    /// Bindings whose every reference tsc qualifies (exported `let`/`var`,
    /// `export declare`d values), with the frame that exports them.
    qualified: HashMap<SymbolId, usize>,
    /// Member names of the enums declared in a scope under a name (merged
    /// enum declarations see each other's members).
    enums: HashMap<(ScopeId, String), BTreeSet<String>>,
    /// Enclosing frames.
    stack: Vec<usize>,
}

fn binding_symbols(pattern: &BindingPattern<'_>, out: &mut Vec<(String, Option<SymbolId>)>) {
    match pattern {
        BindingPattern::BindingIdentifier(id) => out.push((id.name.to_string(), id.symbol_id.get())),
        BindingPattern::ObjectPattern(o) => {
            for p in &o.properties {
                binding_symbols(&p.value, out);
            }
            if let Some(rest) = &o.rest {
                binding_symbols(&rest.argument, out);
            }
        }
        BindingPattern::ArrayPattern(a) => {
            for element in a.elements.iter().flatten() {
                binding_symbols(element, out);
            }
            if let Some(rest) = &a.rest {
                binding_symbols(&rest.argument, out);
            }
        }
        BindingPattern::AssignmentPattern(a) => binding_symbols(&a.left, out),
    }
}

/// Whether a namespace body emits code (tsc's "instantiated"): any
/// statement but types, ambient declarations and namespaces that emit none.
fn instantiated(body: &TSNamespaceDeclarationBody<'_>) -> bool {
    let statements = match body {
        TSNamespaceDeclarationBody::TSNamespaceDeclaration(n) => return !n.declare && instantiated(&n.body),
        TSNamespaceDeclarationBody::TSModuleBlock(block) => &block.body,
    };
    statements.iter().any(|s| {
        let declaration = match s {
            Statement::ExportDeclaration(e) => &e.declaration,
            s => match s.as_declaration() {
                Some(d) => d,
                None => return !matches!(s, Statement::EmptyStatement(_)),
            },
        };
        match declaration {
            Declaration::TSTypeAliasDeclaration(_) | Declaration::TSInterfaceDeclaration(_) | Declaration::TSGlobalDeclaration(_) => false,
            Declaration::TSExternalModuleDeclaration(_) => false,
            Declaration::TSNamespaceDeclaration(n) => !n.declare && instantiated(&n.body),
            d => !d.declare(),
        }
    })
}

impl Collector<'_> {
    fn frame_key(&self, name: &str, exported: bool) -> String {
        match self.stack.last() {
            None => name.to_string(),
            // An exported nested namespace merges with its namesakes in
            // every declaration of the enclosing namespace.
            Some(&parent) if exported => format!("{}.{name}", self.frames[parent].key),
            // A local one only with those of the same body.
            Some(&parent) => format!("{}#{parent}.{name}", self.frames[parent].key),
        }
    }

    fn namespace(&mut self, it: &TSNamespaceDeclaration<'_>, exported: bool) {
        let key = self.frame_key(&it.id.name, exported);
        let at = self.frames.len();
        self.frames.push(Frame { key: key.clone(), name: it.id.name.to_string(), symbol: it.id.symbol_id.get(), scope: it.scope_id.get() });
        // An ambient declaration has no code to rewrite, but what it
        // exports is the namespace's all the same (provided elsewhere).
        if !it.declare {
            self.by_span.insert((it.span.start, it.span.end), at);
        }
        let names = self.exports.entry(key).or_default();
        let mut qualified = Vec::new();
        match &it.body {
            // `namespace A.B {}`: B is an export of A.
            TSNamespaceDeclarationBody::TSNamespaceDeclaration(inner) => {
                if it.declare || instantiated(&inner.body) {
                    names.insert(inner.id.name.to_string());
                }
            }
            TSNamespaceDeclarationBody::TSModuleBlock(block) => {
                for statement in &block.body {
                    let Statement::ExportDeclaration(export) = statement else { continue };
                    let declaration = &export.declaration;
                    let ambient = declaration.declare();
                    match declaration {
                        Declaration::VariableDeclaration(v) => {
                            let mut bound = Vec::new();
                            for d in &v.declarations {
                                binding_symbols(&d.id, &mut bound);
                            }
                            for (name, symbol) in bound {
                                names.insert(name);
                                if (ambient || !v.kind.is_const()) && let Some(symbol) = symbol {
                                    qualified.push(symbol);
                                }
                            }
                        }
                        Declaration::FunctionDeclaration(f) => {
                            if let Some(id) = &f.id {
                                names.insert(id.name.to_string());
                                if ambient && let Some(symbol) = id.symbol_id.get() {
                                    qualified.push(symbol);
                                }
                            }
                        }
                        Declaration::ClassDeclaration(c) => {
                            if let Some(id) = &c.id {
                                names.insert(id.name.to_string());
                                if ambient && let Some(symbol) = id.symbol_id.get() {
                                    qualified.push(symbol);
                                }
                            }
                        }
                        Declaration::TSEnumDeclaration(e) => {
                            names.insert(e.id.name.to_string());
                            if ambient && let Some(symbol) = e.id.symbol_id.get() {
                                qualified.push(symbol);
                            }
                        }
                        Declaration::TSNamespaceDeclaration(n) if n.declare || it.declare || instantiated(&n.body) => {
                            names.insert(n.id.name.to_string());
                        }
                        Declaration::TSImportEqualsDeclaration(i) => {
                            names.insert(i.id.name.to_string());
                        }
                        _ => {}
                    }
                }
            }
        }
        for symbol in qualified {
            self.qualified.insert(symbol, at);
        }
        self.stack.push(at);
        match &it.body {
            TSNamespaceDeclarationBody::TSNamespaceDeclaration(inner) => self.namespace(inner, true),
            TSNamespaceDeclarationBody::TSModuleBlock(block) => {
                for statement in &block.body {
                    match statement {
                        Statement::TSNamespaceDeclaration(n) => self.namespace(n, false),
                        Statement::ExportDeclaration(e) => match &e.declaration {
                            Declaration::TSNamespaceDeclaration(n) => self.namespace(n, true),
                            _ => self.visit_statement(statement),
                        },
                        _ => self.visit_statement(statement),
                    }
                }
            }
        }
        self.stack.pop();
    }
}

impl<'a> Visit<'a> for Collector<'_> {
    fn visit_ts_namespace_declaration(&mut self, it: &TSNamespaceDeclaration<'a>) {
        self.namespace(it, false);
    }

    fn visit_ts_enum_declaration(&mut self, it: &TSEnumDeclaration<'a>) {
        if let Some(symbol) = it.id.symbol_id.get() {
            let scope = self.scoping.symbol_scope_id(symbol);
            let members = self.enums.entry((scope, it.id.name.to_string())).or_default();
            members.extend(it.body.members.iter().map(|m| m.id.static_name().to_string()));
        }
        walk::walk_ts_enum_declaration(self, it);
    }
}

struct Rewriter<'r, 's> {
    source: &'s str,
    scoping: &'s Scoping,
    frames: &'r [Frame],
    by_span: &'r HashMap<(u32, u32), usize>,
    exports: &'r HashMap<String, BTreeSet<String>>,
    qualified: &'r HashMap<SymbolId, usize>,
    enums: &'r HashMap<(ScopeId, String), BTreeSet<String>>,
    /// Enclosing frames.
    stack: Vec<usize>,
    /// Member names of the enclosing enums.
    enum_stack: Vec<Option<&'r BTreeSet<String>>>,
    edits: Vec<Edit>,
    error: Option<FileError>,
}

impl Rewriter<'_, '_> {
    /// The frame whose name qualifies `it`, if tsc qualifies it.
    fn frame_for(&self, it: &IdentifierReference<'_>) -> Option<usize> {
        if self.stack.is_empty() {
            return None;
        }
        let reference = self.scoping.get_reference(it.reference_id.get()?);
        if !reference.is_value() {
            return None;
        }
        let name = it.name.as_str();
        // In an enum's initializers its members come first.
        if self.enum_stack.iter().flatten().any(|members| members.contains(name)) {
            return None;
        }
        let symbol = reference.symbol_id();
        let symbol_scope = symbol.map(|s| self.scoping.symbol_scope_id(s));
        for &at in self.stack.iter().rev() {
            let frame = &self.frames[at];
            if let (Some(symbol), Some(symbol_scope), Some(scope)) = (symbol, symbol_scope, frame.scope)
                && self.scoping.scope_ancestors(symbol_scope).any(|s| s == scope)
            {
                // Declared in this declaration's body: a local, unless it is
                // a property of the namespace object.
                return self.qualified.get(&symbol).copied();
            }
            if self.exports.get(&frame.key).is_some_and(|names| names.contains(name)) {
                return Some(at);
            }
        }
        None
    }

    /// `it` qualified by the frame's name: `prefix` inserted before it.
    fn qualify(&mut self, it: &IdentifierReference<'_>, shorthand: bool) -> Option<String> {
        let at = self.frame_for(it)?;
        let frame = &self.frames[at];
        let reference = self.scoping.get_reference(it.reference_id.get()?);
        let scope = reference.scope_id();
        let found = self.scoping.find_binding(scope, frame.name.as_str().into());
        if found != frame.symbol {
            if self.error.is_none() {
                let name = &frame.name;
                let what = &it.name;
                self.error = Some(FileError {
                    span: Some(it.span),
                    message: format!(
                        "`{what}` here is `{name}.{what}` (a property of namespace {name}), but a local binding named `{name}` hides the namespace here; rename that binding"
                    ),
                });
            }
            return None;
        }
        let mut prefix = String::new();
        if shorthand {
            prefix.push_str(&format!("{}: ", &self.source[it.span.start as usize..it.span.end as usize]));
        }
        prefix.push_str(&frame.name);
        prefix.push('.');
        Some(prefix)
    }

    fn insert(&mut self, at: u32, text: String) {
        self.edits.push(Edit::insert(at, text));
    }
}

/// The leftmost identifier of a JSX element name (`Foo` of `<Foo.Bar>`).
fn jsx_name_reference<'b, 'a>(name: &'b JSXElementName<'a>) -> Option<&'b IdentifierReference<'a>> {
    match name {
        JSXElementName::IdentifierReference(id) => Some(id),
        JSXElementName::MemberExpression(m) => {
            let mut object = &m.object;
            loop {
                match object {
                    JSXMemberExpressionObject::IdentifierReference(id) => return Some(id),
                    JSXMemberExpressionObject::MemberExpression(m) => object = &m.object,
                    JSXMemberExpressionObject::ThisExpression(_) => return None,
                }
            }
        }
        _ => None,
    }
}

impl<'a> Visit<'a> for Rewriter<'_, '_> {
    fn visit_ts_namespace_declaration(&mut self, it: &TSNamespaceDeclaration<'a>) {
        let Some(&at) = self.by_span.get(&(it.span.start, it.span.end)) else { return };
        self.stack.push(at);
        walk::walk_ts_namespace_declaration(self, it);
        self.stack.pop();
    }

    fn visit_ts_enum_declaration(&mut self, it: &TSEnumDeclaration<'a>) {
        let members = it.id.symbol_id.get().and_then(|symbol| {
            let scope = self.scoping.symbol_scope_id(symbol);
            self.enums.get(&(scope, it.id.name.to_string()))
        });
        self.enum_stack.push(members);
        walk::walk_ts_enum_declaration(self, it);
        self.enum_stack.pop();
    }

    fn visit_identifier_reference(&mut self, it: &IdentifierReference<'a>) {
        if let Some(prefix) = self.qualify(it, false) {
            self.insert(it.span.start, prefix);
        }
    }

    fn visit_object_property(&mut self, it: &ObjectProperty<'a>) {
        if it.shorthand
            && let Expression::Identifier(id) = &it.value
        {
            // `{ x }` is `{ x: N.x }`.
            if let Some(prefix) = self.qualify(id, true) {
                self.insert(id.span.start, prefix);
            }
            return;
        }
        walk::walk_object_property(self, it);
    }

    fn visit_assignment_target_property_identifier(&mut self, it: &AssignmentTargetPropertyIdentifier<'a>) {
        // `({ x } = o)` assigns `N.x`: `({ x: N.x } = o)`.
        if let Some(prefix) = self.qualify(&it.binding, true) {
            self.insert(it.binding.span.start, prefix);
        }
        if let Some(init) = &it.init {
            self.visit_expression(init);
        }
    }

    fn visit_jsx_element(&mut self, it: &JSXElement<'a>) {
        // The closing tag names the element again: both get the qualifier.
        if let Some(id) = jsx_name_reference(&it.opening_element.name)
            && let Some(prefix) = self.qualify(id, false)
        {
            self.insert(id.span.start, prefix.clone());
            if let Some(closing) = &it.closing_element
                && let Some(id) = jsx_name_reference(&closing.name)
            {
                self.insert(id.span.start, prefix);
            }
        }
        if let Some(arguments) = &it.opening_element.type_arguments {
            self.visit_ts_type_parameter_instantiation(arguments);
        }
        for attribute in &it.opening_element.attributes {
            self.visit_jsx_attribute_item(attribute);
        }
        for child in &it.children {
            self.visit_jsx_child(child);
        }
    }

    // Types are erased: nothing in them is a value.
    fn visit_ts_type(&mut self, _: &oxc_ast::ast::TSType<'a>) {}
    fn visit_ts_type_parameter_declaration(&mut self, _: &oxc_ast::ast::TSTypeParameterDeclaration<'a>) {}
    fn visit_ts_type_parameter_instantiation(&mut self, _: &oxc_ast::ast::TSTypeParameterInstantiation<'a>) {}
    fn visit_ts_interface_declaration(&mut self, _: &oxc_ast::ast::TSInterfaceDeclaration<'a>) {}
    fn visit_ts_type_alias_declaration(&mut self, _: &oxc_ast::ast::TSTypeAliasDeclaration<'a>) {}
    fn visit_ts_class_implements(&mut self, _: &oxc_ast::ast::TSClassImplements<'a>) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxc_allocator::Allocator;
    use oxc_parser::Parser;
    use oxc_semantic::SemanticBuilder;
    use oxc_span::SourceType;

    fn run(source: &str) -> Result<Option<(String, Remap)>, FileError> {
        let allocator = Allocator::default();
        let parsed = Parser::new(&allocator, source, SourceType::ts()).parse();
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert!(has_namespaces(&parsed.program));
        let scoping = SemanticBuilder::new().build(&parsed.program).semantic.into_scoping();
        rewrite(source, &parsed.program, &scoping)
    }

    fn text(source: &str) -> String {
        run(source).expect("no error").map(|(text, _)| text).unwrap_or_else(|| source.to_string())
    }

    #[test]
    fn another_declarations_export_is_qualified_and_maps_back() {
        let source = "namespace S { export function area() {} }\nnamespace S { export const sq = () => area(); }\n";
        let (text, remap) = run(source).unwrap().unwrap();
        assert_eq!(text, "namespace S { export function area() {} }\nnamespace S { export const sq = () => S.area(); }\n");
        let call = text.find("S.area").unwrap() as u32;
        let original = source.rfind("area()").unwrap() as u32;
        assert_eq!(remap.original(call), original, "the qualifier stands for the name");
        assert_eq!(remap.original(call + 2), original);
    }

    #[test]
    fn a_local_binding_of_the_name_wins() {
        let source = "namespace S { export const a = 1; }\nnamespace S { function f(a: number) { return a; } { let a = 2; a; } a; }\n";
        assert_eq!(text(source), source.replace("} a; }", "} S.a; }"));
    }

    #[test]
    fn a_binding_outside_the_namespace_does_not_hide_its_export() {
        let source = "const a = 0;\nnamespace S { export const a = 1; }\nnamespace S { a; }\na;\n";
        assert_eq!(text(source), source.replace("S { a; }", "S { S.a; }"));
    }

    #[test]
    fn shorthand_properties_and_targets_get_a_key() {
        let source = "namespace S { export let a = 1; }\nnamespace S { const o = { a }; ({ a } = o); ({ a = 2 } = o); }\n";
        assert_eq!(text(source), source.replace("{ a }; ({ a } = o); ({ a = 2 }", "{ a: S.a }; ({ a: S.a } = o); ({ a: S.a = 2 }"));
    }

    #[test]
    fn exported_let_and_var_are_properties_in_their_own_declaration() {
        let source = "namespace C { export let n = 0, m = n; export var v; const k = 1; export const c = k; function f() { n++; v = c; } }\n";
        assert_eq!(
            text(source),
            "namespace C { export let n = 0, m = C.n; export var v; const k = 1; export const c = k; function f() { C.n++; C.v = c; } }\n"
        );
    }

    #[test]
    fn nested_and_dotted_namespaces_resolve_outward() {
        let source = "namespace A.B { export const x = 1; }\nnamespace A { export const top = 2; }\nnamespace A.B { export const y = x + top; }\nnamespace A { export namespace B { x; } }\n";
        let expected = "namespace A.B { export const x = 1; }\nnamespace A { export const top = 2; }\nnamespace A.B { export const y = B.x + A.top; }\nnamespace A { export namespace B { B.x; } }\n";
        assert_eq!(text(source), expected);
    }

    #[test]
    fn a_local_namespace_merges_only_within_its_body() {
        // `L` is not exported: the `L` of the second declaration of `A` is
        // another namespace.
        let source = "namespace A { namespace L { export const x = 1; } namespace L { x; } }\nnamespace A { namespace L { x; } }\n";
        assert_eq!(text(source), source.replacen("L { x; } }\n", "L { L.x; } }\n", 1));
    }

    #[test]
    fn enum_members_and_types_are_left_alone() {
        let source = "namespace S { export const A = 1; export type T = number; }\nnamespace S { enum E { A = 2, B = A } let t: T; let u: typeof A; }\n";
        assert!(run(source).unwrap().is_none());
    }

    #[test]
    fn jsx_names_are_qualified_in_both_tags() {
        let allocator = Allocator::default();
        let source = "namespace UI { export const Box = () => null; }\nnamespace UI { export const app = <Box.Inner a={1}><Box /></Box.Inner>; }\n";
        let parsed = Parser::new(&allocator, source, SourceType::tsx()).parse();
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let scoping = SemanticBuilder::new().build(&parsed.program).semantic.into_scoping();
        let (text, _) = rewrite(source, &parsed.program, &scoping).unwrap().unwrap();
        assert!(text.contains("<UI.Box.Inner a={1}><UI.Box /></UI.Box.Inner>"), "{text}");
    }

    #[test]
    fn a_hidden_namespace_name_is_an_error_at_the_reference() {
        let source = "namespace S { export const a = 1; }\nnamespace S { const S = 0; a; }\n";
        let error = run(source).unwrap_err();
        assert_eq!(error.span.map(|s| s.start as usize), Some(source.rfind("a;").unwrap()));
        assert!(error.message.contains("`S`"), "{}", error.message);
    }

    #[test]
    fn ambient_exports_are_the_namespaces_too() {
        let source = "declare namespace D { export const a: number; }\nnamespace D { a; }\nnamespace E { export declare const b: number; b; }\n";
        let expected = source.replace("D { a; }", "D { D.a; }").replace("number; b; }", "number; E.b; }");
        assert_eq!(text(source), expected);
    }
}
