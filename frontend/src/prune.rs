//! What a build leaves out: the modules of packages that declare
//! `"sideEffects": false` (see [`crate::resolve`]) whose exports nothing
//! uses, as rolldown, esbuild and webpack leave them out.
//!
//! `import { format } from "date-fns"` reaches date-fns' index, which
//! re-exports (`export * from "./add.js"`, ...) some 800 modules; `format`
//! needs about 50 of them. The rest would be compiled into the module and
//! evaluated at every build for nothing.
//!
//! The rules:
//!
//! - A module that is not declared free of side effects is always kept,
//!   and so is every module from which one is reachable (by any import,
//!   `export ... from`, `import()` or `require`): evaluating it runs the
//!   one with effects, which must still run, in the same order. The entry
//!   is always kept, with all its exports (function mode calls them).
//! - A kept module uses what its `import` declarations bind (`*`: the whole
//!   namespace), and the whole of what it `import()`s or `require`s.
//! - A name used of a module keeps the module and is followed through its
//!   re-exports to the module that declares it: `export { a as b } from`,
//!   `export * as ns from` (the target's whole namespace), and `export *
//!   from` — into every target that exports the name, so that a name two
//!   `export *` targets provide stays as ambiguous as it was. A name the
//!   module declares itself shadows its `export *` ones, as in the
//!   language.
//! - Using the whole of a module (a namespace, `import()`, `require`) uses
//!   every name it exports, re-exports included. A module whose exports are
//!   not known statically (CommonJS, JSON, text, a file that did not parse)
//!   is used whole or not at all.
//!
//! What is left out is never evaluated: nothing observable changes, since
//! its package promises that evaluating it does nothing but define its
//! bindings, and nothing reads them. A kept module's `export ... from` of
//! a left-out one (and its `import "x"` of one) still has to link: the
//! front end points it at a stub exporting the names its `export { ... }
//! from` statements take (see [`Pruned::stub_names`]), which nobody reads.
//! A name such a statement takes that the target does not export keeps the
//! target, so the link error the program has stays.

use crate::transform::Reexport;
use std::collections::{BTreeSet, HashSet};

/// The names of the stubs left-out modules are linked to start with this
/// (`kiln:unused` itself exports nothing).
pub const UNUSED_PREFIX: &str = "kiln:unused/";

/// The text of a stub exporting `names`: one binding, never read, under
/// each name.
pub(crate) fn stub(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        return "export {};\n".into();
    }
    let exported: Vec<String> = names.iter().map(|name| format!("unused as {}", export_name(name))).collect();
    format!("let unused;\nexport {{ {} }};\n", exported.join(", "))
}

/// `name` as an export name: itself when it is an identifier name (reserved
/// words included, as `default`), else a string literal.
fn export_name(name: &str) -> String {
    let mut chars = name.chars();
    let identifier = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$') && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    if identifier { name.to_string() } else { serde_json::to_string(name).unwrap_or_else(|_| format!("{name:?}")) }
}

/// What pruning knows of a module.
#[derive(Debug, Clone)]
pub(crate) struct Module {
    /// Its package declares it free of side effects.
    pub(crate) free: bool,
    /// The names it exports from its own bindings; `None` when they are not
    /// known statically.
    pub(crate) exports: Option<Vec<String>>,
}

/// How an edge uses its target.
#[derive(Debug, Clone)]
pub(crate) enum Use {
    /// A static `import`: the names it binds (`*` for a namespace); none
    /// for `import "x"`.
    Import(Vec<String>),
    /// `export ... from`.
    Reexport(Reexport),
    /// `import()` or `require()`: the whole module, when it runs.
    Whole,
}

/// One request of one module.
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) uses: Use,
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pruned {
    /// Per module: it stays in the build.
    pub(crate) keep: Vec<bool>,
    /// Per edge, when it goes from a kept module to a left-out one: the
    /// names a stub standing for the target must export for the importer
    /// to link (what its `export { ... } from` takes; none for `export *`,
    /// `export * as ns` or `import "x"`).
    pub(crate) stub_names: Vec<Option<BTreeSet<String>>>,
}

enum Task {
    Keep(usize),
    Name(usize, String),
    Whole(usize),
}

struct State<'a> {
    modules: &'a [Module],
    edges: &'a [Edge],
    /// Edge indices by importer.
    out: Vec<Vec<usize>>,
    kept: Vec<bool>,
    whole: Vec<bool>,
    named: HashSet<(usize, String)>,
    tasks: Vec<Task>,
}

