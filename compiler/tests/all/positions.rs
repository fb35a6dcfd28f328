//! Stack traces of transformed modules name the positions the user wrote:
//! a module built with a position table (what the front end makes of a
//! TypeScript file's source map) reports `err.stack` and the uncaught-error
//! report in the original file's lines and columns, on both hosts, and
//! costs no fuel when no stack is read.
//!
//! The transformed code and its source map are made here: the TypeScript
//! below with its types taken out, and a map with a token at every word of
//! the generated code (found, in order, on the original line it came from).

use crate::util::{fuel_from_stats, kiln, run_both, run_with_stdin};
use kiln::{Compiler, Source};
use oxc_sourcemap::{SourceMap, Token};
use std::path::Path;

const CART_TS: &str = "interface Line { price: number; quantity: number }\n\nexport function total(lines: Line[]): number {\n  let sum = 0;\n  for (const line of lines) {\n    if (line.quantity < 0) throw new RangeError(`negative quantity: ${line.quantity}`);\n    sum += line.price * line.quantity;\n  }\n  return sum;\n}\n";
const CART_JS: &str = "export function total(lines) {\n  let sum = 0;\n  for (const line of lines) {\n    if (line.quantity < 0) throw new RangeError(`negative quantity: ${line.quantity}`);\n    sum += line.price * line.quantity;\n  }\n  return sum;\n}\n";
/// Generated line i (0-based) of cart.js came from line `CART_LINES[i]` of cart.ts.
const CART_LINES: [usize; 8] = [2, 3, 4, 5, 6, 7, 8, 9];

const MAIN_TS: &str = "import { total } from \"./cart\";\n\nconst carts: { price: number; quantity: number }[][] = [[{ price: 2, quantity: 3 }], [{ price: 1, quantity: -1 }]];\ntry {\n  total(carts[1]);\n} catch (error) {\n  console.log((error as Error).stack);\n}\nconsole.log(total(carts[0]));\ntotal(carts[1]);\n";
const MAIN_JS: &str = "import { total } from \"./cart.js\";\nconst carts = [[{ price: 2, quantity: 3 }], [{ price: 1, quantity: -1 }]];\ntry {\n  total(carts[1]);\n} catch (error) {\n  console.log(error.stack);\n}\nconsole.log(total(carts[0]));\ntotal(carts[1]);\n";
const MAIN_LINES: [usize; 9] = [0, 2, 3, 4, 5, 6, 7, 8, 9];

/// The source map of `generated` to `original`, whose line `lines[i]`
/// generated line i came from.
fn source_map(generated: &str, original: &str, lines: &[usize], source: &str) -> SourceMap<'static> {
    let mut tokens = Vec::new();
    let original: Vec<&str> = original.lines().collect();
    for (g, line) in generated.lines().enumerate() {
        let from = original[lines[g]];
        let mut cursor = 0;
        for (col, word) in words(line) {
            let Some(found) = from[cursor..].find(word).map(|i| cursor + i) else { continue };
            tokens.push(Token::new(g as u32, col as u32, lines[g] as u32, found as u32, Some(0), None));
            cursor = found + word.len();
        }
    }
    SourceMap::new(None, vec![], None, vec![source.to_string().into()], vec![None], tokens.into_boxed_slice(), None)
}

/// (column, text) of each run of identifier characters and each other
/// non-space character of `line`.
fn words(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c == ' ' {
            continue;
        }
        let mut end = start + c.len_utf8();
        if c.is_alphanumeric() {
            while let Some(&(i, c)) = chars.peek().filter(|(_, c)| c.is_alphanumeric()) {
                end = i + c.len_utf8();
                chars.next();
            }
        }
        out.push((start, &line[start..end]));
    }
    out
}

/// Writes the generated files and builds main.js, with the position tables
/// if `mapped`; returns the module's path.
fn build(dir: &Path, main: &str, mapped: bool) -> std::path::PathBuf {
    std::fs::write(dir.join("main.js"), main).unwrap();
    std::fs::write(dir.join("cart.js"), CART_JS).unwrap();
    let mut source = Source::from_path(&dir.join("main.js")).unwrap();
    if mapped {
        let cart = source_map(CART_JS, CART_TS, &CART_LINES, "src/cart.ts");
        let main_map = source_map(main, MAIN_TS, &MAIN_LINES, "src/main.ts");
        source.position_tables = vec![
            ("main.js".into(), kiln_positions::encode(&main_map, main, "src/main.ts")),
            ("cart.js".into(), kiln_positions::encode(&cart, CART_JS, "src/cart.ts")),
        ];
    }
    let compiled = Compiler::new().unwrap().compile(&source).unwrap_or_else(|e| panic!("{e}"));
    let wasm = dir.join(if mapped { "mapped.wasm" } else { "plain.wasm" });
    std::fs::write(&wasm, compiled.wasm).unwrap();
    wasm
}

