//! CommonJS as ES modules, with no engine support.
//!
//! - Each CommonJS file becomes an ES module under its own name whose
//!   default export is its factory, `function (exports, require, module,
//!   __filename, __dirname, global) { <the file> }`: evaluating it runs
//!   nothing, and stack frames inside the file name the file. `global` is
//!   `globalThis`, as in Node: packages find the global object through it
//!   (lodash falls back to `Function('return this')()` otherwise, which
//!   needs the parser a module ships without).
//! - One registry module, [`REGISTRY`], imports every factory (and every ES
//!   module or JSON file some CommonJS file requires) and holds the table
//!   of what each `require(specifier)` of each file leads to, resolved at
//!   build time. `load(i)` runs a factory once, as Node's module cache
//!   does; a factory that throws is dropped from the cache.
//! - An ES module importing a CommonJS file imports its facade,
//!   `kiln:cjs-esm/<name>`: `default` is `module.exports` (as in Node) and
//!   each name some importer asks for, or the file visibly exports
//!   (`exports.x = `), is `module.exports[name]`, read once when the
//!   facade runs — as bundlers do, and unlike Node, which cannot see the
//!   names of e.g. lodash.
//!
//! Like every bundler's ES module output, the factories are strict code.

/// The registry's module name.
pub const REGISTRY: &str = "kiln:cjs";
/// The prefix of facade names.
pub const FACADE_PREFIX: &str = "kiln:cjs-esm/";

/// The first line of a wrapped CommonJS file.
const WRAPPER_HEAD: &str = "export default (function (exports, require, module, __filename, __dirname, global) {\n";
const WRAPPER_TAIL: &str = "\n});\n";

/// The module text of a CommonJS file whose body is `code`, and its map
/// shifted by the wrapper's line.
pub(crate) fn wrap(code: &str, map: Option<oxc_sourcemap::SourceMap<'static>>) -> (String, Option<oxc_sourcemap::SourceMap<'static>>) {
    let text = format!("{WRAPPER_HEAD}{code}{WRAPPER_TAIL}");
    (text, map.map(|m| shift_lines(&m, 1)))
}

