//! Standard (TC39 2023) decorators and `accessor` fields, lowered to
//! ES2022 before oxc's transform (oxc 0.146 lowers neither, QuickJS-NG
//! parses neither).
//!
//! The lowering is a source rewrite of each class that needs it, in the
//! shape of TypeScript's ES2022 output: the class becomes an arrow IIFE
//! that evaluates the decorators (class first, then each element's, in
//! document order, with the computed keys of the class), and the class's
//! first static block applies them through `__esDecorate`: static methods,
//! getters, setters and accessors, then instance ones, then static fields,
//! then instance fields, then the class itself. `__runInitializers` runs
//! what `context.addInitializer` collected where the proposal says: method
//! initializers before the first field of each instance (static ones
//! before the first static field), a field's or accessor's right after
//! that field is defined, the class's after the class is fully defined.
//! The helpers are modules, `kiln:runtime/helpers/{esDecorate,
//! runInitializers, propKey, esMetadata}`, served like oxc's own.
//!
//! An `accessor x = v` becomes a private storage field `#__kiln_sN = v`
//! with a getter and setter over it.
//!
//! A rewrite keeps every byte of the original that it does not replace, so
//! the positions of the code the user wrote are known: [`Remap`] maps an
//! offset in the rewritten text back to the original one (generated code
//! maps to where it stands for). Nested classes that need lowering are
//! done by another pass over the rewritten text.
//!
//! What the wrapping function evaluates (the decorators, computed keys and
//! heritage, in the proposal's order: the class's decorators, the
//! heritage, then each element's decorators and key) is evaluated where the
//! class stands: with `await` the function is an async arrow, awaited; with
//! `yield` it is a generator function (async with `await` too) the
//! enclosing generator delegates to with `yield*`, called with its `this`
//! and `arguments`.
//!
//! Known differences from the proposal: `super` there beside a `yield` is
//! a build error (a generator function has no `super` of its own; no arrow
//! function can `yield`); `yield` or `await` in a legacy parameter
//! decorator is one too, oxc's parser rejects it (see
//! [`parameter_decorator_error`]); `super` in a decorated
//! *instance private* method refers to the parent class's static side (the
//! method becomes a static private one so the static block can reach it);
//! in legacy mode a computed `accessor` key is evaluated twice. With
//! `useDefineForClassFields: false`, oxc moves the fields, the private
//! ones that run extra initializers included, into the constructor in
//! their order, so the order holds.

use oxc_ast::ast::{
    AccessorPropertyType, Class, ClassElement, Decorator, ExportDefaultDeclaration, ExportDefaultDeclarationKind, ExportDeclaration,
    Declaration, Expression, MethodDefinitionKind, MethodDefinitionType, Program, PropertyDefinitionType, PropertyKey, VariableDeclarator,
    BindingPattern,
};
use oxc_ast_visit::{Visit, walk};
use oxc_span::{GetSpan, Span};
use crate::rewrite::{Edit, Piece, Remap, assemble};
use crate::transform::FileError;
use std::collections::BTreeSet;

/// The helper modules a lowering may import, by local name.
pub(crate) const HELPERS: [(&str, &str); 4] =
    [("__esDecorate", "esDecorate"), ("__runInitializers", "runInitializers"), ("__propKey", "propKey"), ("__esMetadata", "esMetadata")];

/// What to lower.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// Standard decorators (false when tsconfig asks for legacy ones, which
    /// oxc lowers itself): `accessor` fields are lowered either way.
    pub(crate) standard: bool,
    /// The file is an ES module: helpers are imported (else required).
    pub(crate) module: bool,
}

/// What the passes over one file share.
#[derive(Default)]
pub(crate) struct Passes {
    /// Numbers the generated names.
    counter: usize,
    /// The helpers an earlier pass imported.
    imported: BTreeSet<&'static str>,
}

/// `program` (parsed from `source`) with its classes lowered, and the way
/// back; `None` when no class needs it.
///
/// # Errors
///
/// What cannot be lowered exactly: `super` in what the wrapping function
/// of a class evaluates when that also `yield`s (offsets in `source`).
pub(crate) fn lower(source: &str, program: &Program<'_>, options: Options, passes: &mut Passes) -> Result<Option<(String, Remap)>, FileError> {
    if !source.contains('@') && !source.contains("accessor") {
        return Ok(None);
    }
    let comments: Vec<Span> = program.comments.iter().map(|c| c.span).collect();
    let mut finder = Finder { source, options, counter: passes.counter, edits: Vec::new(), helpers: BTreeSet::new(), comments, error: None };
    finder.visit_program(program);
    passes.counter = finder.counter;
    if let Some(error) = finder.error {
        return Err(error);
    }
    if finder.edits.is_empty() {
        return Ok(None);
    }
    let mut edits = finder.edits;
    let new: Vec<&(&str, &str)> = HELPERS.iter().filter(|(l, _)| finder.helpers.contains(*l) && !passes.imported.contains(*l)).collect();
    if !new.is_empty() {
        let mut text = String::new();
        for (local, module) in new {
            passes.imported.insert(local);
            let specifier = format!("{}/helpers/{module}", crate::settings::HELPERS_MODULE);
            if options.module {
                text.push_str(&format!("import {local} from \"{specifier}\"; "));
            } else {
                text.push_str(&format!("var {local} = require(\"{specifier}\"); "));
            }
        }
        let at = program.hashbang.as_ref().map_or(0, |h| h.span.end);
        if at > 0 {
            text.insert(0, '\n');
        }
        edits.push(Edit { start: at, end: at, pieces: vec![Piece::New(text, at)] });
    }
    edits.sort_by_key(|e| (e.start, e.end));
    Ok(Some(assemble(source, edits)))
}

/// How a class stands in its program.
enum Form {
    /// `class C {}`, `export class C {}`.
    Declaration { export: bool, name: String },
    /// `export default class C? {}`.
    ExportDefault { name: Option<String> },
    /// A class expression, with the name it has or is given (`const X = class {}`).
    Expression { name: Option<String> },
}

struct Finder<'s> {
    source: &'s str,
    options: Options,
    counter: usize,
    edits: Vec<Edit>,
    helpers: BTreeSet<&'static str>,
    /// The program's comments (sorted), where a `class` is no keyword.
    comments: Vec<Span>,
    /// The first class that cannot be lowered.
    error: Option<FileError>,
}

