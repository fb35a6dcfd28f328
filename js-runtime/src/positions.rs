//! Stack traces of transformed modules in their original positions (see
//! `js/positions.js`, and `kiln-positions` for the tables).

use crate::bytecode;
use kiln_positions::Table;
use rquickjs::{Ctx, Function, Value};
use std::collections::BTreeMap;

/// Makes every stack QuickJS formats name the original positions of the
/// modules in `tables` — (module name, position table made by
/// `kiln_positions::encode`) — when it is read. Frames of other modules are
/// untouched. Call it at most once per context, and not at all when no
/// module has a table: a build without tables stays exactly as it was.
///
/// The tables stay in Rust memory (the snapshot, for a module); a lookup
/// decodes the lines it needs, in Rust: formatting a stack costs about as
/// much as the frames it maps, not as much as the tables.
///
/// # Errors
///
/// A table without a name line, or QuickJS failing (out of memory).
pub fn install_positions<'js>(ctx: &Ctx<'js>, tables: Vec<(String, Vec<u8>)>) -> rquickjs::Result<()> {
    let installer = positions_installer(ctx)?;
    install_positions_with(ctx, &installer, tables)
}

/// Compiles and runs the runtime API's `positions.js`, which gives the
/// function that installs position tables: the part of
/// [`install_positions`] that does not depend on the program, for an
/// engine that is initialized before its program is known (it must run
/// before [`crate::wipe_sources`]).
///
/// # Errors
///
/// QuickJS failing (out of memory).
pub fn positions_installer<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Function<'js>> {
    let compiled = bytecode::compile_script(ctx, "kiln:positions", crate::POSITIONS_JS.bytes(), true, true)?;
    bytecode::run_script(ctx, compiled)?.into_function().ok_or_else(|| rquickjs::Error::new_from_js("value", "function"))
}

/// [`install_positions`] with an installer made by [`positions_installer`].
///
/// # Errors
///
/// As [`install_positions`].
pub fn install_positions_with<'js>(ctx: &Ctx<'js>, installer: &Function<'js>, tables: Vec<(String, Vec<u8>)>) -> rquickjs::Result<()> {
    let mut by_name = BTreeMap::new();
    for (name, table) in tables {
        let table = Table::new(table).ok_or_else(|| rquickjs::Error::new_from_js("bytes", "position table"))?;
        by_name.insert(name, table);
    }
    let map = Function::new(ctx.clone(), move |ctx: Ctx<'js>, stack: rquickjs::String<'js>| -> rquickjs::Result<Value<'js>> {
        // A stack whose text is not UTF-8 (a lone surrogate in a function's
        // name) is left as it is.
        let mapped = stack.to_string().ok().and_then(|text| kiln_positions::map_stack(&text, |name| by_name.get(name)));
        match mapped {
            Some(text) => Ok(rquickjs::String::from_str(ctx, &text)?.into_value()),
            None => Ok(stack.into_value()),
        }
    })?;
    installer.call((map,))
}

#[cfg(test)]
mod tests {
    use super::install_positions;
    use crate::{JsRuntime, MemoryHost, compile_script, run_script};
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
        let tables: Vec<(String, Vec<u8>)> = tables.iter().map(|(n, t)| (n.to_string(), t.to_vec())).collect();
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
