//! Per-invocation cost budgets, in wasmtime fuel (deterministic, so a budget
//! is a fair test; timings are not). Javy 9 needs 18,909 for an empty
//! program and 25,465 for a console hello.

use crate::util::{build_program, fuel_from_stats, kiln, run_with_stdin};

/// Builds `source` with `args` and returns the fuel of one run on `stdin`,
/// checking the output.
fn fuel_of(name: &str, source: &str, args: &[&str], stdin: &[u8], stdout: &str) -> u64 {
    let (dir, wasm) = build_program(name, source);
    let wasm = if args.is_empty() {
        wasm
    } else {
        let out = dir.path().join("args.wasm");
        let output = run_with_stdin(kiln(dir.path()).arg("build").arg(name).args(args).arg("-o").arg(&out), b"");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        out
    };
    let output = run_with_stdin(kiln(dir.path()).args(["run", "--stats"]).arg(&wasm), stdin);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), stdout);
    fuel_from_stats(&String::from_utf8_lossy(&output.stderr))
}

#[test]
fn an_empty_program_costs_at_most_5000_fuel() {
    let fuel = fuel_of("empty.js", "", &[], b"", "");
    assert!(fuel <= 5_000, "an empty program cost {fuel} fuel");
}

#[test]
fn a_console_hello_costs_at_most_10000_fuel() {
    let fuel = fuel_of("hello.js", "console.log(\"hello\");\n", &[], b"", "hello\n");
    assert!(fuel <= 10_000, "console.log(\"hello\") cost {fuel} fuel");
}

#[test]
fn an_identity_function_costs_at_most_40000_fuel() {
    // Function mode: read stdin, parse, call, stringify, write.
    let fuel = fuel_of("id.mjs", "export function run(input) { return input; }\n", &["--invoke", "run"], b"{\"a\":[1,2]}", "{\"a\":[1,2]}\n");
    assert!(fuel <= 40_000, "an identity function cost {fuel} fuel");
}
