//! `kiln run`: run a module on the embedded wasmtime.

use anyhow::Context;
use clap::Args;
use kiln::{Outcome, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status when the fuel limit stops a module (as `timeout` uses 124).
const EXIT_OUT_OF_FUEL: u8 = 124;
/// Exit status when a module traps (a bug in the module, not in JavaScript).
const EXIT_TRAP: u8 = 134;

/// Run a WASI module with stdin, stdout and stderr passed through.
///
/// The exit status is the module's own. The module gets no filesystem, no
/// environment variables and no network.
#[derive(Args)]
#[command(after_help = "\
Examples:
  kiln run app.wasm < input.json
  kiln run --stats app.wasm < input.json     # fuel and time on stderr
  kiln run --fuel 10000000 app.wasm          # stop after 10M units of fuel

Exit status: the module's; 124 when --fuel runs out; 134 when the module
traps; 2 when the file is not a runnable module.")]
pub(crate) struct RunArgs {
    /// The module to run.
    #[arg(value_name = "MODULE")]
    module: PathBuf,

    /// Stop the module after N units of wasmtime fuel (roughly, executed wasm
    /// instructions). Default: no limit.
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,

    /// Print the fuel consumed and the time taken to stderr after the run.
    #[arg(long)]
    stats: bool,

    /// Arguments passed to the module.
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

pub(crate) fn execute(args: RunArgs) -> anyhow::Result<ExitCode> {
    let wasm = std::fs::read(&args.module).map_err(|source| kiln::Error::Io { action: "reading", path: args.module.clone(), source })?;
    let name = args.module.display().to_string();
    let options = RunOptions { fuel: args.fuel, args: args.args.clone() };
    let report = kiln::run_module(&name, &wasm, &options).with_context(|| format!("running {name}"))?;

    if args.stats {
        eprintln!(
            "kiln run: fuel {} | compile {:.1} ms | run {:.1} ms",
            report.fuel_consumed,
            report.compile_time.as_secs_f64() * 1e3,
            report.run_time.as_secs_f64() * 1e3
        );
    }
    Ok(match report.outcome {
        Outcome::Exited(code) => ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX)),
        Outcome::OutOfFuel => {
            eprintln!("error: {name} ran out of fuel (limit {})", args.fuel.unwrap_or(u64::MAX));
            ExitCode::from(EXIT_OUT_OF_FUEL)
        }
        Outcome::Trapped(message) => {
            eprintln!("error: {name} trapped: {}", message.lines().next().unwrap_or_default());
            ExitCode::from(EXIT_TRAP)
        }
    })
}