/// `map` with every generated line moved down by `lines`.
fn shift_lines(map: &oxc_sourcemap::SourceMap<'_>, lines: u32) -> oxc_sourcemap::SourceMap<'static> {
    use std::borrow::Cow;
    let names: Vec<Cow<'static, str>> = map.get_names().map(|n| Cow::Owned(n.to_string())).collect();
    let sources: Vec<Cow<'static, str>> = map.get_sources().map(|s| Cow::Owned(s.to_string())).collect();
    let tokens: Vec<oxc_sourcemap::Token> = map
        .get_tokens()
        .map(|t| {
            oxc_sourcemap::Token::new(t.get_dst_line() + lines, t.get_dst_col(), t.get_src_line(), t.get_src_col(), t.get_source_id(), t.get_name_id())
        })
        .collect();
    oxc_sourcemap::SourceMap::new(None, names, None, sources, vec![], tokens.into_boxed_slice(), None)
}

/// A module of the registry's table.
pub(crate) enum Entry {
    /// A CommonJS file: its module name and, per specifier it requires, the
    /// index of what that leads to.
    Factory { name: String, requires: Vec<(String, usize)> },
    /// An ES module required by some CommonJS file: its namespace.
    Namespace { name: String },
    /// A JSON file required by some CommonJS file: its value.
    Json { name: String },
    /// A helper module (`kiln:runtime/helpers/x`) required by a CommonJS
    /// file: its default export, the function the `require` is for (oxc
    /// writes `var _decorate = require("kiln:runtime/helpers/decorate")` in
    /// a file that is not a module, as Babel's runtime helpers, which are
    /// CommonJS, expect).
    Default { name: String },
}

/// The registry module's text.
pub(crate) fn registry(entries: &[Entry]) -> String {
    let mut out = String::new();
    let mut table = String::from("const modules = [\n");
    for (i, entry) in entries.iter().enumerate() {
        match entry {
            Entry::Factory { name, requires } => {
                out.push_str(&format!("import m{i} from {};\n", js_string(name)));
                let dir = match name.rfind('/') {
                    Some(at) => &name[..at],
                    None => ".",
                };
                let requires: Vec<String> = requires.iter().map(|(s, j)| format!("{}: {j}", js_string(s))).collect();
                table.push_str(&format!(
                    "  {{ factory: m{i}, filename: {}, dirname: {}, requires: {{ __proto__: null, {} }} }},\n",
                    js_string(name),
                    js_string(dir),
                    requires.join(", ")
                ));
            }
            Entry::Namespace { name } => {
                out.push_str(&format!("import * as m{i} from {};\n", js_string(name)));
                table.push_str(&format!("  {{ value: m{i}, filename: {} }},\n", js_string(name)));
            }
            Entry::Default { name } => {
                out.push_str(&format!("import m{i} from {};\n", js_string(name)));
                table.push_str(&format!("  {{ value: m{i}, filename: {} }},\n", js_string(name)));
            }
            Entry::Json { name } => {
                out.push_str(&format!("import m{i} from {} with {{ type: \"json\" }};\n", js_string(name)));
                table.push_str(&format!("  {{ value: m{i}, filename: {} }},\n", js_string(name)));
            }
        }
    }
    table.push_str("];\n");
    out.push_str(&table);
    out.push_str(RUNTIME);
    out
}

/// The loader: Node's module cache in a few lines.
const RUNTIME: &str = r#"const cache = [];
function requireFrom(m) {
  const require = (specifier) => {
    const i = m.requires[specifier];
    if (i === undefined) {
      const error = new Error(`Cannot find module '${specifier}' from '${m.filename}' (Kiln resolves require() of string literals at build time)`);
      error.code = "MODULE_NOT_FOUND";
      throw error;
    }
    return load(i);
  };
  require.resolve = (specifier) => {
    const i = m.requires[specifier];
    return i === undefined ? require(specifier) : modules[i].filename;
  };
  return require;
}
export function load(i) {
  const m = modules[i];
  if (m.factory === undefined) return m.value;
  const cached = cache[i];
  if (cached !== undefined) return cached.exports;
  const module = { id: m.filename, filename: m.filename, loaded: false, exports: {}, children: [], paths: [] };
  cache[i] = module;
  try {
    m.factory.call(module.exports, module.exports, requireFrom(m), module, m.filename, m.dirname, globalThis);
  } catch (error) {
    cache[i] = undefined;
    throw error;
  }
  module.loaded = true;
  return module.exports;
}
"#;

/// The facade of the CommonJS file at index `index` of the registry,
/// exporting `names` besides `default`.
pub(crate) fn facade(index: usize, names: &[String]) -> String {
    let mut out = format!("import {{ load }} from {};\nconst m = load({index});\nexport default m;\n", js_string(REGISTRY));
    for (i, name) in names.iter().enumerate() {
        out.push_str(&format!("const n{i} = m == null ? undefined : m[{}];\nexport {{ n{i} as {} }};\n", js_string(name), js_string(name)));
    }
    out
}

/// The helper modules the transform imports (`kiln:runtime/helpers/x`):
/// TypeScript's own helpers for legacy decorators, and those of the
/// standard decorators' lowering ([`crate::decorators`]). Each has one
/// export, `default`; a `require` of one gives that (see [`Entry::Default`]).
pub(crate) fn helper(name: &str) -> Option<&'static str> {
    if let Some(text) = crate::decorators::helper(name) {
        return Some(text);
    }
    Some(match name {
        "decorate" => {
            r#"export default function decorate(decorators, target, key, desc) {
  var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
  for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
  return c > 3 && r && Object.defineProperty(target, key, r), r;
}
"#
        }
        "decorateParam" => {
            r#"export default function decorateParam(paramIndex, decorator) {
  return function (target, key) { decorator(target, key, paramIndex); };
}
"#
        }
        "decorateMetadata" => {
            r#"export default function decorateMetadata(k, v) {
  if (typeof Reflect === "object" && typeof Reflect.metadata === "function") return Reflect.metadata(k, v);
}
"#
        }
        _ => return None,
    })
}

/// `s` as a JavaScript string literal.
pub(crate) fn js_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facade_exports_default_and_each_name() {
        let text = facade(2, &["groupBy".into(), "a-b".into()]);
        assert!(text.contains("const m = load(2);"));
        assert!(text.contains("export { n1 as \"a-b\" };"));
    }

    #[test]
    fn wrapper_keeps_the_body_on_its_own_lines() {
        let (text, _) = wrap("exports.x = 1;", None);
        assert_eq!(text.lines().nth(1), Some("exports.x = 1;"));
    }
}
