//! `kiln run`: run a module on the embedded wasmtime.

use anyhow::Context;
use clap::Args;
use kiln::{Outcome, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status when --timeout stops a module (as `timeout(1)` uses).
const EXIT_TIMED_OUT: u8 = 124;
/// Exit status when the fuel limit stops a module.
const EXIT_OUT_OF_FUEL: u8 = 125;
/// Exit status when a module traps (a bug in the module, not in JavaScript).
const EXIT_TRAP: u8 = 134;
/// Exit status when a module fails after --max-memory refused it memory (as
/// for a process the out-of-memory killer ended).
const EXIT_OUT_OF_MEMORY: u8 = 137;
/// Exit status when a module that succeeded used more than --limits allow.
const EXIT_OVER_LIMITS: u8 = 122;

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
  kiln run --timeout 2s app.wasm             # stop after 2 seconds
  kiln run --invoke total fn.wasm < in.json  # call a function-mode export
  kiln run --limits shopify fn.wasm < in.json  # check Shopify's limits
  kiln run --engine kiln-engine.wasm app.wasm  # a module built --dynamic

--limits shopify checks Shopify Functions' limits (11,000,000 instructions,
256 kB module, 10 MB memory, 128 kB input, 20 kB output, 1 kB logs);
--limits FILE reads a platform's own, one `key = value` a line:
  name = my platform
  instructions = 5000000
  module = 512kB      # sizes: B, kB, MB, GB (x1000) or KiB, MiB, GiB
  memory = 16MiB
  input = 64kB
  output = 20kB
  logs = 1kB          # bytes written to stderr
A key left out is not limited. The table goes to stderr after the run.

Exit status: the module's; 124 when --timeout passes; 125 when --fuel runs
out; 137 when the module fails after reaching --max-memory; 134 when the
module traps; 122 when it succeeded but exceeded a --limits limit; 2 when
the file is not a runnable module.")]
pub(crate) struct RunArgs {
    /// The module to run.
    #[arg(value_name = "MODULE")]
    module: PathBuf,

    /// Stop the module after N units of wasmtime fuel (roughly, executed wasm
    /// instructions). Default: no limit.
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,

    /// Call this exported function instead of `_start` (function-mode
    /// modules export one per `--invoke` given to `kiln build`).
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,

    /// Stop the module after this long: 500ms, 2s, 1m (default: no limit).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<std::time::Duration>,

    /// Limit the module's linear memory to SIZE bytes (suffixes K, M, G:
    /// e.g. 64M). Default: no limit.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<usize>,

    /// Do not read or write the cache of compiled code ($KILN_CACHE_DIR,
    /// default ~/.cache/kiln).
    #[arg(long)]
    no_cache: bool,

    /// Print the fuel consumed and the time taken to stderr after the run.
    #[arg(long)]
    stats: bool,

    /// Measure the run against a platform's limits (`shopify`, or a limits
    /// FILE, format below): instructions, module size, peak memory, input,
    /// output and log bytes, as a table on stderr; exit 122 naming each
    /// limit exceeded. stdin is read whole first and the output written
    /// after the run.
    #[arg(long, value_name = "shopify|FILE")]
    limits: Option<String>,

    /// The shared engine a dynamic module (`kiln build --dynamic`) links
    /// against, as `kiln engine -o FILE` wrote it. It must be the engine the
    /// module was built for (`kiln inspect` shows both namespaces).
    #[arg(long, value_name = "FILE")]
    engine: Option<PathBuf>,