impl Finder<'_> {
    fn needs(&self, class: &Class<'_>) -> bool {
        if class.declare {
            return false;
        }
        let standard = self.options.standard;
        (standard && !class.decorators.is_empty())
            || class.body.body.iter().any(|e| match e {
                ClassElement::AccessorProperty(_) => true,
                ClassElement::MethodDefinition(m) => standard && !m.decorators.is_empty(),
                ClassElement::PropertyDefinition(p) => standard && !p.decorators.is_empty(),
                _ => false,
            })
    }

    fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("__kiln_{what}{}", self.counter)
    }
}

fn first_start(decorators: &[Decorator<'_>], span: Span) -> u32 {
    decorators.first().map_or(span.start, |d| d.span.start.min(span.start))
}

impl<'a> Visit<'a> for Finder<'_> {
    fn visit_export_declaration(&mut self, it: &ExportDeclaration<'a>) {
        if let Declaration::ClassDeclaration(class) = &it.declaration
            && self.needs(class)
            && let Some(id) = &class.id
        {
            let start = first_start(&class.decorators, it.span);
            self.lower_class(class, Form::Declaration { export: true, name: id.name.to_string() }, start);
            return;
        }
        walk::walk_export_declaration(self, it);
    }

    fn visit_export_default_declaration(&mut self, it: &ExportDefaultDeclaration<'a>) {
        if let ExportDefaultDeclarationKind::ClassDeclaration(class) = &it.declaration
            && self.needs(class)
        {
            let start = first_start(&class.decorators, it.span);
            self.lower_class(class, Form::ExportDefault { name: class.id.as_ref().map(|id| id.name.to_string()) }, start);
            return;
        }
        walk::walk_export_default_declaration(self, it);
    }

    fn visit_variable_declarator(&mut self, it: &VariableDeclarator<'a>) {
        if let Some(Expression::ClassExpression(class)) = &it.init
            && class.id.is_none()
            && let BindingPattern::BindingIdentifier(id) = &it.id
            && self.needs(class)
        {
            let start = first_start(&class.decorators, class.span);
            self.lower_class(class, Form::Expression { name: Some(id.name.to_string()) }, start);
            return;
        }
        walk::walk_variable_declarator(self, it);
    }

    fn visit_class(&mut self, it: &Class<'a>) {
        if self.needs(it) {
            let name = it.id.as_ref().map(|id| id.name.to_string());
            let form = match (it.is_declaration(), name) {
                (true, Some(name)) => Form::Declaration { export: false, name },
                (_, name) => Form::Expression { name },
            };
            self.lower_class(it, form, first_start(&it.decorators, it.span));
            return;
        }
        walk::walk_class(self, it);
    }
}

/// How generated code names an element.
enum Key {
    /// `x`, `"a b"`, `1`: the property name, as a string literal.
    Public(String),
    /// `#x`.
    Private(String),
    /// A computed key, held in the variable named.
    Computed(String),
}

impl Key {
    /// `context.name`.
    fn name(&self) -> String {
        match self {
            Key::Public(s) => s.clone(),
            Key::Private(p) => js_string(p),
            Key::Computed(v) => v.clone(),
        }
    }

    /// `o` + the member access.
    fn member(&self, object: &str) -> String {
        match self {
            Key::Public(s) => format!("{object}[{s}]"),
            Key::Private(p) => format!("{object}.{p}"),
            Key::Computed(v) => format!("{object}[{v}]"),
        }
    }

    fn has(&self) -> String {
        match self {
            Key::Public(s) => format!("{s} in o"),
            Key::Private(p) => format!("{p} in o"),
            Key::Computed(v) => format!("{v} in o"),
        }
    }

    /// The `access` object of the context: which of get and set it has.
    fn access(&self, get: bool, set: bool) -> String {
        let mut parts = vec![format!("has: (o) => {}", self.has())];
        if get {
            parts.push(format!("get: (o) => {}", self.member("o")));
        }
        if set {
            parts.push(format!("set: (o, v) => {{ {} = v; }}", self.member("o")));
        }
        format!("{{ {} }}", parts.join(", "))
    }
}

/// The state of one class's lowering.
#[derive(Default)]
struct ClassWork {
    /// The IIFE's statements before the class, in evaluation order.
    prologue: Vec<Piece>,
    /// `__esDecorate` calls: static non-fields, instance non-fields,
    /// static fields, instance fields.
    decorate: [Vec<String>; 4],
    edits: Vec<Edit>,
    /// Instance / static method extra initializers are used.
    instance_extra: bool,
    static_extra: bool,
    /// The variable the class's heritage is evaluated into, and the span
    /// of the expression it replaces.
    heritage: Option<(String, Span)>,
}

