//! What tsconfig.json asks of the transform, and the build-time constants.

use oxc_transformer::{HelperLoaderMode, HelperLoaderOptions, JsxOptions, JsxRuntime, TransformOptions};
use oxc_transformer_plugins::ReplaceGlobalDefinesConfig;
use std::path::Path;

/// Where the helpers the transform calls (legacy decorators) come from:
/// `kiln:runtime/helpers/<name>`, modules the front end writes itself.
pub(crate) const HELPERS_MODULE: &str = "kiln:runtime";

/// The compiler options of the project's tsconfig.json that change what
/// the transform emits. Type-checking options are ignored: Kiln does not
/// type-check.
#[derive(Debug, Clone, Default)]
pub(crate) struct TsSettings {
    pub(crate) jsx: Option<String>,
    pub(crate) jsx_factory: Option<String>,
    pub(crate) jsx_fragment_factory: Option<String>,
    pub(crate) jsx_import_source: Option<String>,
    pub(crate) experimental_decorators: bool,
    pub(crate) emit_decorator_metadata: bool,
    pub(crate) use_define_for_class_fields: Option<bool>,
    pub(crate) verbatim_module_syntax: bool,
}

impl TsSettings {
    pub(crate) fn from_tsconfig(options: &oxc_resolver::CompilerOptions) -> Self {
        TsSettings {
            jsx: options.jsx.clone(),
            jsx_factory: options.jsx_factory.clone(),
            jsx_fragment_factory: options.jsx_fragment_factory.clone(),
            jsx_import_source: options.jsx_import_source.clone(),
            experimental_decorators: options.experimental_decorators.unwrap_or(false),
            emit_decorator_metadata: options.emit_decorator_metadata.unwrap_or(false),
            use_define_for_class_fields: options.use_define_for_class_fields,
            verbatim_module_syntax: options.verbatim_module_syntax.unwrap_or(false),
        }
    }

    pub(crate) fn transform_options(&self, path: &Path) -> TransformOptions {
        let mut options = TransformOptions {
            cwd: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            helper_loader: HelperLoaderOptions { module_name: HELPERS_MODULE.into(), mode: HelperLoaderMode::Runtime },
            ..TransformOptions::default()
        };
        options.typescript.only_remove_type_imports = self.verbatim_module_syntax;
        if self.experimental_decorators {
            options.decorator.legacy = true;
            options.decorator.emit_decorator_metadata = self.emit_decorator_metadata;
        }
        if self.use_define_for_class_fields == Some(false) {
            // TypeScript's assignment semantics: fields without an
            // initializer vanish, the others are assigned in the constructor.
            options.typescript.remove_class_fields_without_initializer = true;
            options.assumptions.set_public_class_fields = true;
        }
        let mut jsx = JsxOptions::default();
        match self.jsx.as_deref() {
            Some("react") => jsx.runtime = JsxRuntime::Classic,
            Some("react-jsxdev") => {
                jsx.runtime = JsxRuntime::Automatic;
                jsx.development = true;
            }
            _ => jsx.runtime = if self.jsx_factory.is_some() { JsxRuntime::Classic } else { JsxRuntime::Automatic },
        }
        if let Some(factory) = &self.jsx_factory {
            jsx.pragma = Some(factory.clone());
            options.typescript.jsx_pragma = factory.clone().into();
        }
        if let Some(fragment) = &self.jsx_fragment_factory {
            jsx.pragma_frag = Some(fragment.clone());
            options.typescript.jsx_pragma_frag = fragment.clone().into();
        }
        if let Some(source) = &self.jsx_import_source {
            jsx.import_source = Some(source.clone());
        }
        options.jsx = jsx;
        options
    }
}

/// The build-time constants: `process.env.NODE_ENV` is `"production"`
/// unless `defines` says otherwise, as esbuild does for a production
/// build.
///
/// # Errors
///
/// A message naming a define whose key is not an identifier path or whose
/// value is not an expression.
pub(crate) fn defines(defines: &[(String, String)]) -> Result<ReplaceGlobalDefinesConfig, String> {
    let mut all: Vec<(String, String)> = defines.to_vec();
    if !all.iter().any(|(k, _)| k == "process.env.NODE_ENV") {
        all.push(("process.env.NODE_ENV".into(), "\"production\"".into()));
    }
    ReplaceGlobalDefinesConfig::new(&all).map_err(|errors| {
        let what: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!("bad --define: {}", what.join("; "))
    })
}
