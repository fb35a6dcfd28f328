//! Stack traces of transformed modules in their original positions (see
//! `js/positions.js`, and `positions/` for the tables).

use crate::bytecode;
use rquickjs::{Array, Ctx, Function};

/// Makes every stack QuickJS formats name the original positions of the
/// modules in `tables` — (module name, position table made by
/// `kiln_positions::encode`) — when it is read. Frames of other modules are
/// untouched. Call it at most once per context, and not at all when no
/// module has a table: a build without tables stays exactly as it was.
///
/// # Errors
///
/// A table that is not UTF-8, or QuickJS failing (out of memory).
pub fn install_positions<'js>(ctx: &Ctx<'js>, tables: &[(&str, &[u8])]) -> rquickjs::Result<()> {
    let list = Array::new(ctx.clone())?;
    for (i, (name, table)) in tables.iter().enumerate() {
        let table = std::str::from_utf8(table).map_err(|_| rquickjs::Error::new_from_js("bytes", "position table"))?;
        list.set(2 * i, *name)?;
        list.set(2 * i + 1, table)?;
    }
    let compiled = bytecode::compile_script(ctx, "kiln:positions", crate::POSITIONS_JS.bytes(), true, true)?;
    let installer: Function = bytecode::run_script(ctx, compiled)?
        .into_function()
        .ok_or_else(|| rquickjs::Error::new_from_js("value", "function"))?;
    installer.call((list,))
}

#[cfg(test)]
mod tests {
    use super::install_positions;
    use crate::{JsRuntime, MemoryHost, compile_script, run_script};
    use kiln_positions::Table;
    use oxc_sourcemap::{SourceMap, Token};
    use rquickjs::{Context, Runtime};

    /// TypeScript as a user wrote it, and the code a front end makes of it
    /// (types removed, one line dropped, columns shifted).
    const ORIGINAL: &str = "type Item = { price: number };\nfunction total(items: Item[]): number {\n  let sum: number = 0;\n  for (const item of items) sum += item.price;\n  if (sum > 10) throw new RangeError(`too much: ${sum}`);\n  return sum;\n}\n";
    const GENERATED: &str = "function total(items) {\n  let sum = 0;\n  for (const item of items) sum += item.price;\n  if (sum > 10) throw new RangeError(`too much: ${sum}`);\n  return sum;\n}\n";