impl Finder<'_> {
    fn text(&self, span: Span) -> &str {
        &self.source[span.start as usize..span.end as usize]
    }

    /// The offset of the `class` keyword of `class` (after any `export`,
    /// `default`, `abstract` and decorators).
    fn class_keyword(&self, class: &Class<'_>) -> u32 {
        let from = class.decorators.last().map_or(class.span.start, |d| d.span.end.max(class.span.start)) as usize;
        let until = class.body.span.start as usize;
        let text = &self.source[from..until];
        let bytes = text.as_bytes();
        let mut at = 0;
        while let Some(found) = text[at..].find("class") {
            let i = at + found;
            let before = i == 0 || !is_ident_byte(bytes[i - 1]);
            let after = bytes.get(i + 5).is_none_or(|b| !is_ident_byte(*b));
            let offset = (from + i) as u32;
            let in_comment = self.comments.iter().any(|c| c.start <= offset && offset < c.end);
            if before && after && !in_comment {
                return offset;
            }
            at = i + 5;
        }
        class.span.start
    }

    /// The decorators as an array literal.
    fn decorator_array(&self, decorators: &[Decorator<'_>], work: &mut ClassWork, var: &str) {
        work.prologue.push(Piece::New(format!("let {var} = ["), decorators[0].span.start));
        for (i, d) in decorators.iter().enumerate() {
            if i > 0 {
                work.prologue.push(Piece::New(", ".into(), d.span.start));
            }
            let span = d.expression.span();
            work.prologue.push(Piece::Orig(span.start, span.end));
        }
        work.prologue.push(Piece::New("]; ".into(), decorators[0].span.start));
    }

    /// Removes an element's decorators from the class body.
    fn drop_decorators(decorators: &[Decorator<'_>], work: &mut ClassWork) {
        if let (Some(first), Some(last)) = (decorators.first(), decorators.last()) {
            work.edits.push(Edit { start: first.span.start, end: last.span.end, pieces: Vec::new() });
        }
    }

    /// How generated code names the element of `key`; a computed key is
    /// evaluated once, in the prologue, when the class is wrapped.
    fn key(&mut self, key: &PropertyKey<'_>, computed: bool, wrap: bool, work: &mut ClassWork, edit: bool) -> Key {
        if let PropertyKey::PrivateIdentifier(p) = key {
            return Key::Private(format!("#{}", p.name));
        }
        if computed && wrap {
            let var = self.fresh("k");
            let span = key.span();
            self.helpers.insert("__propKey");
            work.prologue.push(Piece::New(format!("let {var} = __propKey("), span.start));
            work.prologue.push(Piece::Orig(span.start, span.end));
            work.prologue.push(Piece::New("); ".into(), span.start));
            if edit {
                work.edits.push(Edit { start: span.start, end: span.end, pieces: vec![Piece::New(var.clone(), span.start)] });
            }
            return Key::Computed(var);
        }
        match key.static_name() {
            Some(name) => Key::Public(js_string(&name)),
            // A computed key of a class that is not wrapped (legacy mode):
            // only an undecorated accessor's, which names it as written.
            None => Key::Public(js_string("")),
        }
    }

    fn context(kind: &str, key: &Key, is_static: bool, access: String) -> String {
        let private = matches!(key, Key::Private(_));
        format!(
            "{{ kind: \"{kind}\", name: {}, static: {is_static}, private: {private}, access: {access}, metadata: __kiln_metadata }}",
            key.name()
        )
    }

    fn lower_class(&mut self, class: &Class<'_>, form: Form, region_start: u32) {
        let standard = self.options.standard;
        let class_decorated = standard && !class.decorators.is_empty();
        let elements_decorated = standard
            && class.body.body.iter().any(|e| match e {
                ClassElement::MethodDefinition(m) => !m.decorators.is_empty(),
                ClassElement::PropertyDefinition(p) => !p.decorators.is_empty(),
                ClassElement::AccessorProperty(a) => !a.decorators.is_empty(),
                _ => false,
            });
        // A computed accessor key is evaluated once, in the wrapper, for the
        // getter and setter; not in legacy mode, where wrapping would take
        // the class's decorators from oxc.
        let computed_accessor = standard && class.body.body.iter().any(|e| matches!(e, ClassElement::AccessorProperty(a) if a.computed));
        let wrap = class_decorated || elements_decorated || computed_accessor;
        let mut work = ClassWork::default();
        if class_decorated {
            let var = self.fresh("classDecorators");
            self.decorator_array(&class.decorators, &mut work, &var);
            self.heritage(class, &mut work);
            self.lower_elements(class, wrap, &mut work);
            self.finish(class, form, region_start, Some(var), work);
        } else {
            if wrap {
                self.heritage(class, &mut work);
            }
            self.lower_elements(class, wrap, &mut work);
            if wrap {
                self.finish(class, form, region_start, None, work);
            } else {
                self.edits.append(&mut work.edits);
            }
        }
    }

    /// The class's heritage, evaluated in the prologue where the proposal
    /// (and tsc) evaluates it: after the class's decorators, before the
    /// elements' decorators and computed keys.
    fn heritage(&mut self, class: &Class<'_>, work: &mut ClassWork) {
        let Some(heritage) = &class.heritage else { return };
        let span = heritage.expression.span();
        let var = self.fresh("super");
        work.prologue.push(Piece::New(format!("let {var} = ("), span.start));
        work.prologue.push(Piece::Orig(span.start, span.end));
        work.prologue.push(Piece::New("); ".into(), span.end));
        work.heritage = Some((var, span));
    }

    fn lower_elements(&mut self, class: &Class<'_>, wrap: bool, work: &mut ClassWork) {
        let standard = self.options.standard;
        for element in &class.body.body {
            match element {
                ClassElement::MethodDefinition(m) => {
                    let decorated = standard
                        && !m.decorators.is_empty()
                        && m.kind != MethodDefinitionKind::Constructor
                        && m.r#type == MethodDefinitionType::MethodDefinition
                        && m.value.body.is_some();
                    if !decorated {
                        if wrap && m.computed {
                            self.key(&m.key, true, wrap, work, true);
                        }
                        continue;
                    }
                    let decorators = self.fresh("d");
                    self.decorator_array(&m.decorators, work, &decorators);
                    Self::drop_decorators(&m.decorators, work);
                    let key = self.key(&m.key, m.computed, wrap, work, true);
                    let (kind, slot, get, set) = match m.kind {
                        MethodDefinitionKind::Get => ("getter", "get", true, false),
                        MethodDefinitionKind::Set => ("setter", "set", false, true),
                        _ => ("method", "value", true, false),
                    };
                    let extra = if m.r#static {
                        work.static_extra = true;
                        "__kiln_staticExtra"
                    } else {
                        work.instance_extra = true;
                        "__kiln_instanceExtra"
                    };
                    let context = Self::context(kind, &key, m.r#static, key.access(get, set));
                    self.helpers.insert("__esDecorate");
                    let group = usize::from(!m.r#static);
                    if let Key::Private(private) = &key {
                        // A private method is out of reach of the static
                        // block: it becomes a static private method there,
                        // and `#name` a getter (or accessor) over what the
                        // decorators make of it.
                        let implementation = format!("#{}", self.fresh("m"));
                        let descriptor = self.fresh("desc");
                        let after_decorators = m.decorators.last().map_or(m.span.start, |d| d.span.end);
                        let mut head = String::from("static ");
                        if m.value.r#async {
                            head.push_str("async ");
                        }
                        if m.value.generator {
                            head.push('*');
                        }
                        head.push_str(&implementation);
                        let key_span = m.key.span();
                        work.edits.push(Edit { start: after_decorators, end: key_span.end, pieces: vec![Piece::New(head, key_span.start)] });
                        let is_static = if m.r#static { "static " } else { "" };
                        let replacement = match m.kind {
                            MethodDefinitionKind::Get => format!("{is_static}get {private}() {{ return {descriptor}.get.call(this); }}"),
                            MethodDefinitionKind::Set => format!("{is_static}set {private}(v) {{ {descriptor}.set.call(this, v); }}"),
                            _ => format!("{is_static}get {private}() {{ return {descriptor}.value; }}"),
                        };
                        work.edits.push(Edit { start: m.span.end, end: m.span.end, pieces: vec![Piece::New(format!(" {replacement}"), m.span.end)] });
                        work.prologue.push(Piece::New(format!("let {descriptor}; "), m.span.start));
                        work.decorate[group].push(format!(
                            "__esDecorate(null, {descriptor} = {{ {slot}: this.{implementation} }}, {decorators}, {context}, null, {extra});"
                        ));
                    } else {
                        work.decorate[group].push(format!("__esDecorate(this, null, {decorators}, {context}, null, {extra});"));
                    }
                }
                ClassElement::PropertyDefinition(p) => {
                    let decorated = standard && !p.decorators.is_empty() && p.r#type == PropertyDefinitionType::PropertyDefinition && !p.declare;
                    if !decorated {
                        if wrap && p.computed {
                            self.key(&p.key, true, wrap, work, true);
                        }
                        continue;
                    }
                    let decorators = self.fresh("d");
                    let initializers = self.fresh("init");
                    let extra = self.fresh("extra");
                    self.decorator_array(&p.decorators, work, &decorators);
                    work.prologue.push(Piece::New(format!("let {initializers} = [], {extra} = []; "), p.span.start));
                    Self::drop_decorators(&p.decorators, work);
                    let key = self.key(&p.key, p.computed, wrap, work, true);
                    self.helpers.insert("__esDecorate");
                    self.helpers.insert("__runInitializers");
                    match &p.value {
                        Some(value) => {
                            let span = value.span();
                            let open = format!("__runInitializers(this, {initializers}, ");
                            work.edits.push(Edit { start: span.start, end: span.start, pieces: vec![Piece::New(open, span.start)] });
                            work.edits.push(Edit { start: span.end, end: span.end, pieces: vec![Piece::New(")".into(), span.end)] });
                        }
                        None => {
                            if p.definite {
                                // `x!: T` cannot have the initializer it is given.
                                let from = p.key.span().end;
                                let until = p.type_annotation.as_ref().map_or(p.span.end, |t| t.span.start);
                                if let Some(bang) = self.source[from as usize..until as usize].find('!') {
                                    let at = from + bang as u32;
                                    work.edits.push(Edit { start: at, end: at + 1, pieces: Vec::new() });
                                }
                            }
                            let end = self.before_semicolon(p.span);
                            let init = format!(" = __runInitializers(this, {initializers}, void 0)");
                            work.edits.push(Edit { start: end, end, pieces: vec![Piece::New(init, end)] });
                        }
                    }
                    let after = self.extra_after(p.r#static, &extra);
                    work.edits.push(Edit { start: p.span.end, end: p.span.end, pieces: vec![Piece::New(after, p.span.end)] });
                    let context = Self::context("field", &key, p.r#static, key.access(true, true));
                    let group = if p.r#static { 2 } else { 3 };
                    work.decorate[group].push(format!("__esDecorate(null, null, {decorators}, {context}, {initializers}, {extra});"));
                }
                ClassElement::AccessorProperty(a) => {
                    let mut start = first_start(&a.decorators, a.span);
                    if a.r#type == AccessorPropertyType::TSAbstractAccessorProperty {
                        work.edits.push(Edit { start, end: a.span.end, pieces: Vec::new() });
                        continue;
                    }
                    let decorated = standard && !a.decorators.is_empty();
                    if let Some(last) = a.decorators.last().filter(|_| !standard) {
                        // Legacy decorators stay, on the getter and setter
                        // that come first: oxc applies them to that pair's
                        // descriptor, as tsc does for an accessor field.
                        start = last.span.end;
                    }
                    let mut pieces = Vec::new();
                    let mut storage_pieces = Vec::new();
                    let (decorators, initializers, extra) = if decorated {
                        let names = (self.fresh("d"), self.fresh("init"), self.fresh("extra"));
                        self.decorator_array(&a.decorators, work, &names.0);
                        work.prologue.push(Piece::New(format!("let {} = [], {} = []; ", names.1, names.2), a.span.start));
                        self.helpers.insert("__esDecorate");
                        self.helpers.insert("__runInitializers");
                        (names.0, names.1, names.2)
                    } else {
                        Default::default()
                    };
                    // The accessor's edit replaces the whole element: no edit of the key.
                    let key = self.key(&a.key, a.computed, wrap, work, false);
                    // The key as written, for the getter and setter (a
                    // computed one through its variable; in a class that is
                    // not wrapped, legacy mode, the expression is evaluated
                    // for each).
                    let key_span = a.key.span();
                    let computed = a.computed;
                    let key_piece = |key: &Key| match key {
                        Key::Computed(var) => vec![Piece::New(format!("[{var}]"), key_span.start)],
                        _ if computed => vec![
                            Piece::New("[".into(), key_span.start),
                            Piece::Orig(key_span.start, key_span.end),
                            Piece::New("]".into(), key_span.end),
                        ],
                        _ => vec![Piece::Orig(key_span.start, key_span.end)],
                    };
                    let storage = format!("#{}", self.fresh("s"));
                    let is_static = if a.r#static { "static " } else { "" };
                    storage_pieces.push(Piece::New(format!("{is_static}{storage} = "), a.span.start));
                    if decorated {
                        storage_pieces.push(Piece::New(format!("__runInitializers(this, {initializers}, "), a.span.start));
                    }
                    match &a.value {
                        Some(value) => {
                            let span = value.span();
                            storage_pieces.push(Piece::Orig(span.start, span.end));
                        }
                        None => storage_pieces.push(Piece::New("void 0".into(), a.span.start)),
                    }
                    storage_pieces.push(Piece::New(if decorated { ");".into() } else { ";".into() }, a.span.end));
                    if decorated {
                        storage_pieces.push(Piece::New(self.extra_after(a.r#static, &extra), a.span.end));
                    }
                    let private_decorated = decorated && matches!(key, Key::Private(_));
                    let descriptor = if private_decorated { self.fresh("desc") } else { String::new() };
                    let (get_body, set_body) = if private_decorated {
                        (format!("return {descriptor}.get.call(this);"), format!("{descriptor}.set.call(this, v);"))
                    } else {
                        (format!("return this.{storage};"), format!("this.{storage} = v;"))
                    };
                    pieces.push(Piece::New(format!(" {is_static}get "), a.span.start));
                    pieces.extend(key_piece(&key));
                    pieces.push(Piece::New(format!("() {{ {get_body} }} {is_static}set "), a.span.start));
                    pieces.extend(key_piece(&key));
                    pieces.push(Piece::New(format!("(v) {{ {set_body} }} "), a.span.end));
                    pieces.append(&mut storage_pieces);
                    work.edits.push(Edit { start, end: a.span.end, pieces });
                    if decorated {
                        let context = Self::context("accessor", &key, a.r#static, key.access(true, true));
                        let group = usize::from(!a.r#static);
                        if private_decorated {
                            work.prologue.push(Piece::New(format!("let {descriptor}; "), a.span.start));
                            work.decorate[group].push(format!(
                                "__esDecorate(null, {descriptor} = {{ get: function () {{ return this.{storage}; }}, set: function (v) {{ this.{storage} = v; }} }}, {decorators}, {context}, {initializers}, {extra});"
                            ));
                        } else {
                            work.decorate[group].push(format!("__esDecorate(this, null, {decorators}, {context}, {initializers}, {extra});"));
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// What runs a field's extra initializers right after it is defined.
    fn extra_after(&mut self, is_static: bool, extra: &str) -> String {
        if is_static {
            format!("; static {{ __runInitializers(this, {extra}); }}")
        } else {
            let slot = self.fresh("e");
            format!("; #{slot} = __runInitializers(this, {extra});")
        }
    }

    /// The end of an element, before its `;` if it has one.
    fn before_semicolon(&self, span: Span) -> u32 {
        let text = self.text(span);
        if text.ends_with(';') { span.end - 1 } else { span.end }
    }

    /// Wraps the class: the IIFE, its prologue, the decorating static block.
    fn finish(&mut self, class: &Class<'_>, form: Form, region_start: u32, class_decorators: Option<String>, mut work: ClassWork) {
        let body_open = class.body.span.start;
        let body_close = class.body.span.end.saturating_sub(1);
        let keyword = self.class_keyword(class);
        let (inner, outer, context_name, anonymous) = match &form {
            Form::Declaration { name, .. } => (name.clone(), Some(name.clone()), js_string(name), false),
            Form::ExportDefault { name: Some(name) } => (name.clone(), Some(name.clone()), js_string(name), false),
            Form::ExportDefault { name: None } => {
                let var = self.fresh("default");
                (var.clone(), Some(var), js_string("default"), true)
            }
            Form::Expression { name: Some(name) } => (name.clone(), None, js_string(name), false),
            Form::Expression { name: None } => (self.fresh("class"), None, js_string(""), true),
        };
        // What the function evaluates (decorators, computed keys, the
        // heritage) is evaluated where the class stands: with `await` (top
        // level of a module, an async function) the function is async and
        // awaited; with `yield` it is a generator the enclosing one
        // delegates to, called with its `this` and `arguments` (an arrow
        // function keeps them, a generator function has its own).
        let scan = scan(class);
        let (open_iife, close_iife) = match (scan.yields, scan.awaits) {
            (false, false) => ("(() => { ", "})()"),
            (false, true) => ("(await (async () => { ", "})())"),
            (true, false) => ("(yield* (function* () { ", "}).apply(this, arguments))"),
            (true, true) => ("(yield* (async function* () { ", "}).apply(this, arguments))"),
        };
        if scan.yields
            && let Some(at) = scan.super_at
            && self.error.is_none()
        {
            // A generator function has no `super` of its own, and no arrow
            // function can yield.
            self.error = Some(FileError {
                span: Some(Span::new(at, at + 5)),
                message: "`super` in a decorator, computed key or `extends` clause of a class whose decorators or keys also `yield` is not supported: Kiln evaluates them in a generator function, where `super` means nothing; read it into a variable before the class".into(),
            });
        }
        let mut head = String::new();
        match &form {
            Form::Declaration { export: true, .. } => head.push_str(&format!("export let {inner} = {open_iife}")),
            Form::Declaration { .. } | Form::ExportDefault { .. } => {
                head.push_str(&format!("let {} = {open_iife}", outer.as_deref().unwrap_or(&inner)))
            }
            Form::Expression { .. } => head.push_str(open_iife),
        }
        let mut pieces = vec![Piece::New(head, region_start)];
        pieces.append(&mut work.prologue);
        let mut lets = vec!["__kiln_metadata".to_string()];
        if work.instance_extra {
            lets.push("__kiln_instanceExtra = []".into());
        }
        if work.static_extra {
            lets.push("__kiln_staticExtra = []".into());
        }
        if class_decorators.is_some() {
            lets.push("__kiln_classDescriptor".into());
            lets.push("__kiln_classExtra = []".into());
            lets.push("__kiln_classThis".into());
        }
        // `var NAME = class` names the class NAME; an anonymous one stays
        // anonymous through `(0, class {})`.
        let open = if anonymous { "(0, " } else { "" };
        pieces.push(Piece::New(format!("let {}; var {inner} = {open}", lets.join(", ")), keyword));
        // The head as written, less the name (and the heritage, evaluated
        // in the prologue).
        let mut head_ranges = match &class.id {
            Some(id) => vec![(keyword, id.span.start), (id.span.end, body_open)],
            None => vec![(keyword, body_open)],
        };
        if let Some((var, span)) = &work.heritage {
            let last = head_ranges.len() - 1;
            let (start, end) = head_ranges[last];
            head_ranges[last] = (start, span.start);
            for (start, end) in head_ranges {
                pieces.push(Piece::Orig(start, end));
            }
            pieces.push(Piece::New(var.clone(), span.start));
            pieces.push(Piece::Orig(span.end, end));
        } else {
            for (start, end) in head_ranges {
                pieces.push(Piece::Orig(start, end));
            }
        }
        self.helpers.insert("__esMetadata");
        let mut block = String::from("{ static { __kiln_metadata = __esMetadata(this); ");
        if matches!(form, Form::ExportDefault { name: None }) {
            block.push_str("Object.defineProperty(this, \"name\", { value: \"default\", configurable: true }); ");
        }
        for call in work.decorate.iter().flatten() {
            block.push_str(call);
            block.push(' ');
        }
        let this = if let Some(decorators) = &class_decorators {
            self.helpers.insert("__esDecorate");
            block.push_str(&format!(
                "__esDecorate(null, __kiln_classDescriptor = {{ value: this }}, {decorators}, {{ kind: \"class\", name: {context_name}, metadata: __kiln_metadata }}, null, __kiln_classExtra); {inner} = __kiln_classThis = __kiln_classDescriptor.value; "
            ));
            "__kiln_classThis"
        } else {
            "this"
        };
        block.push_str(&format!("__esMetadata({this}, __kiln_metadata); "));
        if work.static_extra {
            self.helpers.insert("__runInitializers");
            block.push_str("__runInitializers(this, __kiln_staticExtra); ");
        }
        block.push_str("} ");
        if work.instance_extra {
            self.helpers.insert("__runInitializers");
            let slot = self.fresh("e");
            block.push_str(&format!("#{slot} = __runInitializers(this, __kiln_instanceExtra); "));
        }
        pieces.push(Piece::New(block, body_open));
        self.edits.push(Edit { start: region_start, end: body_open + 1, pieces });
        self.edits.append(&mut work.edits);

        let mut tail = String::new();
        if class_decorators.is_some() {
            self.helpers.insert("__runInitializers");
            tail.push_str(" static { __runInitializers(__kiln_classThis, __kiln_classExtra); } ");
        }
        tail.push('}');
        if anonymous {
            tail.push(')');
        }
        // The static block gave `inner` the decorated class, but the class
        // expression's own value is assigned to it after the block ran.
        if class_decorators.is_some() {
            tail.push_str(&format!("; return {inner} = __kiln_classThis; {close_iife}"));
        } else {
            tail.push_str(&format!("; return {inner}; {close_iife}"));
        }
        match &form {
            Form::Declaration { .. } => tail.push(';'),
            Form::ExportDefault { .. } => tail.push_str(&format!("; export {{ {} as default }};", outer.as_deref().unwrap_or(&inner))),
            Form::Expression { .. } => {}
        }
        self.edits.push(Edit { start: body_close, end: class.span.end, pieces: vec![Piece::New(tail, body_close)] });
    }
}

/// What the wrapping function of `class` evaluates (its decorators,
/// computed keys and heritage) uses, outside functions of its own.
#[derive(Default)]
struct Scan {
    awaits: bool,
    yields: bool,
    /// The first `super` (arrow functions keep the enclosing one).
    super_at: Option<u32>,
}

fn scan(class: &Class<'_>) -> Scan {
    struct Scanner {
        scan: Scan,
        /// Inside an arrow function: `await` and `yield` there are its own
        /// (or errors), `super` is still the enclosing one's.
        arrows: usize,
    }
    impl<'a> Visit<'a> for Scanner {
        fn visit_await_expression(&mut self, it: &oxc_ast::ast::AwaitExpression<'a>) {
            if self.arrows == 0 {
                self.scan.awaits = true;
            }
            walk::walk_await_expression(self, it);
        }
        fn visit_yield_expression(&mut self, it: &oxc_ast::ast::YieldExpression<'a>) {
            if self.arrows == 0 {
                self.scan.yields = true;
            }
            walk::walk_yield_expression(self, it);
        }
        fn visit_super(&mut self, it: &oxc_ast::ast::Super) {
            self.scan.super_at.get_or_insert(it.span.start);
        }
        fn visit_function(&mut self, _: &oxc_ast::ast::Function<'a>, _: oxc_semantic::ScopeFlags) {}
        fn visit_arrow_function_expression(&mut self, it: &oxc_ast::ast::ArrowFunctionExpression<'a>) {
            self.arrows += 1;
            walk::walk_arrow_function_expression(self, it);
            self.arrows -= 1;
        }
        // A nested class evaluates its own decorators and computed keys
        // where it stands; the rest of its body runs later.
        fn visit_class_body(&mut self, it: &oxc_ast::ast::ClassBody<'a>) {
            for element in &it.body {
                class_element_heads(element, self);
            }
        }
    }
    let mut scanner = Scanner { scan: Scan::default(), arrows: 0 };
    for d in &class.decorators {
        scanner.visit_decorator(d);
    }
    if let Some(heritage) = &class.heritage {
        scanner.visit_expression(&heritage.expression);
    }
    for element in &class.body.body {
        class_element_heads(element, &mut scanner);
    }
    scanner.scan
}

/// Visits what a class element evaluates when the class is defined: its
/// decorators and computed key.
fn class_element_heads<'a, V: Visit<'a>>(element: &ClassElement<'a>, visitor: &mut V) {
    let (decorators, key, computed) = match element {
        ClassElement::MethodDefinition(m) => (&m.decorators, &m.key, m.computed),
        ClassElement::PropertyDefinition(p) => (&p.decorators, &p.key, p.computed),
        ClassElement::AccessorProperty(a) => (&a.decorators, &a.key, a.computed),
        _ => return,
    };
    for d in decorators {
        visitor.visit_decorator(d);
    }
    if computed {
        visitor.visit_property_key(key);
    }
}

/// For a parse error at `offset` on `yield` or `await` in a (legacy)
/// parameter decorator, what to tell the user: oxc's parser takes a
/// parameter's decorators for part of the parameter list, where neither
/// the generator's `yield` nor the async function's `await` is allowed
/// (tsc accepts both, evaluating them after the class).
pub(crate) fn parameter_decorator_error(program: &Program<'_>, source: &str, offset: u32) -> Option<String> {
    struct Find {
        offset: u32,
        found: bool,
    }
    impl<'a> Visit<'a> for Find {
        fn visit_formal_parameter(&mut self, it: &oxc_ast::ast::FormalParameter<'a>) {
            if it.decorators.iter().any(|d| d.span.start <= self.offset && self.offset < d.span.end) {
                self.found = true;
            }
            walk::walk_formal_parameter(self, it);
        }
    }
    let word = source.get(offset as usize..).and_then(|rest| ["yield", "await"].into_iter().find(|w| rest.starts_with(w)))?;
    let mut find = Find { offset, found: false };
    find.visit_program(program);
    find.found.then(|| {
        format!(
            "`{word}` in a parameter decorator is not supported: the parser Kiln uses (oxc) reads a parameter's decorators as part of the parameter list, where `{word}` is not allowed; compute the decorator before the class (`const d = {word} …;`) and write `@d`"
        )
    })
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn js_string(s: &str) -> String {
    crate::cjs::js_string(s)
}

/// The helper modules' text, by module name (`esDecorate`, ...).
pub(crate) fn helper(name: &str) -> Option<&'static str> {
    Some(match name {
        "esDecorate" => ES_DECORATE,
        "runInitializers" => RUN_INITIALIZERS,
        "propKey" => PROP_KEY,
        "esMetadata" => ES_METADATA,
        _ => return None,
    })
}

/// Applies an element's (or the class's) decorators, innermost first, each
/// with a fresh context whose `addInitializer` works only while that
/// decorator runs; defines the result on the class or its prototype unless
/// the caller holds the descriptor itself (private elements, the class).
const ES_DECORATE: &str = r#"function callable(f, what) {
  if (typeof f !== "function") throw new TypeError(what + " must be a function");
  return f;
}
export default function esDecorate(ctor, descriptorIn, decorators, contextIn, initializers, extraInitializers) {
  const kind = contextIn.kind;
  const home = descriptorIn || !ctor ? undefined : contextIn.static ? ctor : ctor.prototype;
  const descriptor = descriptorIn || (home ? Object.getOwnPropertyDescriptor(home, contextIn.name) : {});
  const slot = kind === "getter" ? "get" : kind === "setter" ? "set" : "value";
  for (let i = decorators.length - 1; i >= 0; i--) {
    let running = true;
    const context = { ...contextIn };
    if (contextIn.access) context.access = { ...contextIn.access };
    context.addInitializer = (initializer) => {
      if (!running) throw new TypeError("addInitializer: the decorator has already returned");
      extraInitializers.push(callable(initializer, "an initializer"));
    };
    const value = kind === "field" ? undefined : kind === "accessor" ? { get: descriptor.get, set: descriptor.set } : descriptor[slot];
    let result;
    try {
      result = (0, decorators[i])(value, context);
    } finally {
      running = false;
    }
    if (result === undefined) continue;
    if (kind === "accessor") {
      if (result === null || typeof result !== "object") throw new TypeError("an accessor decorator must return an object or undefined");
      if (result.get !== undefined) descriptor.get = callable(result.get, "accessor get");
      if (result.set !== undefined) descriptor.set = callable(result.set, "accessor set");
      if (result.init !== undefined) initializers.unshift(callable(result.init, "accessor init"));
    } else if (kind === "field") {
      initializers.unshift(callable(result, "a field decorator's result"));
    } else {
      descriptor[slot] = callable(result, "a " + kind + " decorator's result");
    }
  }
  if (home) Object.defineProperty(home, contextIn.name, descriptor);
}
"#;

/// Runs initializers on `thisArg`: with a value, each maps it to the next.
const RUN_INITIALIZERS: &str = r#"export default function runInitializers(thisArg, initializers, value) {
  const chained = arguments.length > 2;
  for (let i = 0; i < initializers.length; i++) {
    const result = initializers[i].call(thisArg, value);
    if (chained) value = result;
  }
  return chained ? value : undefined;
}
"#;

/// ToPropertyKey, as a computed key evaluates it (once).
const PROP_KEY: &str = r#"export default function propKey(key) {
  return typeof key === "symbol" ? key : Reflect.ownKeys({ [key]: 0 })[0];
}
"#;

/// `context.metadata`: a new object inheriting the parent class's; with
/// `metadata`, defines it as `Symbol.metadata` of the class (where the
/// engine has that symbol).
const ES_METADATA: &str = r#"export default function esMetadata(ctor, metadata) {
  const key = typeof Symbol === "function" ? Symbol.metadata : undefined;
  if (metadata === undefined) {
    const parent = key === undefined ? undefined : Object.getPrototypeOf(ctor)?.[key];
    return Object.create(parent ?? null);
  }
  if (key !== undefined) Object.defineProperty(ctor, key, { enumerable: true, configurable: true, writable: true, value: metadata });
}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use oxc_allocator::Allocator;
    use oxc_parser::Parser;
    use oxc_span::SourceType;

    fn run(source: &str, standard: bool) -> Option<(String, Remap)> {
        let allocator = Allocator::default();
        let parsed = Parser::new(&allocator, source, SourceType::ts()).parse();
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        lower(source, &parsed.program, Options { standard, module: true }, &mut Passes::default()).expect("lowered")
    }

    #[test]
    fn classes_without_decorators_or_accessors_are_left_alone() {
        assert!(run("class A { x = 1; m() {} } // @see accessor\n", true).is_none());
    }

    #[test]
    fn an_accessor_becomes_private_storage_with_a_getter_and_setter() {
        let (text, _) = run("class A {\n  static accessor n: number = 1;\n}\n", true).unwrap();
        assert!(text.contains(" static get n() { return this.#__kiln_s1; } static set n(v) { this.#__kiln_s1 = v; } static #__kiln_s1 = 1;"), "{text}");
        assert!(!text.contains("import"), "no helper for a plain accessor: {text}");
    }

    #[test]
    fn the_class_keyword_is_not_found_in_a_comment() {
        let (text, _) = run("@d /* the class */ class A { @d m() {} }\n", true).unwrap();
        assert!(text.contains("var A = class  { static {") && !text.contains("the class */"), "{text}");
    }

    #[test]
    fn await_in_a_decorator_makes_the_wrapper_async() {
        let source = "@(await load()) export class A { accessor [await key()] = 1; m() { return async () => await 1; } }\n";
        let (text, _) = run(source, true).unwrap();
        assert!(text.contains("export let A = (await (async () => { "), "{text}");
        let allocator = Allocator::default();
        let parsed = Parser::new(&allocator, &text, SourceType::ts()).parse();
        assert!(parsed.diagnostics.is_empty(), "{:?}\n{text}", parsed.diagnostics);
        // Without await, the function stays synchronous.
        let (text, _) = run("@d class B { m() { return async () => await 1; } }\n", true).unwrap();
        assert!(text.contains("let B = (() => { "), "{text}");
    }

    fn parses(text: &str) {
        let allocator = Allocator::default();
        let parsed = Parser::new(&allocator, text, SourceType::ts()).parse();
        assert!(parsed.diagnostics.is_empty(), "{:?}\n{text}", parsed.diagnostics);
    }

    #[test]
    fn yield_in_a_decorator_makes_the_wrapper_a_delegated_generator() {
        let source = "function* g() { @(yield 1) class A { @(yield 2) [yield 3]() {} } }\n";
        let (text, _) = run(source, true).unwrap();
        assert!(text.contains("let A = (yield* (function* () { let __kiln_classDecorators1 = [(yield 1)];"), "{text}");
        assert!(text.contains("}).apply(this, arguments));"), "this and arguments are the generator's: {text}");
        parses(&text);
        // `yield` and `await` together: an async generator.
        let (text, _) = run("async function* g() { @(await d) class A { @(yield 2) m() {} } }\n", true).unwrap();
        assert!(text.contains("let A = (yield* (async function* () { "), "{text}");
        parses(&text);
        // A `yield` in a method's body is not the wrapper's.
        let (text, _) = run("function* g() { @d class A { *m() { yield 1; } } }\n", true).unwrap();
        assert!(text.contains("let A = (() => { "), "{text}");
    }

    #[test]
    fn super_beside_yield_is_an_error_at_the_super() {
        let source = "class B extends C { static *g() { @(yield 1) class A { @(super.d) m() {} } } }\n";
        let allocator = Allocator::default();
        let parsed = Parser::new(&allocator, source, SourceType::ts()).parse();
        let error = lower(source, &parsed.program, Options { standard: true, module: true }, &mut Passes::default()).expect_err("an error");
        assert_eq!(error.span.map(|s| s.start as usize), source.find("super"));
        // In an arrow function `super` is still the method's: also an error.
        let source = "class B extends C { static *g() { @(yield 1) class A { @((() => super.d)()) m() {} } } }\n";
        let parsed = Parser::new(&allocator, source, SourceType::ts()).parse();
        assert!(lower(source, &parsed.program, Options { standard: true, module: true }, &mut Passes::default()).is_err());
        // Without `yield` the wrapper is an arrow function, where `super` works.
        assert!(run("class B extends C { static m() { @(super.d) class A {} } }\n", true).is_some());
    }

    #[test]
    fn the_heritage_is_evaluated_after_the_class_decorators_and_before_the_elements() {
        let source = "@c class A extends (h(), B)<T> { @m [k()]() {} }\n";
        let (text, remap) = run(source, true).unwrap();
        let decorators = text.find("[c]").unwrap();
        let heritage = text.find("let __kiln_super2 = ((h(), B)); ").expect("the heritage in the prologue");
        let element = text.find("[m]").unwrap();
        assert!(decorators < heritage && heritage < element, "{text}");
        assert!(text.contains(" extends __kiln_super2<T> {"), "{text}");
        parses(&text);
        let at = text.find("h()").unwrap() as u32;
        assert_eq!(remap.original(at) as usize, source.find("h()").unwrap());
        // Only element decorators: the heritage still comes first.
        let (text, _) = run("class A extends (h(), B) { @m x = 1; }\n", true).unwrap();
        assert!(text.find("let __kiln_super").unwrap() < text.find("[m]").unwrap(), "{text}");
    }

    #[test]
    fn yield_and_await_in_a_parameter_decorator_are_explained() {
        for (source, word) in [("function* g() { class A { m(@(yield d) x) {} } }\n", "yield"), ("async function g() { class A { m(@(await d) x) {} } }\n", "await")] {
            let allocator = Allocator::default();
            let parsed = Parser::new(&allocator, source, SourceType::ts()).parse();
            assert!(!parsed.diagnostics.is_empty());
            let at = source.find(word).unwrap() as u32;
            let message = parameter_decorator_error(&parsed.program, source, at).expect("explained");
            assert!(message.contains(&format!("`{word}` in a parameter decorator")), "{message}");
            assert!(parameter_decorator_error(&parsed.program, source, at - 2).is_none());
        }
    }

    #[test]
    fn legacy_mode_keeps_class_decorators_beside_a_computed_accessor() {
        let (text, _) = run("@d class A { accessor [k] = 1; }\n", false).unwrap();
        assert!(text.starts_with("@d class A {"), "{text}");
        assert!(text.contains(" get [k]() { return this.#__kiln_s1; } set [k](v) { this.#__kiln_s1 = v; } #__kiln_s1 = 1;"), "{text}");
    }

    #[test]
    fn legacy_mode_leaves_decorators_to_oxc() {
        assert!(run("@d class A { @m x() {} }\n", false).is_none());
    }

    #[test]
    fn decorated_classes_are_wrapped_and_positions_map_back() {
        let source = "@dec class A {\n  @m run() { return 1; }\n}\n";
        let (text, remap) = run(source, true).unwrap();
        assert!(text.starts_with("import __esDecorate from \"kiln:runtime/helpers/esDecorate\";"), "{text}");
        assert!(text.contains("let A = (() => { let __kiln_classDecorators1 = [dec];"), "{text}");
        // The method's body is the original text, and maps back to it.
        let at = text.find("return 1").unwrap() as u32;
        assert_eq!(remap.original(at) as usize, source.find("return 1").unwrap());
        let dec = text.find("[dec]").unwrap() as u32 + 1;
        assert_eq!(remap.original(dec) as usize, source.find("dec").unwrap());
    }
}
