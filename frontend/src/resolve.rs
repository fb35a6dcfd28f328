//! Where a specifier leads: oxc_resolver with Node's and bundlers' rules,
//! and the errors a user can act on when it leads nowhere.

use crate::settings::HELPERS_MODULE;
use crate::transform::RequestKind;
use oxc_resolver::{ResolveError, ResolveOptions, Resolver, TsconfigDiscovery};
use std::path::{Path, PathBuf};

/// The package.json `exports`/`imports` conditions Kiln matches, in
/// order, for `import` (ES modules) and for `require` (CommonJS).
pub const IMPORT_CONDITIONS: &[&str] = &["kiln", "wasi", "import", "module", "default"];
/// See [`IMPORT_CONDITIONS`].
pub const REQUIRE_CONDITIONS: &[&str] = &["kiln", "wasi", "require", "module", "default"];

/// Extensions tried for a specifier without one, in order.
const EXTENSIONS: &[&str] = &[".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".json"];

/// Where a request leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A file.
    File {
        path: PathBuf,
        /// It is in a package whose `.js` files are CommonJS (in
        /// `node_modules`, no `"type": "module"`).
        commonjs_package: bool,
        /// Its package declares it free of side effects (see
        /// [`Resolvers::side_effect_free`]).
        side_effect_free: bool,
    },
    /// One of the transform's helper modules (`kiln:runtime/helpers/x`).
    Helper(String),
}

pub(crate) struct Resolvers {
    import: Resolver,
    require: Resolver,
    /// package.json files read while looking for `sideEffects` above the
    /// nearest one (which oxc_resolver has read), per path.
    package_jsons: std::cell::RefCell<std::collections::HashMap<PathBuf, Option<SideEffectsField>>>,
}

/// Of a package.json: its `sideEffects` field, and whether it has a `name`.
type SideEffectsField = (Option<serde_json::Value>, bool);

impl Resolvers {
    pub(crate) fn new() -> Self {
        let options = |conditions: &[&str], main_fields: &[&str]| ResolveOptions {
            tsconfig: Some(TsconfigDiscovery::Auto),
            condition_names: conditions.iter().map(|c| c.to_string()).collect(),
            extensions: EXTENSIONS.iter().map(|e| e.to_string()).collect(),
            // The TypeScript convention: `./x.js` names `x.ts` when there
            // is no `x.js`.
            extension_alias: vec![
                (".js".into(), vec![".js".into(), ".ts".into(), ".tsx".into(), ".jsx".into()]),
                (".mjs".into(), vec![".mjs".into(), ".mts".into()]),
                (".cjs".into(), vec![".cjs".into(), ".cts".into()]),
            ],
            main_fields: main_fields.iter().map(|f| f.to_string()).collect(),
            builtin_modules: true,
            node_path: false,
            module_type: true,
            ..ResolveOptions::default()
        };
        let import = Resolver::new(options(IMPORT_CONDITIONS, &["module", "main"]));
        let require = import.clone_with_options(options(REQUIRE_CONDITIONS, &["main", "module"]));
        Resolvers { import, require, package_jsons: Default::default() }
    }

    /// The tsconfig.json that applies to `file`, if any.
    pub(crate) fn tsconfig(&self, file: &Path) -> Result<Option<std::sync::Arc<oxc_resolver::TsConfig>>, String> {
        self.import.find_tsconfig(file).map_err(|e| format!("reading tsconfig.json: {e}"))
    }