    /// A source map from GENERATED to ORIGINAL with a token at each word of
    /// the generated code, found in order on the original line one below.
    fn source_map() -> SourceMap<'static> {
        let mut tokens = Vec::new();
        for (g, line) in GENERATED.lines().enumerate() {
            let original = ORIGINAL.lines().nth(g + 1).unwrap();
            let mut cursor = 0;
            for (col, word) in words(line) {
                let found = cursor + original[cursor..].find(word).unwrap();
                tokens.push(Token::new(g as u32, col as u32, g as u32 + 1, found as u32, Some(0), None));
                cursor = found + word.len();
            }
        }
        SourceMap::new(None, vec![], None, vec!["src/cart.ts".into()], vec![None], tokens.into_boxed_slice(), None)
    }

    /// (column, word) of each run of word characters or single punctuation.
    fn words(line: &str) -> Vec<(usize, &str)> {
        let mut out = Vec::new();
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let start = i;
            if bytes[i].is_ascii_alphanumeric() {
                while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                    i += 1;
                }
            } else {
                i += 1;
                if bytes[start] == b' ' {
                    continue;
                }
            }
            out.push((start, &line[start..i]));
        }
        out
    }

    // Fields drop in order: the API's persistent values before the context.
    struct Harness {
        js: JsRuntime,
        ctx: Context,
        _rt: Runtime,
        host: MemoryHost,
    }

    fn harness(tables: &[(&str, &[u8])]) -> Harness {
        let rt = Runtime::new().unwrap();
        let ctx = Context::full(&rt).unwrap();
        let host = MemoryHost::new(b"");
        let js = ctx.with(|ctx| JsRuntime::install(&ctx, host.clone())).unwrap();
        if !tables.is_empty() {
            ctx.with(|ctx| install_positions(&ctx, tables)).unwrap();
        }
        Harness { js, ctx, _rt: rt, host }
    }

    impl Harness {
        /// Runs `source` as the script `file`; returns its completion value
        /// as a string.
        fn eval(&self, file: &str, source: &str) -> String {
            self.ctx.with(|ctx| {
                let compiled = compile_script(&ctx, file, source.as_bytes(), false, false).unwrap();
                match run_script(&ctx, compiled) {
                    Ok(v) => v.as_string().map(|s| s.to_string().unwrap()).unwrap_or_default(),
                    Err(_) => panic!("{file} threw: {:?}", ctx.catch()),
                }
            })
        }
    }

    fn table() -> Vec<u8> {
        kiln_positions::encode(&source_map(), GENERATED, "src/cart.ts")
    }

    const CALL: &str = "let stack; try { total([{ price: 20 }]); } catch (e) { stack = e.stack; } stack";

    #[test]
    fn frames_of_a_mapped_module_name_the_original_positions() {
        let table = table();
        let mapped = harness(&[("cart.js", &table)]);
        mapped.eval("cart.js", GENERATED);
        let stack = mapped.eval("main.js", CALL);
        // `sum` of `${sum}`: line 4 of the generated code, 5 of the original.
        assert_eq!(stack, "    at total (src/cart.ts:5:51)\n    at <eval> (main.js:1:17)\n");

        let plain = harness(&[]);
        plain.eval("cart.js", GENERATED);
        assert_eq!(plain.eval("main.js", CALL), "    at total (cart.js:4:51)\n    at <eval> (main.js:1:17)\n");
    }

    #[test]
    fn the_engine_decoder_agrees_with_the_build_side_one_everywhere() {
        let table = table();
        let decoded = Table::decode(&table).unwrap();
        let h = harness(&[("cart.js", &table)]);
        // Stacks made up by `Error.prepareStackTrace`: the accessor maps
        // whatever frames the stack holds.
        let mut frames = String::new();
        let mut expected = String::new();
        for line in 0..=8 {
            for column in 0..=60 {
                frames.push_str(&format!("    at f (cart.js:{line}:{column})\\n"));
                expected.push_str(&match decoded.original(line, column) {
                    Some((l, c)) => format!("    at f (src/cart.ts:{l}:{c})\n"),
                    None => format!("    at f (cart.js:{line}:{column})\n"),
                });
            }
        }
        let source = format!("Error.prepareStackTrace = () => \"{frames}\"; const s = new Error().stack; Error.prepareStackTrace = undefined; s");
        assert_eq!(h.eval("main.js", &source), expected);
    }

    #[test]
    fn other_frames_and_lines_pass_through_untouched() {
        let table = table();
        let h = harness(&[("cart.js", &table)]);
        let stack = "Error: x\n    at f (main.js:1:2)\n    at g (native)\n    at h (cart.js)\n    at odd (name (cart.js:2:3)\n    at cart.js:2:3\n  at cart.js:2:3\n";
        let expected = "Error: x\n    at f (main.js:1:2)\n    at g (native)\n    at h (cart.js)\n    at odd (name (src/cart.ts:3:3)\n    at src/cart.ts:3:3\n  at cart.js:2:3\n";
        let source = format!("Error.prepareStackTrace = () => {stack:?}; const s = new Error().stack; Error.prepareStackTrace = undefined; s");
        assert_eq!(h.eval("main.js", &source), expected);
    }

    #[test]
    fn capture_stack_trace_and_console_trace_are_mapped_too() {
        let table = table();
        let h = harness(&[("cart.js", &table)]);
        h.eval("cart.js", "function capture() {\n  const o = {};\n  Error.captureStackTrace(o);\n  return o.stack;\n}\n");
        // Line 3 of cart.js is the generated line 3 of the table, which
        // came from line 4 of src/cart.ts.
        assert_eq!(h.eval("main.js", "capture()"), "    at capture (src/cart.ts:4:27)\n    at <eval> (main.js:1:1)\n");
        let through = "function make() { const o = {}; Error.captureStackTrace(o, make); return o.stack; } function outer() { return make(); } outer()";
        assert_eq!(h.eval("main.js", through), "    at outer (main.js:1:110)\n    at <eval> (main.js:1:120)\n");
        h.eval("cart.js", "function trace() {\n  console.trace('here');\n}\ntrace();\n");
        h.js.flush().unwrap();
        let stderr = String::from_utf8(h.host.stderr()).unwrap();
        // (The table is GENERATED's, so these positions are its, found
        // through it: a line's start before its first segment takes the
        // line above's last.)
        assert_eq!(stderr, "Trace: here\n    at trace (src/cart.ts:3:19)\n    at <eval> (src/cart.ts:4:46)\n");
    }
}
