//! `kiln inspect`: what a module is, what it links against, what it holds.

use anyhow::Context;
use clap::Args;
use kiln::ModuleRole;
use std::path::PathBuf;
use std::process::ExitCode;

/// Describe a wasm module: static, dynamic (and the engine it needs) or a
/// shared engine; its size, imports and exports.
#[derive(Args)]
#[command(after_help = "\
Examples:
  kiln inspect app.wasm
  kiln inspect kiln-engine.wasm")]
pub(crate) struct InspectArgs {
    /// The module to describe.
    #[arg(value_name = "MODULE")]
    module: PathBuf,
}

pub(crate) fn execute(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let wasm = std::fs::read(&args.module).with_context(|| format!("reading {}", args.module.display()))?;
    let role = kiln::module_role(&wasm).with_context(|| format!("{} is not a WebAssembly module", args.module.display()))?;
    println!("module: {} ({} bytes)", args.module.display(), wasm.len());
    let dynamic = matches!(role, ModuleRole::Dynamic { .. });
    match role {
        ModuleRole::Dynamic { namespace } => {
            println!("kind: dynamic (links against a shared engine)");
            println!("engine namespace: {namespace}");
        }
        ModuleRole::Engine { namespace } => {
            println!("kind: shared engine (for dynamic modules)");
            println!("namespace: {namespace}");
        }
        ModuleRole::Standalone => println!("kind: standalone (static: carries its engine)"),
    }
    let (imports, exports) = interface(&wasm)?;
    if dynamic {
        let bytecode = imports.iter().any(|i| i.ends_with(&format!(".{}", kiln_abi::exports::RUN_BYTECODE)));
        println!("form: {}", if bytecode { "bytecode (read by the engine at each start)" } else { "memory image (written into the engine's memory at instantiation)" });
    }
    println!("imports: {}", if imports.is_empty() { "none".into() } else { imports.join(", ") });
    println!("exports: {}", if exports.is_empty() { "none".into() } else { exports.join(", ") });
    Ok(ExitCode::SUCCESS)
}

/// The module's imports (`module.name`) and exports, in order.
fn interface(wasm: &[u8]) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.context("reading the module")? {
            wasmparser::Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.context("reading the module's imports")?;
                    imports.push(format!("{}.{}", import.module, import.name));
                }
            }
            wasmparser::Payload::ExportSection(reader) => {
                for export in reader {
                    exports.push(export.context("reading the module's exports")?.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}