    /// Resolves `specifier`, asked for by the file at `importer`.
    pub(crate) fn resolve(&self, importer: &Path, specifier: &str, kind: RequestKind) -> Result<Target, Failure> {
        if let Some(helper) = specifier.strip_prefix(HELPERS_MODULE).and_then(|s| s.strip_prefix("/helpers/")) {
            return Ok(Target::Helper(helper.to_string()));
        }
        if specifier.contains("://") || specifier.starts_with("data:") {
            return Err(Failure::Unsupported(format!("unsupported import specifier '{specifier}': URLs are not supported")));
        }
        let resolver = if kind == RequestKind::Require { &self.require } else { &self.import };
        match resolver.resolve_file(importer, specifier) {
            Ok(resolution) => {
                let in_package = resolution.path().components().any(|c| c.as_os_str() == "node_modules");
                let module_package = resolution.package_json().and_then(|p| p.r#type()) == Some(oxc_resolver::PackageType::Module);
                let side_effect_free = self.side_effect_free(resolution.path(), resolution.package_json().map(|p| &**p));
                Ok(Target::File { path: resolution.into_path_buf(), commonjs_package: in_package && !module_package, side_effect_free })
            }
            Err(error) => Err(failure(specifier, error, kind)),
        }
    }
}

impl Resolvers {
    /// Whether the package of the file at `path` declares it free of side
    /// effects: `"sideEffects": false`, or an array of globs (or one glob)
    /// that the file does not match (webpack's and esbuild's rules: paths
    /// relative to the package.json that says it, a glob without `/`
    /// matches the file name in any directory). `nearest` is the nearest
    /// package.json above the file, as oxc_resolver found it.
    ///
    /// Which package.json says: the nearest one that has the field, looking
    /// up from the file but no further than the package's root — the first
    /// package.json with a `name` — and never above a `node_modules`
    /// directory. Packages often ship stubs without a name (date-fns 2's
    /// `esm/package.json` says only `"type": "module"`); the root's field is
    /// the package's word on its files. No field anywhere: side effects.
    fn side_effect_free(&self, path: &Path, nearest: Option<&oxc_resolver::PackageJson>) -> bool {
        let Some(nearest) = nearest else { return false };
        let decides = |field: &serde_json::Value, dir: &Path| -> bool {
            let Ok(relative) = path.strip_prefix(dir) else { return false };
            let relative = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            match field {
                serde_json::Value::Bool(effects) => !effects,
                serde_json::Value::String(glob) => !glob_matches(glob, &relative),
                serde_json::Value::Array(globs) => !globs.iter().filter_map(|g| g.as_str()).any(|g| glob_matches(g, &relative)),
                // A field that says nothing Kiln understands: side effects.
                _ => false,
            }
        };
        // Symlinks resolved, as `path` is.
        let nearest_dir = nearest.realpath().parent().map(Path::to_path_buf).unwrap_or_default();
        if let Some(field) = nearest.side_effects() {
            let field = match field {
                oxc_resolver::SideEffects::Bool(b) => serde_json::Value::Bool(b),
                oxc_resolver::SideEffects::String(s) => serde_json::Value::String(s.to_string()),
                oxc_resolver::SideEffects::Array(a) => serde_json::Value::Array(a.into_iter().map(|s| serde_json::Value::String(s.to_string())).collect()),
            };
            return decides(&field, &nearest_dir);
        }
        if nearest.name().is_some() {
            return false;
        }
        let mut cache = self.package_jsons.borrow_mut();
        for dir in nearest_dir.ancestors().skip(1) {
            if dir.file_name().is_some_and(|n| n == "node_modules") {
                return false;
            }
            let file = dir.join("package.json");
            let read = cache.entry(file.clone()).or_insert_with(|| {
                let json = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&file).ok()?).ok()?;
                Some((json.get("sideEffects").cloned(), json.get("name").is_some()))
            });
            match read {
                Some((Some(field), _)) => return decides(field, dir),
                Some((None, true)) => return false,
                _ => {}
            }
        }
        false
    }
}

/// Whether `relative` (a path relative to a package.json's directory, `/`
/// separators) matches the `sideEffects` glob `glob`: `*` and `?` within
/// a path segment, `**` across segments, `{a,b}` alternatives; a leading
/// `./` is dropped and a glob without `/` is matched in every directory
/// (as webpack does).
pub(crate) fn glob_matches(glob: &str, relative: &str) -> bool {
    let glob = match glob.strip_prefix("./") {
        Some(rooted) => rooted.to_string(),
        None if glob.contains('/') => glob.to_string(),
        None => format!("**/{glob}"),
    };
    expand_braces(&glob).iter().any(|g| matches_from(g.as_bytes(), relative.as_bytes()))
}

/// `a{b,c}d` as `abd`, `acd` (nested braces too).
fn expand_braces(glob: &str) -> Vec<String> {
    let Some(open) = glob.find('{') else { return vec![glob.to_string()] };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, c) in glob[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(open + i),
            _ => {}
        }
    }
    let Some(close) = close else { return vec![glob.to_string()] };
    let mut cuts = vec![open];
    cuts.extend(commas);
    cuts.push(close);
    let mut out = Vec::new();
    for pair in cuts.windows(2) {
        let alternative = format!("{}{}{}", &glob[..open], &glob[pair[0] + 1..pair[1]], &glob[close + 1..]);
        out.extend(expand_braces(&alternative));
    }
    out
}

fn matches_from(glob: &[u8], path: &[u8]) -> bool {
    match glob {
        [] => path.is_empty(),
        // `**/`: any number of whole segments, none included.
        [b'*', b'*', b'/', rest @ ..] => {
            (0..=path.len()).any(|i| (i == 0 || path[i - 1] == b'/') && matches_from(rest, &path[i..]))
        }
        [b'*', b'*'] => true,
        [b'*', rest @ ..] => (0..=path.len()).take_while(|&i| i == 0 || path[i - 1] != b'/').any(|i| matches_from(rest, &path[i..])),
        [b'?', rest @ ..] => path.first().is_some_and(|&c| c != b'/') && matches_from(rest, &path[1..]),
        [c, rest @ ..] => path.first() == Some(c) && matches_from(rest, &path[1..]),
    }
}

