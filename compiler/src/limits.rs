//! A platform's resource limits, and a run's usage checked against them
//! (`kiln run --limits shopify`, `kiln run --limits my-platform.limits`).
//!
//! The built-in `shopify` limits are Shopify Functions' published ones, as
//! Shopify's function-runner counts them: instructions are wasmtime fuel
//! from instantiation to exit, and sizes are decimal (1 kB = 1,000 bytes).
//!
//! # The limits file
//!
//! One `key = value` per line; `#` starts a comment; a key left out is not
//! limited:
//!
//! ```text
//! # my-platform.limits
//! name = my platform
//! instructions = 5000000
//! module = 512kB        # bytes of the module file
//! memory = 16MiB        # peak linear memory
//! input = 64kB          # bytes read from stdin
//! output = 20kB         # bytes written to stdout
//! logs = 1kB            # bytes written to stderr
//! ```
//!
//! Sizes take `B`, `kB`/`MB`/`GB` (powers of 1,000) or `KiB`/`MiB`/`GiB`
//! (powers of 1,024); a bare number is bytes. Instructions take a plain
//! number (`_` and `,` separators allowed).

use crate::error::Error;

/// What a run is measured by, in the order the report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Wasmtime fuel consumed, instantiation included.
    Instructions,
    /// Bytes of the module file.
    Module,
    /// Peak linear memory, in bytes.
    Memory,
    /// Bytes read from stdin (the whole input, offered to the module).
    Input,
    /// Bytes written to stdout.
    Output,
    /// Bytes written to stderr.
    Logs,
}

impl Measure {
    /// Every measure, in report order.
    pub const ALL: [Measure; 6] = [Measure::Instructions, Measure::Module, Measure::Memory, Measure::Input, Measure::Output, Measure::Logs];

    /// The measure's key in a limits file and its name in the report.
    pub fn key(self) -> &'static str {
        match self {
            Measure::Instructions => "instructions",
            Measure::Module => "module",
            Measure::Memory => "memory",
            Measure::Input => "input",
            Measure::Output => "output",
            Measure::Logs => "logs",
        }
    }

    fn is_size(self) -> bool {
        self != Measure::Instructions
    }

    /// Shows an amount of this measure: `5,384` instructions, `2,991 B`.
    pub fn show(self, amount: u64) -> String {
        let digits = group_thousands(amount);
        if self.is_size() { format!("{digits} B") } else { digits }
    }
}

/// A platform's limits: at most one per [`Measure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The platform's name, shown in the report.
    pub name: String,
    limits: Vec<(Measure, u64)>,
}

/// What one run used, per [`Measure`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Fuel consumed.
    pub instructions: u64,
    /// Bytes of the module file.
    pub module: u64,
    /// Peak linear memory.
    pub memory: u64,
    /// Bytes of stdin.
    pub input: u64,
    /// Bytes written to stdout.
    pub output: u64,
    /// Bytes written to stderr.
    pub logs: u64,
}

