//! The `kiln` command: parses arguments, calls the library, decides the exit
//! status. Each subcommand lives in `commands/`.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Compile JavaScript into a single pre-initialized WebAssembly (WASI) module.
#[derive(Parser)]
#[command(name = "kiln", version, about, long_about = None, after_help = "\
Examples:
  kiln build app.js                 # writes app.wasm
  kiln build --lean app.js          # a smaller module (QuickJS built for size)
  kiln run app.wasm < input.json    # runs it on the embedded wasmtime
  wasmtime run app.wasm < input.json

Exit status: 0 success; 1 the JavaScript failed (syntax error, exception);
2 usage or I/O error; 101 a bug in Kiln.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Build(commands::build::BuildArgs),
    Run(commands::run::RunArgs),
    Cache(commands::cache::CacheArgs),
    Engine(commands::engine::EngineArgs),
    Inspect(commands::inspect::InspectArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(args) => commands::build::execute(args),
        Command::Run(args) => commands::run::execute(args),
        Command::Cache(args) => commands::cache::execute(args),
        Command::Engine(args) => commands::engine::execute(args),
        Command::Inspect(args) => commands::inspect::execute(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            commands::report(&error);
            ExitCode::from(commands::exit_status(&error))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