    /// Arguments passed to the module.
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

pub(crate) fn execute(args: RunArgs) -> anyhow::Result<ExitCode> {
    let wasm = std::fs::read(&args.module).map_err(|source| kiln::Error::Io { action: "reading", path: args.module.clone(), source })?;
    let name = args.module.display().to_string();
    let limits = args.limits.as_deref().map(kiln::limits::Limits::from_arg).transpose()?;
    let engine = match &args.engine {
        Some(path) => Some(std::fs::read(path).map_err(|source| kiln::Error::Io { action: "reading", path: path.clone(), source })?),
        None => None,
    };
    let options = RunOptions {
        engine,
        fuel: args.fuel,
        args: args.args.clone(),
        entry: args.invoke.clone(),
        max_memory: args.max_memory,
        timeout: args.timeout,
        cache: super::module_cache(args.no_cache),
        capture_stdio: limits.is_some(),
    };
    let report = kiln::run_module(&name, &wasm, &options).with_context(|| format!("running {name}"))?;
    let over_limits = match (&limits, &report.stdio) {
        (Some(limits), Some(stdio)) => report_limits(limits, &report, stdio, wasm.len() as u64)?,
        _ => false,
    };

    if args.stats {
        eprintln!(
            "kiln run: fuel {} | compile {:.1} ms | run {:.1} ms",
            report.fuel_consumed,
            report.compile_time.as_secs_f64() * 1e3,
            report.run_time.as_secs_f64() * 1e3
        );
    }
    Ok(match report.outcome {
        Outcome::Exited(0) if over_limits => ExitCode::from(EXIT_OVER_LIMITS),
        Outcome::Exited(code) => ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX)),
        Outcome::OutOfFuel => {
            eprintln!("error: {name} ran out of fuel (limit {})", args.fuel.unwrap_or(u64::MAX));
            ExitCode::from(EXIT_OUT_OF_FUEL)
        }
        Outcome::TimedOut => {
            eprintln!("error: {name} ran past its time limit ({:?})", args.timeout.unwrap_or_default());
            ExitCode::from(EXIT_TIMED_OUT)
        }
        Outcome::OutOfMemory { status } => {
            let what = match status {
                Some(code) => format!("exited with status {code}"),
                None => "trapped".to_string(),
            };
            eprintln!("error: {name} {what} after reaching its memory limit (--max-memory {})", show_size(args.max_memory.unwrap_or_default()));
            ExitCode::from(EXIT_OUT_OF_MEMORY)
        }
        Outcome::Trapped(message) => {
            eprintln!("error: {name} trapped: {}", message.lines().next().unwrap_or_default());
            ExitCode::from(EXIT_TRAP)
        }
    })
}

/// Writes out a captured run's output, then the limits table (stderr);
/// returns whether a limit was exceeded.
fn report_limits(limits: &kiln::limits::Limits, report: &kiln::RunReport, stdio: &kiln::CapturedStdio, module_bytes: u64) -> anyhow::Result<bool> {
    use std::io::Write;
    std::io::stdout().write_all(&stdio.stdout).and_then(|()| std::io::stdout().flush()).context("writing the module's stdout")?;
    std::io::stderr().write_all(&stdio.stderr).context("writing the module's stderr")?;
    let usage = kiln::limits::Usage {
        instructions: report.fuel_consumed,
        module: module_bytes,
        memory: report.peak_memory,
        input: stdio.input_bytes,
        output: stdio.stdout.len() as u64,
        logs: stdio.stderr.len() as u64,
    };
    let rows = limits.check(&usage);
    eprint!("{}", kiln::limits::render(limits, &rows));
    Ok(rows.iter().any(kiln::limits::Checked::exceeded))
}

/// Shows a byte count the way --max-memory takes it: `64M`, `512K`, `1000`.
fn show_size(bytes: usize) -> String {
    for (shift, unit) in [(30, "G"), (20, "M"), (10, "K")] {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// `bytes` for a person: `1.5M`, `256M`, `812K`, `96` (binary multiples).
pub(crate) fn show_size_rounded(bytes: u64) -> String {
    for (shift, unit) in [(30, "G"), (20, "M"), (10, "K")] {
        if bytes >= 1 << shift {
            let value = bytes as f64 / (1u64 << shift) as f64;
            return if value >= 10.0 || bytes % (1 << shift) == 0 { format!("{value:.0}{unit}") } else { format!("{value:.1}{unit}") };
        }
    }
    bytes.to_string()
}

/// Parses `4096`, `64K`, `64M`, `1G` (binary multiples).
pub(crate) fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let shift = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        _ => return Err(format!("unknown size unit `{unit}` (use K, M or G)")),
    };
    let n: usize = digits.parse().map_err(|_| format!("`{text}` is not a size (e.g. 64M)"))?;
    n.checked_shl(shift).filter(|v| v >> shift == n).ok_or_else(|| format!("`{text}` is too large"))
}

/// Parses `500ms`, `2s`, `1.5s`, `1m` (a bare number is seconds).
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a duration (e.g. 500ms, 2s, 1m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown duration unit `{unit}` (use ms, s or m)")),
    };
    std::time::Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is not a usable duration"))
}

#[cfg(test)]
mod tests {
    use super::{parse_duration, parse_size, show_size};
    use std::time::Duration;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("fast").is_err());
    }


    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert!(parse_size("12X").is_err());
        assert!(parse_size("M").is_err());
        assert_eq!(show_size(64 << 20), "64M");
        assert_eq!(show_size(1536), "1536");
        assert_eq!(parse_size(&show_size(3 << 10)), Ok(3 << 10));
    }
}
