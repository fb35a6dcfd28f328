//! The front end on small projects written to a temporary directory.

use kiln_frontend::{DiagnosticKind, Entry, EntryFormat, Graph, ModuleKind, Options, build};
use std::path::Path;

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn graph(dir: &Path, entry: &str) -> Result<Graph, kiln_frontend::Diagnostic> {
    let path = dir.join(entry);
    let text = std::fs::read_to_string(&path).unwrap();
    build(Entry { path: &path, text: &text }, &Options::default())
}

fn target<'g>(graph: &'g Graph, importer: &str, specifier: &str) -> Option<&'g str> {
    graph.imports.iter().find(|i| i.importer == importer && i.specifier == specifier).map(|i| i.name.as_str())
}

#[test]
fn plain_javascript_passes_through_unchanged() {
    let main = "import { a } from './lib/a.js';\nconsole.log(a)\n";
    let dir = project(&[("main.js", main), ("lib/a.js", "export const a = 1;\n")]);
    let g = graph(dir.path(), "main.js").unwrap();
    assert_eq!(g.entry.name, "main.js");
    assert_eq!(g.entry.text, main);
    assert!(g.entry.source_map.is_none());
    assert_eq!(g.entry_format, EntryFormat::Module);
    assert_eq!(target(&g, "main.js", "./lib/a.js"), Some("lib/a.js"));
    assert_eq!(g.modules[0].text, "export const a = 1;\n");
}

#[test]
fn typescript_is_stripped_and_extensionless_imports_resolve() {
    let dir = project(&[
        ("package.json", "{}"),
        ("src/index.ts", "import type { T } from './types';\nimport { Color } from './color';\nexport * from './run';\nconst c: Color = Color.Red;\nconsole.log(c satisfies number);\n"),
        ("src/types.ts", "export interface T { x: number }\n"),
        ("src/color.ts", "export enum Color { Red, Green }\n"),
        ("src/run/index.ts", "export const run = (x: number): number => x;\n"),
    ]);
    let g = graph(dir.path(), "src/index.ts").unwrap();
    assert_eq!(g.entry.name, "src/index.ts");
    assert!(!g.entry.text.contains("satisfies") && !g.entry.text.contains("./types"), "{}", g.entry.text);
    assert!(g.entry.source_map.is_some());
    assert_eq!(target(&g, "src/index.ts", "./color"), Some("src/color.ts"));
    assert_eq!(target(&g, "src/index.ts", "./run"), Some("src/run/index.ts"));
    assert_eq!(target(&g, "src/index.ts", "./types"), None, "type-only imports are elided");
    let color = g.module("src/color.ts").unwrap();
    assert!(color.text.contains("Color[Color[\"Red\"] = 0]"), "{}", color.text);
}

#[test]
fn a_js_specifier_names_the_ts_file() {
    let dir = project(&[("main.ts", "import { x } from './x.js';\nconsole.log(x);\n"), ("x.ts", "export const x: number = 1;\n")]);
    let g = graph(dir.path(), "main.ts").unwrap();
    assert_eq!(target(&g, "main.ts", "./x.js"), Some("x.ts"));
}