#[test]
fn caught_and_uncaught_stacks_name_the_typescript_positions_on_both_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_both(dir.path(), &build(dir.path(), MAIN_JS, true), b"");
    // QuickJS places a frame at the first argument of the call: cart.ts:6:71
    // is `line` of `${line.quantity}`, main.ts:5:9 and 10:7 are `carts`.
    assert_eq!(run.stdout, "    at total (src/cart.ts:6:71)\n    at <anonymous> (src/main.ts:5:9)\n\n6\n");
    assert_eq!(run.stderr, "Uncaught RangeError: negative quantity: -1\n    at total (src/cart.ts:6:71)\n    at <anonymous> (src/main.ts:10:7)\n");
    assert_eq!(run.status, Some(1));

    // Without the tables: the generated code's positions, as before.
    let plain = run_both(dir.path(), &build(dir.path(), MAIN_JS, false), b"");
    assert_eq!(plain.stdout, "    at total (cart.js:4:71)\n    at <anonymous> (main.js:4:9)\n\n6\n");
    assert_eq!(plain.stderr, "Uncaught RangeError: negative quantity: -1\n    at total (cart.js:4:71)\n    at <anonymous> (main.js:9:7)\n");

    // What the tables weigh in the module: themselves, plus the accessor,
    // its installer's bytecode and the lookup's index (measured: 619 bytes
    // of tables, 3,366 more bytes of module). The decoder itself is engine
    // code, in every module.
    let size = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().len();
    let tables: usize = [(CART_JS, CART_TS, &CART_LINES[..], "src/cart.ts"), (MAIN_JS, MAIN_TS, &MAIN_LINES[..], "src/main.ts")]
        .iter()
        .map(|(js, ts, lines, name)| kiln_positions::encode(&source_map(js, ts, lines, name), js, name).len())
        .sum();
    let added = size("mapped.wasm") - size("plain.wasm");
    eprintln!("position tables: {tables} bytes; module {} bytes mapped, {} plain (+{added})", size("mapped.wasm"), size("plain.wasm"));
    assert!(added <= tables as u64 + 4096, "the tables ({tables} bytes) added {added} bytes to the module");
}

#[test]
fn tables_cost_no_fuel_when_no_stack_is_read() {
    let dir = tempfile::tempdir().unwrap();
    // The same program, minus the throwing call at the end; the caught
    // error's stack is never read.
    let main = MAIN_JS.strip_suffix("total(carts[1]);\n").unwrap().replace("error.stack", "error.name");
    let fuel = |wasm: &Path| {
        let output = run_with_stdin(kiln(dir.path()).args(["run", "--stats"]).arg(wasm), b"");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8_lossy(&output.stdout), "RangeError\n6\n");
        fuel_from_stats(&String::from_utf8_lossy(&output.stderr))
    };
    let plain = fuel(&build(dir.path(), &main, false));
    let mapped = fuel(&build(dir.path(), &main, true));
    // Nothing of the tables runs. The two snapshots' heaps differ, though
    // (the tables are in one of them), and with them where the allocator
    // finds memory: measured 89,898 fuel mapped, 91,754 plain.
    assert!(mapped <= plain + plain / 200, "a run that reads no stack cost {mapped} fuel with position tables, {plain} without");
}


#[test]
fn a_syntax_error_quickjs_finds_in_transformed_code_names_the_original_position() {
    // Code the front end accepted but QuickJS does not: the error must point
    // into cart.ts, not at the generated cart.js.
    let bad = |text: &str| text.replace("sum += line.price * line.quantity;", "sum += line.price * * line.quantity;");
    let (cart_js, cart_ts) = (bad(CART_JS), bad(CART_TS));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.js"), MAIN_JS).unwrap();
    std::fs::write(dir.path().join("cart.js"), &cart_js).unwrap();
    let mut source = Source::from_path(&dir.path().join("main.js")).unwrap();
    let cart = source_map(&cart_js, &cart_ts, &CART_LINES, "src/cart.ts");
    source.position_tables = vec![("cart.js".into(), kiln_positions::encode(&cart, &cart_js, "src/cart.ts"))];
    let error = Compiler::new().unwrap().compile(&source).map(drop).unwrap_err();
    let kiln::Error::JsSyntax { location: Some(location), .. } = &error else { panic!("{error:?}") };
    // Line 5 of cart.js, column 25 (the second `*`), came from line 7 of cart.ts.
    assert_eq!((location.file.as_str(), location.line, location.column), ("src/cart.ts", 7, 25), "{error}");
}