impl Usage {
    /// The amount used of `measure`.
    pub fn of(&self, measure: Measure) -> u64 {
        match measure {
            Measure::Instructions => self.instructions,
            Measure::Module => self.module,
            Measure::Memory => self.memory,
            Measure::Input => self.input,
            Measure::Output => self.output,
            Measure::Logs => self.logs,
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// What was measured.
    pub measure: Measure,
    /// How much the run used.
    pub used: u64,
    /// The limit, if the platform has one.
    pub limit: Option<u64>,
}

impl Checked {
    /// Whether the run used more than the limit.
    pub fn exceeded(&self) -> bool {
        self.limit.is_some_and(|limit| self.used > limit)
    }
}

impl Limits {
    /// Shopify Functions' limits: 11,000,000 instructions, a 256 kB module,
    /// 10 MB of memory, 128 kB of input, 20 kB of output, 1 kB of logs.
    pub fn shopify() -> Self {
        Limits {
            name: "Shopify Functions".into(),
            limits: vec![
                (Measure::Instructions, 11_000_000),
                (Measure::Module, 256_000),
                (Measure::Memory, 10_000_000),
                (Measure::Input, 128_000),
                (Measure::Output, 20_000),
                (Measure::Logs, 1_000),
            ],
        }
    }

    /// The limits `--limits ARG` names: `shopify`, or a limits file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be read, [`Error::InvalidInput`] if
    /// it is not a limits file (the line and what is wrong with it).
    pub fn from_arg(arg: &str) -> Result<Self, Error> {
        if arg == "shopify" {
            return Ok(Limits::shopify());
        }
        let path = std::path::Path::new(arg);
        let text = std::fs::read_to_string(path).map_err(Error::io("reading", path))?;
        let default_name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| arg.to_string());
        Limits::parse(&text, &default_name).map_err(|e| Error::InvalidInput(format!("{arg}: {e}")))
    }

    /// Parses a limits file (format: the module documentation); the
    /// platform is called `default_name` unless the file names it.
    ///
    /// # Errors
    ///
    /// The line number and what is wrong with it.
    pub fn parse(text: &str, default_name: &str) -> Result<Self, String> {
        let mut limits = Limits { name: default_name.to_string(), limits: Vec::new() };
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = |problem: String| format!("line {}: {problem}", number + 1);
            let (key, value) = line.split_once('=').ok_or_else(|| at(format!("`{line}` is not `key = value`")))?;
            let (key, value) = (key.trim(), value.trim());
            if key == "name" {
                limits.name = value.to_string();
                continue;
            }
            let measure = Measure::ALL.into_iter().find(|m| m.key() == key).ok_or_else(|| {
                let keys: Vec<&str> = Measure::ALL.iter().map(|m| m.key()).collect();
                at(format!("unknown limit `{key}` (the limits are name, {})", keys.join(", ")))
            })?;
            if limits.limits.iter().any(|(m, _)| *m == measure) {
                return Err(at(format!("`{key}` is set twice")));
            }
            let amount = if measure.is_size() { parse_size(value) } else { parse_count(value) }.map_err(at)?;
            limits.limits.push((measure, amount));
        }
        limits.limits.sort_by_key(|(m, _)| Measure::ALL.iter().position(|x| x == m));
        Ok(limits)
    }

    /// The limit on `measure`, if there is one.
    pub fn limit(&self, measure: Measure) -> Option<u64> {
        self.limits.iter().find(|(m, _)| *m == measure).map(|(_, amount)| *amount)
    }

    /// Checks a run's usage: one row per measure, in report order.
    pub fn check(&self, usage: &Usage) -> Vec<Checked> {
        Measure::ALL.into_iter().map(|measure| Checked { measure, used: usage.of(measure), limit: self.limit(measure) }).collect()
    }
}

/// The report: a short table, one row per measure, and a verdict line.
///
/// ```text
/// limits: Shopify Functions
///   instructions     380,984 / 11,000,000   3.5%
///   module         2,491 B / 256,000 B      1.0%
///   ...
/// within all limits
/// ```
pub fn render(limits: &Limits, rows: &[Checked]) -> String {
    let used: Vec<String> = rows.iter().map(|r| r.measure.show(r.used)).collect();
    let limit: Vec<String> = rows.iter().map(|r| r.limit.map_or_else(|| "-".to_string(), |l| r.measure.show(l))).collect();
    let used_width = used.iter().map(String::len).max().unwrap_or(0);
    let limit_width = limit.iter().map(String::len).max().unwrap_or(0);
    let mut out = format!("limits: {}\n", limits.name);
    for ((row, used), limit) in rows.iter().zip(&used).zip(&limit) {
        let share = match row.limit {
            Some(0) if row.used > 0 => "over".to_string(),
            Some(0) => "0%".to_string(),
            Some(l) => format!("{:.1}%", row.used as f64 * 100.0 / l as f64),
            None => String::new(),
        };
        let flag = if row.exceeded() { "  EXCEEDED" } else { "" };
        out.push_str(&format!("  {:<12} {used:>used_width$} / {limit:<limit_width$} {share:>7}{flag}\n", row.measure.key()));
    }
    let exceeded: Vec<&str> = rows.iter().filter(|r| r.exceeded()).map(|r| r.measure.key()).collect();
    if exceeded.is_empty() {
        out.push_str("within all limits\n");
    } else {
        out.push_str(&format!("exceeded: {}\n", exceeded.join(", ")));
    }
    out
}

