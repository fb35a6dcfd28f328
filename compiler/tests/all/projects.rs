//! Real projects as they are: TypeScript, npm packages (ES modules with
//! `exports` maps, CommonJS), build-time defines — built by the front end
//! (kiln-frontend) and run on both hosts. Where Node can run the program
//! (JavaScript), the expected output is Node's own.

use crate::util::{build, kiln, run_both, run_with_stdin};
use std::process::Command;

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// A CommonJS package (named exports visible to Node's lexer), a dual
/// package with an `exports` map, an ES-only package, JSON from a
/// package, and `process.env.NODE_ENV`.
const NPM: &[(&str, &str)] = &[
    (
        "main.mjs",
        "import groupBy from 'lod/groupBy.js';\nimport { chunk, VERSION } from 'lod';\nimport dual from 'dual';\nimport { pick } from 'esm-only/pick';\nimport data from 'lod/data.json' with { type: 'json' };\nimport envy from 'envy';\n\
console.log(JSON.stringify(groupBy([1.2, 1.5, 2.1], Math.floor)));\nconsole.log(JSON.stringify(chunk([1, 2, 3], 2)), VERSION);\nconsole.log(dual(), pick({ a: 1, b: 2 }, 'b'), data.name, envy);\n",
    ),
    ("node_modules/lod/package.json", r#"{ "name": "lod", "main": "index.js", "version": "1.0.0" }"#),
    ("node_modules/lod/data.json", r#"{ "name": "lod-data" }"#),
    (
        "node_modules/lod/index.js",
        "'use strict';\nexports.chunk = require('./chunk');\nexports.VERSION = require('./package.json').version;\n",
    ),
    ("node_modules/lod/chunk.js", "module.exports = function chunk(a, n) { var out = []; for (var i = 0; i < a.length; i += n) out.push(a.slice(i, i + n)); return out; };\n"),
    (
        "node_modules/lod/groupBy.js",
        "var base = require('./_base');\nmodule.exports = function groupBy(list, f) { return list.reduce(function (acc, x) { base(acc, f(x)).push(x); return acc; }, {}); };\n",
    ),
    ("node_modules/lod/_base.js", "module.exports = function (acc, key) { return acc[key] || (acc[key] = []); };\n"),
    (
        "node_modules/dual/package.json",
        r#"{ "name": "dual", "exports": { ".": { "import": "./esm/index.mjs", "require": "./cjs/index.cjs" } } }"#,
    ),
    ("node_modules/dual/esm/index.mjs", "export default () => 'dual:esm';\n"),
    ("node_modules/dual/cjs/index.cjs", "module.exports = () => 'dual:cjs';\n"),
    ("node_modules/esm-only/package.json", r#"{ "name": "esm-only", "type": "module", "exports": { "./pick": "./src/pick.js" } }"#),
    ("node_modules/esm-only/src/pick.js", "export const pick = (o, k) => o[k];\n"),
    ("node_modules/envy/package.json", r#"{ "name": "envy", "main": "index.js" }"#),
    (
        "node_modules/envy/index.js",
        "if (process.env.NODE_ENV === 'production') {\n  module.exports = require('./prod.js');\n} else {\n  module.exports = require('./dev.js');\n}\n",
    ),
    ("node_modules/envy/prod.js", "module.exports = 'envy:prod';\n"),
    ("node_modules/envy/dev.js", "module.exports = 'envy:dev';\n"),
];

#[test]
fn npm_packages_run_as_in_node() {
    let dir = project(NPM);
    let expected = {
        let output = Command::new("node").current_dir(dir.path()).arg("main.mjs").env("NODE_ENV", "production").output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    assert!(expected.contains("envy:prod"), "{expected}");
    let wasm = build(dir.path(), "main.mjs", "out.wasm");
    let run = run_both(dir.path(), &wasm, b"");
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, expected);
}

#[test]
fn a_define_replaces_node_env_and_drops_the_other_branch() {
    let dir = project(NPM);
    let output = run_with_stdin(kiln(dir.path()).args(["build", "-q", "main.mjs", "-o", "dev.wasm", "--define", "process.env.NODE_ENV=\"development\""]), b"");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let run = run_both(dir.path(), &dir.path().join("dev.wasm"), b"");
    assert!(run.stdout.ends_with("lod-data envy:dev\n"), "{}", run.stdout);
}

#[test]
fn a_commonjs_entry_requires_files_json_and_es_modules() {
    let dir = project(&[
        ("main.js", "const { twice } = require('./lib');\nconst esm = require('./esm.mjs');\nconst cfg = require('./cfg.json');\nconsole.log(twice(21), esm.name, cfg.mode, typeof module.exports, this === module.exports);\nconsole.log(require('./lib') === require('./lib.js'));\n"),
        ("lib.js", "exports.twice = (x) => x * 2;\n"),
        ("esm.mjs", "export const name = 'esm';\n"),
        ("cfg.json", r#"{ "mode": "json" }"#),
    ]);
    let wasm = build(dir.path(), "main.js", "out.wasm");
    let run = run_both(dir.path(), &wasm, b"");
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    // Node 20 cannot require() an ES module; the rest is its output.
    assert_eq!(run.stdout, "42 esm json object true\ntrue\n");
}

/// `__filename` and `__dirname` are the file's module name and its
/// directory, fixed at build time: the module never reads a file system.
#[test]
fn a_commonjs_file_knows_its_name_and_directory() {
    let dir = project(&[
        ("package.json", r#"{ "name": "where" }"#),
        ("main.js", "const where = require('./lib/where');\nconsole.log(__filename, __dirname, where.file, where.dir);\n"),
        ("lib/where.js", "exports.file = __filename;\nexports.dir = __dirname;\n"),
    ]);
    let wasm = build(dir.path(), "main.js", "out.wasm");
    let run = run_both(dir.path(), &wasm, b"");
    assert_eq!((run.status, run.stdout.as_str(), run.stderr.as_str()), (Some(0), "main.js . lib/where.js lib\n", ""));
}

#[test]
fn typescript_with_extensionless_imports_enums_and_namespaces() {
    let dir = project(&[
        ("package.json", "{}"),
        ("tsconfig.json", r#"{ "compilerOptions": { "baseUrl": ".", "paths": { "@gen/*": ["src/generated/*"] } } }"#),
        (
            "src/index.ts",
            "import type { Cart } from '@gen/api';\nimport { CurrencyCode } from '@gen/api';\nexport * from './total';\nimport { total, Money } from './total';\n\
const cart: Cart = { lines: [{ price: 2.5, qty: 2 }, { price: 1, qty: 3 }] };\nnamespace Fmt { export const show = (m: Money): string => `${m.amount} ${CurrencyCode[m.code]}`; }\nconsole.log(Fmt.show(total(cart) satisfies Money));\n",
        ),
        ("src/generated/api.ts", "export enum CurrencyCode { Cad = 'CAD', Usd = 1 }\nexport type Cart = { lines: { price: number; qty: number }[] };\n"),
        (
            "src/total.ts",
            "import { CurrencyCode } from './generated/api.js';\nexport interface Money { amount: number; code: CurrencyCode }\nexport class Total {\n  constructor(private readonly code: CurrencyCode) {}\n  of(lines: { price: number; qty: number }[]): Money { return { amount: lines.reduce((s, l) => s + l.price * l.qty, 0), code: this.code }; }\n}\nexport const total = (c: { lines: { price: number; qty: number }[] }): Money => new Total(CurrencyCode.Usd).of(c.lines);\n",
        ),
    ]);
    let wasm = build(dir.path(), "src/index.ts", "out.wasm");
    let run = run_both(dir.path(), &wasm, b"");
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "8 Usd\n");
}

#[test]
fn node_builtins_and_missing_packages_fail_the_build_with_the_chain() {
    let dir = project(&[
        ("src/index.ts", "import { a } from 'pkg-a';\nconsole.log(a);\n"),
        ("package.json", "{}"),
        ("node_modules/pkg-a/package.json", r#"{ "main": "index.js" }"#),
        ("node_modules/pkg-a/index.js", "exports.a = require('fs').readFileSync;\n"),
    ]);
    let output = run_with_stdin(kiln(dir.path()).args(["build", "src/index.ts", "-o", "out.wasm"]), b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("'fs' is a Node.js built-in module (imported at node_modules/pkg-a/index.js:1:21)"), "{stderr}");
    assert!(stderr.contains("chain: src/index.ts → pkg-a → node:fs"), "{stderr}");
    assert!(!dir.path().join("out.wasm").exists());
}

#[test]
fn a_typescript_syntax_error_shows_the_ts_file() {
    let dir = project(&[("main.ts", "const ok: number = 1;\nlet x: = 2;\n")]);
    let output = run_with_stdin(kiln(dir.path()).args(["build", "main.ts", "-o", "out.wasm"]), b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("┌─ main.ts:2:8"), "{stderr}");
    assert!(stderr.contains("2 │ let x: = 2;"), "{stderr}");
}