/// Which modules stay, starting from `entry`.
pub(crate) fn prune(modules: &[Module], edges: &[Edge], entry: usize) -> Pruned {
    let mut out = vec![Vec::new(); modules.len()];
    let mut into = vec![Vec::new(); modules.len()];
    for (i, edge) in edges.iter().enumerate() {
        out[edge.from].push(i);
        into[edge.to].push(edge.from);
    }
    // Modules with effects, and every module that reaches one.
    let mut pinned: Vec<bool> = modules.iter().enumerate().map(|(i, m)| !m.free || i == entry).collect();
    let mut stack: Vec<usize> = (0..modules.len()).filter(|&i| pinned[i]).collect();
    while let Some(m) = stack.pop() {
        for &from in &into[m] {
            if !pinned[from] {
                pinned[from] = true;
                stack.push(from);
            }
        }
    }
    let mut state = State {
        modules,
        edges,
        out,
        kept: vec![false; modules.len()],
        whole: vec![false; modules.len()],
        named: HashSet::new(),
        tasks: Vec::new(),
    };
    state.tasks.push(Task::Whole(entry));
    state.tasks.extend((0..modules.len()).filter(|&i| pinned[i]).map(Task::Keep));
    state.run();
    let stub_names = edges
        .iter()
        .map(|edge| {
            (state.kept[edge.from] && !state.kept[edge.to]).then(|| match &edge.uses {
                Use::Reexport(Reexport::Named(pairs)) => pairs.iter().map(|(_, imported)| imported.clone()).collect(),
                _ => BTreeSet::new(),
            })
        })
        .collect();
    Pruned { keep: state.kept, stub_names }
}