/// `256kB`, `10MB`, `16MiB`, `1000`, `1_000 B`.
fn parse_size(text: &str) -> Result<u64, String> {
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` (use B, kB, MB, GB, KiB, MiB or GiB)")),
    };
    parse_count(number.trim())?.checked_mul(multiplier).ok_or_else(|| format!("`{text}` is too large"))
}

/// `11000000`, `11_000_000`, `11,000,000`.
fn parse_count(text: &str) -> Result<u64, String> {
    let digits: String = text.chars().filter(|c| *c != '_' && *c != ',').collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{text}` is not a whole number"));
    }
    digits.parse().map_err(|_| format!("`{text}` is too large"))
}

/// `11000000` → `11,000,000`.
fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limits_file_parses_with_units_and_comments() {
        let text = "# mine\nname = edge\ninstructions = 5_000_000\nmodule = 512kB # file\nmemory = 16MiB\nlogs = 1,000\n";
        let limits = Limits::parse(text, "x").unwrap();
        assert_eq!(limits.name, "edge");
        assert_eq!(limits.limit(Measure::Instructions), Some(5_000_000));
        assert_eq!(limits.limit(Measure::Module), Some(512_000));
        assert_eq!(limits.limit(Measure::Memory), Some(16 << 20));
        assert_eq!(limits.limit(Measure::Logs), Some(1_000));
        assert_eq!(limits.limit(Measure::Input), None);
        assert_eq!(Limits::parse("", "plain").unwrap().name, "plain");
    }

    #[test]
    fn a_bad_limits_file_names_the_line() {
        assert_eq!(Limits::parse("module = 1kB\nspeed = 3\n", "x").unwrap_err(), "line 2: unknown limit `speed` (the limits are name, instructions, module, memory, input, output, logs)");
        assert_eq!(Limits::parse("memory = 3 parsecs", "x").unwrap_err(), "line 1: unknown size unit `parsecs` (use B, kB, MB, GB, KiB, MiB or GiB)");
        assert!(Limits::parse("instructions = 1kB", "x").unwrap_err().starts_with("line 1: "));
        assert!(Limits::parse("logs = 1\nlogs = 2", "x").unwrap_err().contains("twice"));
        assert!(Limits::parse("just words", "x").unwrap_err().contains("key = value"));
    }

    #[test]
    fn the_report_names_each_exceeded_limit() {
        let usage = Usage { instructions: 12_000_000, module: 2_491, memory: 4_849_664, input: 1_050, output: 25_000, logs: 0 };
        let limits = Limits::shopify();
        let rows = limits.check(&usage);
        let exceeded: Vec<Measure> = rows.iter().filter(|r| r.exceeded()).map(|r| r.measure).collect();
        assert_eq!(exceeded, [Measure::Instructions, Measure::Output]);
        let report = render(&limits, &rows);
        let line = |key: &str| report.lines().find(|l| l.trim_start().starts_with(key)).unwrap_or_default().to_string();
        assert!(line("instructions").contains("12,000,000 / 11,000,000") && line("instructions").ends_with("EXCEEDED"), "{report}");
        assert!(line("module").contains("2,491 B / 256,000 B") && !line("module").ends_with("EXCEEDED"), "{report}");
        assert!(report.ends_with("exceeded: instructions, output\n"), "{report}");
        let within = render(&limits, &limits.check(&Usage::default()));
        assert!(within.ends_with("within all limits\n"), "{within}");
    }
}
