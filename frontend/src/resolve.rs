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
    /// A file, and whether it is in a package whose `.js` files are
    /// CommonJS (in `node_modules`, no `"type": "module"`).
    File(PathBuf, bool),
    /// One of the transform's helper modules (`kiln:runtime/helpers/x`).
    Helper(String),
}

pub(crate) struct Resolvers {
    import: Resolver,
    require: Resolver,
}

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
        Resolvers { import, require }
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
                Ok(Target::File(resolution.into_path_buf(), in_package && !module_package))
            }
            Err(error) => Err(failure(specifier, error, kind)),
        }
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
    use super::package_name;

    #[test]
    fn package_names_of_bare_specifiers() {
        assert_eq!(package_name("zod"), "zod");
        assert_eq!(package_name("lodash/groupBy"), "lodash");
        assert_eq!(package_name("@shopify/x/y"), "@shopify/x");
        assert_eq!(package_name("@scope"), "@scope");
    }
}