impl State<'_> {
    fn run(&mut self) {
        while let Some(task) = self.tasks.pop() {
            match task {
                Task::Keep(m) => self.keep(m),
                Task::Name(m, name) => self.name(m, name),
                Task::Whole(m) => self.whole(m),
            }
        }
    }

    /// `m` stays: what its own code imports is used.
    fn keep(&mut self, m: usize) {
        if std::mem::replace(&mut self.kept[m], true) {
            return;
        }
        for &e in &self.out[m] {
            let edge = &self.edges[e];
            match &edge.uses {
                Use::Import(names) => {
                    for name in names {
                        self.tasks.push(if name == "*" { Task::Whole(edge.to) } else { Task::Name(edge.to, name.clone()) });
                    }
                }
                Use::Whole => self.tasks.push(Task::Whole(edge.to)),
                // Linking checks every `export { a } from` of a kept module:
                // a name the target lacks keeps the target (and the error).
                Use::Reexport(Reexport::Named(pairs)) => {
                    for (_, imported) in pairs {
                        if !self.exports_name(edge.to, imported) {
                            self.tasks.push(Task::Name(edge.to, imported.clone()));
                        }
                    }
                }
                Use::Reexport(Reexport::Star | Reexport::Namespace(_)) => {}
            }
        }
    }

    /// `name` of `m` is used: `m` stays, and so does whatever it re-exports
    /// the name from.
    fn name(&mut self, m: usize, name: String) {
        if !self.named.insert((m, name.clone())) {
            return;
        }
        self.tasks.push(Task::Keep(m));
        let Some(own) = &self.modules[m].exports else { return };
        if own.contains(&name) {
            return;
        }
        let mut found = false;
        for &e in &self.out[m] {
            let edge = &self.edges[e];
            match &edge.uses {
                Use::Reexport(Reexport::Named(pairs)) => {
                    for (exported, imported) in pairs {
                        if *exported == name {
                            found = true;
                            self.tasks.push(Task::Name(edge.to, imported.clone()));
                        }
                    }
                }
                Use::Reexport(Reexport::Namespace(exported)) if *exported == name => {
                    found = true;
                    self.tasks.push(Task::Whole(edge.to));
                }
                _ => {}
            }
        }
        if found || name == "default" {
            return;
        }
        let stars: Vec<usize> = self.out[m]
            .iter()
            .map(|&e| &self.edges[e])
            .filter(|edge| matches!(edge.uses, Use::Reexport(Reexport::Star)))
            .map(|edge| edge.to)
            .collect();
        for to in stars {
            if self.exports_name(to, &name) {
                self.tasks.push(Task::Name(to, name.clone()));
            }
        }
    }

    /// Everything `m` exports is used.
    fn whole(&mut self, m: usize) {
        if std::mem::replace(&mut self.whole[m], true) {
            return;
        }
        self.tasks.push(Task::Keep(m));
        for &e in &self.out[m] {
            let edge = &self.edges[e];
            match &edge.uses {
                Use::Reexport(Reexport::Named(pairs)) => {
                    self.tasks.extend(pairs.iter().map(|(_, imported)| Task::Name(edge.to, imported.clone())));
                }
                Use::Reexport(Reexport::Star | Reexport::Namespace(_)) => self.tasks.push(Task::Whole(edge.to)),
                _ => {}
            }
        }
    }

    /// Whether `m` exports `name`, its re-exports included (as the
    /// language's GetExportedNames; unknown exports may hold anything).
    fn exports_name(&self, m: usize, name: &str) -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![m];
        while let Some(m) = stack.pop() {
            if !seen.insert(m) {
                continue;
            }
            let Some(own) = &self.modules[m].exports else { return true };
            if own.iter().any(|n| n == name) {
                return true;
            }
            for &e in &self.out[m] {
                let edge = &self.edges[e];
                match &edge.uses {
                    Use::Reexport(Reexport::Named(pairs)) if pairs.iter().any(|(exported, _)| exported == name) => return true,
                    Use::Reexport(Reexport::Namespace(exported)) if exported == name => return true,
                    Use::Reexport(Reexport::Star) if name != "default" => stack.push(edge.to),
                    _ => {}
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::{Edge, Module, Pruned, Use, prune, stub};
    use crate::transform::Reexport;

    fn esm(free: bool, exports: &[&str]) -> Module {
        Module { free, exports: Some(exports.iter().map(|s| s.to_string()).collect()) }
    }

    fn import(from: usize, to: usize, names: &[&str]) -> Edge {
        Edge { from, to, uses: Use::Import(names.iter().map(|s| s.to_string()).collect()) }
    }

    fn star(from: usize, to: usize) -> Edge {
        Edge { from, to, uses: Use::Reexport(Reexport::Star) }
    }

    fn named(from: usize, to: usize, pairs: &[(&str, &str)]) -> Edge {
        Edge { from, to, uses: Use::Reexport(Reexport::Named(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect())) }
    }

    fn kept(pruned: &Pruned) -> Vec<usize> {
        (0..pruned.keep.len()).filter(|&i| pruned.keep[i]).collect()
    }

    /// 0: entry, 1: a date-fns-style index of `export *`, 2..: leaves.
    #[test]
    fn export_star_keeps_only_the_leaf_that_declares_the_name() {
        let modules = vec![esm(false, &[]), esm(true, &[]), esm(true, &["add"]), esm(true, &["format"]), esm(true, &["parse"])];
        let edges = vec![import(0, 1, &["format"]), star(1, 2), star(1, 3), star(1, 4)];
        let pruned = prune(&modules, &edges, 0);
        assert_eq!(kept(&pruned), [0, 1, 3]);
        // The index's `export *` of what is left out links to an empty stub.
        assert_eq!(pruned.stub_names[1].as_ref().map(|n| n.len()), Some(0));
        assert_eq!(pruned.stub_names[2], None);
        assert_eq!(pruned.stub_names[0], None);
    }

    #[test]
    fn reexport_chains_are_followed_through_renames_and_stars() {
        // 0 imports `x` of 1; 1: `export { y as x } from 2`; 2: `export *
        // from 3`, `export * from 4`; 3 declares `y` (and imports 5's `z`);
        // 4 declares `w`; 1 also re-exports 6's `v`, unused.
        let modules = vec![
            esm(false, &[]),
            esm(true, &[]),
            esm(true, &[]),
            esm(true, &["y"]),
            esm(true, &["w"]),
            esm(true, &["z"]),
            esm(true, &["v"]),
        ];
        let edges = vec![
            import(0, 1, &["x"]),
            named(1, 2, &[("x", "y")]),
            star(2, 3),
            star(2, 4),
            import(3, 5, &["z"]),
            named(1, 6, &[("v", "v")]),
        ];
        let pruned = prune(&modules, &edges, 0);
        assert_eq!(kept(&pruned), [0, 1, 2, 3, 5]);
        // 1's `export { v } from 6` must still link: the stub exports `v`.
        assert_eq!(pruned.stub_names[5].as_ref().map(|n| n.iter().cloned().collect::<Vec<_>>()), Some(vec!["v".to_string()]));
    }

    #[test]
    fn a_name_two_stars_provide_keeps_both_and_an_own_name_shadows_stars() {
        // 1 `export *` from 2 and 3, both declaring `a` (ambiguous: the
        // program's link error must stay); 4 declares `b` itself and `export
        // *` from 5, which declares `b` too: 5 is not needed.
        let modules = vec![esm(false, &[]), esm(true, &[]), esm(true, &["a"]), esm(true, &["a"]), esm(true, &["b"]), esm(true, &["b"])];
        let edges = vec![import(0, 1, &["a"]), star(1, 2), star(1, 3), import(0, 4, &["b"]), star(4, 5)];
        assert_eq!(kept(&prune(&modules, &edges, 0)), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn cycles_end() {
        // 1 and 2 `export *` from each other; 2 declares `a`, 3 is unused.
        let modules = vec![esm(false, &[]), esm(true, &[]), esm(true, &["a"]), esm(true, &["c"])];
        let edges = vec![import(0, 1, &["a"]), star(1, 2), star(2, 1), star(2, 3), import(1, 2, &["a"])];
        assert_eq!(kept(&prune(&modules, &edges, 0)), [0, 1, 2]);
        // Asked for a name nobody declares: the walk still ends.
        let edges = vec![import(0, 1, &["missing"]), star(1, 2), star(2, 1), star(2, 3)];
        assert_eq!(kept(&prune(&modules, &edges, 0)), [0, 1]);
    }

    #[test]
    fn a_namespace_import_or_export_uses_everything() {
        let modules = vec![esm(false, &[]), esm(true, &[]), esm(true, &["a"]), esm(true, &["b"]), esm(true, &["c"])];
        let edges = vec![import(0, 1, &["*"]), star(1, 2), named(1, 3, &[("bb", "b")]), Edge { from: 1, to: 4, uses: Use::Reexport(Reexport::Namespace("ns".into())) }];
        assert_eq!(kept(&prune(&modules, &edges, 0)), [0, 1, 2, 3, 4]);
        // `import()` and the entry's own exports too.
        let edges = vec![Edge { from: 0, to: 1, uses: Use::Whole }, star(1, 2), star(1, 3)];
        assert_eq!(kept(&prune(&modules, &edges, 0)), [0, 1, 2, 3]);
        let edges = vec![star(0, 1), star(1, 2), named(0, 4, &[("c", "c")])];
        assert_eq!(kept(&prune(&modules, &edges, 0)), [0, 1, 2, 4]);
        // `export * as ns` used by name: that target whole.
        let edges = vec![import(0, 1, &["ns"]), star(1, 2), Edge { from: 1, to: 4, uses: Use::Reexport(Reexport::Namespace("ns".into())) }];
        assert_eq!(kept(&prune(&modules, &edges, 0)), [0, 1, 4]);
    }

    #[test]
    fn commonjs_is_used_whole_and_its_requires_too() {
        // 1: a free CommonJS file requiring 2 (free ES module with `a`, `b`,
        // `export *` of 3); 4: a free CommonJS file nobody uses.
        let cjs = |free| Module { free, exports: None };
        let modules = vec![esm(false, &[]), cjs(true), esm(true, &["a", "b"]), esm(true, &["c"]), cjs(true)];
        let edges = vec![import(0, 1, &["default"]), Edge { from: 1, to: 2, uses: Use::Whole }, star(2, 3), import(0, 4, &[])];
        let pruned = prune(&modules, &edges, 0);
        assert_eq!(kept(&pruned), [0, 1, 2, 3]);
        assert_eq!(pruned.stub_names[3].as_ref().map(|n| n.len()), Some(0));
        // A star into a module whose exports are unknown may provide anything.
        let edges = vec![import(0, 2, &["zz"]), star(2, 4)];
        assert_eq!(kept(&prune(&modules, &edges, 0)), [0, 2, 4]);
    }

    #[test]
    fn modules_with_effects_and_what_leads_to_them_stay() {
        // 1 (free, unused) imports 2 (with effects); 3 (free) imported for
        // effect only; 4 (effects) reached only through 5 (free) by require.
        let modules = vec![esm(false, &[]), esm(true, &["a"]), esm(false, &[]), esm(true, &["x"]), esm(false, &[]), Module { free: true, exports: None }];
        let edges = vec![import(0, 1, &[]), import(1, 2, &[]), import(0, 3, &[]), import(0, 5, &[]), Edge { from: 5, to: 4, uses: Use::Whole }];
        assert_eq!(kept(&prune(&modules, &edges, 0)), [0, 1, 2, 4, 5]);
    }

    #[test]
    fn a_reexport_of_a_name_the_target_lacks_keeps_the_target() {
        // Kept 1 re-exports `nope` of 2, which has no such export: linking
        // fails in the program as written, and must still fail.
        let modules = vec![esm(false, &[]), esm(true, &["a"]), esm(true, &["b"]), esm(true, &["c"])];
        let edges = vec![import(0, 1, &["a"]), named(1, 2, &[("nope", "nope")]), named(1, 3, &[("c", "c")])];
        assert_eq!(kept(&prune(&modules, &edges, 0)), [0, 1, 2]);
    }

    #[test]
    fn stubs_export_each_name_once() {
        assert_eq!(stub(&Default::default()), "export {};\n");
        let names = ["default", "a-b", "x"].iter().map(|s| s.to_string()).collect();
        assert_eq!(stub(&names), "let unused;\nexport { unused as \"a-b\", unused as default, unused as x };\n");
    }
}