/// Why a specifier leads nowhere.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// A Node built-in (`node:fs`, or `fs`).
    Builtin(String),
    /// A bare specifier whose package is not installed.
    MissingPackage(String),
    /// A path that names no file: what was tried.
    NotFound(String),
    /// Anything else, said in full.
    Unsupported(String),
}

fn failure(specifier: &str, error: ResolveError, kind: RequestKind) -> Failure {
    let conditions = if kind == RequestKind::Require { REQUIRE_CONDITIONS } else { IMPORT_CONDITIONS };
    match error {
        ResolveError::Builtin { resolved, .. } => Failure::Builtin(resolved),
        ResolveError::NotFound(_) if is_bare(specifier) => Failure::MissingPackage(package_name(specifier).to_string()),
        ResolveError::NotFound(_) => Failure::NotFound(format!(
            "tried the file, then with {}, then {}/index.*",
            EXTENSIONS.join(", "),
            specifier.trim_end_matches('/')
        )),
        ResolveError::PackagePathNotExported { subpath, package_json_path, .. } => {
            let offered = offered_conditions(&package_json_path, &subpath);
            let package = package_name(specifier);
            let offered = if offered.is_empty() { String::new() } else { format!("; it offers {}", offered.join(", ")) };
            Failure::Unsupported(format!(
                "package '{package}' exports nothing for '{subpath}' under the conditions Kiln accepts ({}){offered}",
                conditions.join(", ")
            ))
        }
        ResolveError::PackageImportNotDefined(name, path) => {
            Failure::Unsupported(format!("'{name}' is not defined in the \"imports\" of {}", path.display()))
        }
        other => Failure::Unsupported(format!("cannot resolve '{specifier}': {other}")),
    }
}

fn is_bare(specifier: &str) -> bool {
    !(specifier.starts_with('.') || specifier.starts_with('/') || specifier.starts_with('#') || specifier.starts_with('\\'))
}

/// `zod` of `zod/lib/x`, `@scope/pkg` of `@scope/pkg/x`.
pub(crate) fn package_name(specifier: &str) -> &str {
    let mut parts = specifier.splitn(3, '/');
    let first = parts.next().unwrap_or(specifier);
    match (first.starts_with('@'), parts.next()) {
        (true, Some(second)) => &specifier[..first.len() + 1 + second.len()],
        _ => first,
    }
}

/// The conditions a package's `exports` offers for `subpath` (or
/// anywhere, when the subpath has no entry of its own).
fn offered_conditions(package_json: &Path, subpath: &str) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(package_json) else { return Vec::new() };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else { return Vec::new() };
    let Some(exports) = json.get("exports") else { return Vec::new() };
    let entry = match exports.as_object() {
        Some(map) if map.keys().any(|k| k.starts_with('.')) => map.get(subpath).unwrap_or(exports),
        _ => exports,
    };
    let mut found = Vec::new();
    collect_conditions(entry, &mut found);
    found
}

fn collect_conditions(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                if !key.starts_with('.') && !found.contains(key) {
                    found.push(key.clone());
                }
                collect_conditions(inner, found);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_conditions(i, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{glob_matches, package_name};

    #[test]
    fn side_effects_globs_match_as_webpack_does() {
        assert!(glob_matches("./polyfill.js", "polyfill.js"));
        assert!(!glob_matches("./polyfill.js", "lib/polyfill.js"));
        // No `/`: the file name in any directory.
        assert!(glob_matches("polyfill.js", "lib/polyfill.js"));
        assert!(glob_matches("*.css", "styles/a.css"));
        assert!(!glob_matches("*.css", "a.js"));
        assert!(glob_matches("./src/**/*.js", "src/a.js"));
        assert!(glob_matches("./src/**/*.js", "src/x/y/a.js"));
        assert!(!glob_matches("./src/*.js", "src/x/a.js"));
        assert!(glob_matches("./lib/{a,b}.js", "lib/b.js"));
        assert!(!glob_matches("./lib/{a,b}.js", "lib/c.js"));
        assert!(glob_matches("./a?.js", "ab.js"));
    }

    #[test]
    fn package_names_of_bare_specifiers() {
        assert_eq!(package_name("zod"), "zod");
        assert_eq!(package_name("lodash/groupBy"), "lodash");
        assert_eq!(package_name("@shopify/x/y"), "@shopify/x");
        assert_eq!(package_name("@scope"), "@scope");
    }
}