#[test]
fn packages_resolve_through_exports_conditions_and_main() {
    let dir = project(&[
        ("main.mjs", "import a from 'esm-pkg';\nimport b from 'esm-pkg/sub';\nimport c from 'main-pkg';\nimport d from '#internal';\nconsole.log(a, b, c, d);\n"),
        ("package.json", r##"{ "imports": { "#internal": "./internal.js" } }"##),
        ("internal.js", "export default 'internal';\n"),
        (
            "node_modules/esm-pkg/package.json",
            r#"{ "type": "module", "exports": { ".": { "node": "./node.js", "import": "./esm.js", "default": "./cjs.js" }, "./sub": "./sub.js" } }"#,
        ),
        ("node_modules/esm-pkg/esm.js", "export default 'esm';\n"),
        ("node_modules/esm-pkg/sub.js", "export default 'sub';\n"),
        ("node_modules/main-pkg/package.json", r#"{ "main": "lib/index.js", "module": "es/index.js" }"#),
        ("node_modules/main-pkg/es/index.js", "export default 'module field';\n"),
    ]);
    let g = graph(dir.path(), "main.mjs").unwrap();
    assert_eq!(target(&g, "main.mjs", "esm-pkg"), Some("node_modules/esm-pkg/esm.js"));
    assert_eq!(target(&g, "main.mjs", "esm-pkg/sub"), Some("node_modules/esm-pkg/sub.js"));
    assert_eq!(target(&g, "main.mjs", "main-pkg"), Some("node_modules/main-pkg/es/index.js"));
    assert_eq!(target(&g, "main.mjs", "#internal"), Some("internal.js"));
}

/// A package can ship a build for Kiln (or for any WASI host) beside its
/// Node one: Kiln knows the `kiln` and `wasi` conditions and, as Node does,
/// takes the first key of `exports` whose condition it knows (`node` it
/// does not).
#[test]
fn the_kiln_and_wasi_conditions_are_chosen_before_node_and_import() {
    let dir = project(&[
        ("main.mjs", "import a from 'for-kiln';\nimport b from 'for-wasi';\nconsole.log(a, b);\n"),
        (
            "node_modules/for-kiln/package.json",
            r#"{ "exports": { "node": "./node.js", "kiln": "./kiln.js", "import": "./esm.js" } }"#,
        ),
        ("node_modules/for-kiln/kiln.js", "export default 'kiln';\n"),
        ("node_modules/for-wasi/package.json", r#"{ "exports": { "wasi": "./wasi.js", "import": "./esm.js", "default": "./esm.js" } }"#),
        ("node_modules/for-wasi/wasi.js", "export default 'wasi';\n"),
    ]);
    let g = graph(dir.path(), "main.mjs").unwrap();
    assert_eq!(target(&g, "main.mjs", "for-kiln"), Some("node_modules/for-kiln/kiln.js"));
    assert_eq!(target(&g, "main.mjs", "for-wasi"), Some("node_modules/for-wasi/wasi.js"));
}

#[test]
fn commonjs_files_become_factories_with_a_registry_and_facades() {
    let dir = project(&[
        ("main.mjs", "import groupBy from 'lod/groupBy';\nimport { groupBy as g2 } from 'lod';\nconsole.log(groupBy === g2);\n"),
        ("node_modules/lod/package.json", r#"{ "main": "index.js" }"#),
        ("node_modules/lod/index.js", "exports.groupBy = require('./groupBy');\n"),
        ("node_modules/lod/groupBy.js", "var base = require('./_base.js');\nmodule.exports = function groupBy() { return base; };\n"),
        ("node_modules/lod/_base.js", "module.exports = 'base';\n"),
    ]);
    let g = graph(dir.path(), "main.mjs").unwrap();
    assert_eq!(target(&g, "main.mjs", "lod/groupBy"), Some("kiln:cjs-esm/node_modules/lod/groupBy.js"));
    assert_eq!(target(&g, "main.mjs", "lod"), Some("kiln:cjs-esm/node_modules/lod/index.js"));
    let facade = g.module("kiln:cjs-esm/node_modules/lod/index.js").unwrap();
    assert!(facade.text.contains("as \"groupBy\""), "{}", facade.text);
    let factory = g.module("node_modules/lod/groupBy.js").unwrap();
    assert!(factory.text.starts_with("export default (function (exports, require, module, __filename, __dirname, global) {\n"));
    let registry = g.module("kiln:cjs").unwrap();
    assert!(registry.text.contains("\"./_base.js\": "), "{}", registry.text);
}

#[test]
fn a_commonjs_entry_runs_through_its_facade() {
    let dir = project(&[("main.js", "const x = require('./x');\nconsole.log(x);\n"), ("x.js", "module.exports = 42;\n")]);
    let g = graph(dir.path(), "main.js").unwrap();
    assert_eq!(g.entry.name, "kiln:cjs-esm/main.js");
    assert_eq!(g.entry_format, EntryFormat::Module);
    assert!(g.module("main.js").is_some_and(|m| m.text.contains("require(\"./x\")")));
}

#[test]
fn node_env_is_production_and_dead_branches_go() {
    let dir = project(&[(
        "main.js",
        "if (process.env.NODE_ENV !== 'production') { require('./dev.js'); } else { console.log('prod'); }\n",
    )]);
    let g = graph(dir.path(), "main.js").unwrap();
    let text = &g.entry.text;
    assert!(!text.contains("dev.js") && text.contains("prod"), "{text}");
}

#[test]
fn json_from_packages_and_require_of_json() {
    let dir = project(&[
        ("main.js", "import data from 'pkg/data.json';\nconst again = require('pkg/data.json');\nconsole.log(data, again);\n"),
        ("node_modules/pkg/package.json", "{}"),
        ("node_modules/pkg/data.json", "{\"a\": 1}"),
    ]);
    let err = graph(dir.path(), "main.js");
    // Mixing import and require makes main.js an ES module without require.
    let g = err.unwrap();
    let json = g.module("node_modules/pkg/data.json").unwrap();
    assert_eq!(json.kind, ModuleKind::Json { typed: false, untyped: true });
}

#[test]
fn errors_name_the_package_the_position_and_the_chain() {
    let dir = project(&[("src/index.ts", "import { z } from 'zod';\nconsole.log(z);\n")]);
    let err = graph(dir.path(), "src/index.ts").unwrap_err();
    assert_eq!(err.kind, DiagnosticKind::Import);
    assert_eq!(err.message, "cannot find package 'zod' (imported at index.ts:1:19); is it installed? run npm install");

    let dir = project(&[
        ("main.js", "import a from 'pkg-a';\n"),
        ("node_modules/pkg-a/package.json", r#"{ "main": "index.js" }"#),
        ("node_modules/pkg-a/index.js", "const fs = require('node:fs');\n"),
    ]);
    let err = graph(dir.path(), "main.js").unwrap_err();
    assert!(err.message.contains("chain: main.js → pkg-a → node:fs"), "{}", err.message);
    assert_eq!(err.file, "node_modules/pkg-a/index.js");

    let dir = project(&[
        ("main.js", "import a from 'only-node';\n"),
        ("node_modules/only-node/package.json", r#"{ "exports": { "node": "./n.js", "browser": "./b.js" } }"#),
    ]);
    let err = graph(dir.path(), "main.js").unwrap_err();
    assert!(err.message.contains("it offers node, browser"), "{}", err.message);
}

#[test]
fn a_typescript_syntax_error_points_into_the_ts_file() {
    let dir = project(&[("main.ts", "let x: number = ;\n")]);
    let err = graph(dir.path(), "main.ts").unwrap_err();
    assert_eq!(err.kind, DiagnosticKind::Syntax);
    assert_eq!(err.file, "main.ts");
    assert_eq!(err.offset, Some(16));
}

#[test]
fn optional_requires_in_try_blocks_do_not_fail_the_build() {
    let dir = project(&[("main.js", "let x; try { x = require('not-installed'); } catch { x = null; }\nmodule.exports = x;\n")]);
    assert!(graph(dir.path(), "main.js").is_ok());
}

#[test]
fn positions_after_a_lowered_class_are_the_original_ones() {
    // The class is rewritten (an IIFE, a static block) before oxc: the
    // import after it is still reported where it is written.
    let main = "function d(v: unknown, c: ClassDecoratorContext) {}\n@d\nclass A {\n  @d m() {}\n  accessor x = 1;\n}\nimport { y } from './missing';\nconsole.log(A, y);\n";
    let dir = project(&[("main.ts", main)]);
    let err = graph(dir.path(), "main.ts").unwrap_err();
    assert_eq!(err.kind, DiagnosticKind::Import);
    assert_eq!(err.offset, main.find("'./missing'"));
    assert!(err.message.contains("cannot find module './missing'"), "{}", err.message);

    // And the source map sends code inside and after the class to the
    // lines it was written on.
    let main = "function d(v: unknown, c: unknown) {}\n@d\nclass A {\n  @d m() { return 'inside'; }\n  accessor x = 1;\n}\nconsole.log('é😀', 'after', A);\nexport {};\n";
    let dir = project(&[("main.ts", main)]);
    let g = graph(dir.path(), "main.ts").unwrap();
    let map = g.entry.source_map.as_ref().unwrap();
    let table = map.generate_lookup_table();
    for (needle, line) in [("'inside'", 3), ("'after'", 6)] {
        let generated = g.entry.text.replace('"', "'");
        let at = generated.find(needle).unwrap_or_else(|| panic!("{needle} in {}", g.entry.text));
        let (gl, gc) = kiln_frontend::line_column(&generated, at);
        let column16: usize = generated.lines().nth(gl - 1).unwrap().chars().take(gc - 1).map(char::len_utf16).sum();
        let token = map.lookup_token(&table, gl as u32 - 1, column16 as u32).unwrap();
        assert_eq!(token.get_src_line(), line, "{needle}");
        // Columns count UTF-16 units, as source maps do.
        let written = main.lines().nth(line as usize).unwrap();
        let expected: usize = written[..written.find(needle).unwrap()].chars().map(char::len_utf16).sum();
        assert_eq!(token.get_src_col() as usize, expected, "{needle}");
    }
}

#[test]
fn decorators_and_accessors_are_lowered_in_javascript_too() {
    let dir = project(&[("main.js", "const d = (v) => v;\nexport class A {\n  @d m() {}\n  static accessor n = 1;\n}\n")]);
    let g = graph(dir.path(), "main.js").unwrap();
    assert!(!g.entry.text.contains('@') && !g.entry.text.contains("accessor n"), "{}", g.entry.text);
    assert!(g.entry.source_map.is_some(), "a rewritten file has a map");
    assert_eq!(target(&g, "main.js", "kiln:runtime/helpers/esDecorate"), Some("kiln:runtime/helpers/esDecorate"));
}

#[test]
fn a_required_helper_is_its_default_export() {
    // Legacy decorators in a file without import/export: oxc requires the
    // helper, the file is CommonJS, and the registry must hand it the
    // helper function, not the helper module's namespace.
    let dir = project(&[
        ("tsconfig.json", r#"{ "compilerOptions": { "experimentalDecorators": true } }"#),
        ("main.ts", "function d(target: any) {}\n@d\nclass A {}\nconsole.log(A);\n"),
    ]);
    let g = graph(dir.path(), "main.ts").unwrap();
    let registry = g.module("kiln:cjs").unwrap();
    assert!(registry.text.contains("import m1 from \"kiln:runtime/helpers/decorate\";"), "{}", registry.text);
    assert!(registry.text.contains("{ value: m1, filename: \"kiln:runtime/helpers/decorate\" }"), "{}", registry.text);
}

fn names(g: &Graph) -> Vec<&str> {
    g.modules.iter().map(|m| m.name.as_str()).collect()
}

#[test]
fn unused_modules_of_side_effect_free_packages_are_left_out() {
    let index = "export * from './a.js';\nexport * from './b.js';\nexport { default as c, cc } from './c.js';\nimport './d.js';\n";
    let dir = project(&[
        ("main.mjs", "import { a } from 'lib';\nconsole.log(a);\n"),
        ("node_modules/lib/package.json", r#"{ "name": "lib", "type": "module", "sideEffects": false, "exports": "./index.js" }"#),
        ("node_modules/lib/index.js", index),
        ("node_modules/lib/a.js", "import { helper } from './helper.js';\nexport const a = helper();\n"),
        ("node_modules/lib/helper.js", "export const helper = () => 1;\nexport const unused = 2;\n"),
        ("node_modules/lib/b.js", "export const b = 2;\n"),
        ("node_modules/lib/c.js", "export default 3;\nexport const cc = 4;\n"),
        ("node_modules/lib/d.js", "export const d = 5;\n"),
    ]);
    let g = graph(dir.path(), "main.mjs").unwrap();
    assert_eq!(names(&g), ["kiln:unused", "kiln:unused/1", "node_modules/lib/a.js", "node_modules/lib/helper.js", "node_modules/lib/index.js"]);
    // The index is kept as written; what it re-exports of left-out modules
    // links to stubs.
    assert_eq!(g.module("node_modules/lib/index.js").unwrap().text, index);
    assert_eq!(target(&g, "node_modules/lib/index.js", "./a.js"), Some("node_modules/lib/a.js"));
    assert_eq!(target(&g, "node_modules/lib/index.js", "./b.js"), Some("kiln:unused"));
    assert_eq!(target(&g, "node_modules/lib/index.js", "./d.js"), Some("kiln:unused"));
    assert_eq!(target(&g, "node_modules/lib/index.js", "./c.js"), Some("kiln:unused/1"));
    assert_eq!(g.module("kiln:unused/1").unwrap().text, "let unused;\nexport { unused as cc, unused as default };\n");
    assert!(!g.imports.iter().any(|i| i.importer.ends_with("b.js") || i.name.ends_with("b.js")));

    // A namespace import uses everything.
    std::fs::write(dir.path().join("main.mjs"), "import * as lib from 'lib';\nconsole.log(Object.keys(lib));\n").unwrap();
    let g = graph(dir.path(), "main.mjs").unwrap();
    assert_eq!(names(&g), ["kiln:unused", "node_modules/lib/a.js", "node_modules/lib/b.js", "node_modules/lib/c.js", "node_modules/lib/helper.js", "node_modules/lib/index.js"]);
}

#[test]
fn side_effects_come_from_the_package_root_and_globs_keep_what_they_match() {
    let dir = project(&[
        ("main.mjs", "import { a } from 'lib';\nimport 'lib/polyfill';\nimport 'lib/pure';\nconsole.log(a);\n"),
        ("node_modules/lib/package.json", r#"{ "name": "lib", "type": "module", "sideEffects": ["./esm/polyfill.js"], "exports": { ".": "./esm/index.js", "./*": "./esm/*.js" } }"#),
        // A stub without a name or the field: the root's word holds.
        ("node_modules/lib/esm/package.json", r#"{ "type": "module" }"#),
        ("node_modules/lib/esm/index.js", "export * from './a.js';\nexport * from './b.js';\n"),
        ("node_modules/lib/esm/a.js", "export const a = 1;\n"),
        ("node_modules/lib/esm/b.js", "export const b = 2;\n"),
        ("node_modules/lib/esm/polyfill.js", "globalThis.filled = true;\n"),
        ("node_modules/lib/esm/pure.js", "export const pure = 3;\n"),
    ]);
    let g = graph(dir.path(), "main.mjs").unwrap();
    assert_eq!(names(&g), ["kiln:unused", "node_modules/lib/esm/a.js", "node_modules/lib/esm/index.js", "node_modules/lib/esm/polyfill.js"]);
    assert_eq!(target(&g, "main.mjs", "lib/pure"), Some("kiln:unused"));

    // Without the field, nothing is left out.
    std::fs::write(dir.path().join("node_modules/lib/package.json"), r#"{ "name": "lib", "type": "module", "exports": { ".": "./esm/index.js", "./*": "./esm/*.js" } }"#).unwrap();
    let g = graph(dir.path(), "main.mjs").unwrap();
    assert_eq!(g.modules.len(), 5, "{:?}", names(&g));
}

#[test]
fn a_nested_package_json_without_the_field_defers_to_the_package_root() {
    // Outside node_modules (a workspace package, followed through its
    // symlink) the nearest package.json is the nested one.
    let dir = project(&[
        ("main.mjs", "import { a } from './packages/lib/esm/index.js';\nconsole.log(a);\n"),
        ("packages/lib/package.json", r#"{ "name": "lib", "sideEffects": false }"#),
        ("packages/lib/esm/package.json", r#"{ "type": "module" }"#),
        ("packages/lib/esm/index.js", "export * from './a.js';\nexport * from './b.js';\n"),
        ("packages/lib/esm/a.js", "export const a = 1;\n"),
        ("packages/lib/esm/b.js", "export const b = 2;\n"),
        // Another package below: its own root (a name, no field) decides.
        ("packages/lib/esm/vendor/package.json", r#"{ "name": "vendor" }"#),
        ("packages/lib/esm/vendor/index.js", "export const v = 3;\n"),
    ]);
    let g = graph(dir.path(), "main.mjs").unwrap();
    assert_eq!(names(&g), ["kiln:unused", "packages/lib/esm/a.js", "packages/lib/esm/index.js"]);
    std::fs::write(dir.path().join("packages/lib/esm/index.js"), "export * from './a.js';\nimport './vendor/index.js';\n").unwrap();
    let g = graph(dir.path(), "main.mjs").unwrap();
    assert_eq!(names(&g), ["packages/lib/esm/a.js", "packages/lib/esm/index.js", "packages/lib/esm/vendor/index.js"]);
}

#[test]
fn the_helpers_of_a_left_out_file_are_left_out_with_it() {
    let dir = project(&[
        ("main.mjs", "import { a } from 'lib';\nconsole.log(a);\n"),
        ("node_modules/lib/package.json", r#"{ "name": "lib", "type": "module", "sideEffects": false, "exports": "./index.js" }"#),
        ("node_modules/lib/index.js", "export * from './a.js';\nexport * from './decorated.js';\n"),
        ("node_modules/lib/a.js", "export const a = 1;\n"),
        ("node_modules/lib/decorated.js", "const d = (v) => v;\nexport class A {\n  @d m() {}\n}\n"),
    ]);
    let g = graph(dir.path(), "main.mjs").unwrap();
    assert_eq!(names(&g), ["kiln:unused", "node_modules/lib/a.js", "node_modules/lib/index.js"]);
    std::fs::write(dir.path().join("main.mjs"), "import { A } from 'lib';\nconsole.log(A);\n").unwrap();
    let g = graph(dir.path(), "main.mjs").unwrap();
    assert!(names(&g).contains(&"kiln:runtime/helpers/esDecorate"), "{:?}", names(&g));
}
