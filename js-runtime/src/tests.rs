//! Native tests of the runtime API against an in-memory host.

use crate::{JsRuntime, MemoryHost, UnhandledRejections};
use rquickjs::{Context, Runtime};

// Fields drop in order: the runtime API's persistent values must go before
// the context and runtime that own them.
struct Harness {
    js: JsRuntime,
    ctx: Context,
    rt: Runtime,
    host: MemoryHost,
}

impl Harness {
    fn new(stdin: &[u8]) -> Self {
        let rt = Runtime::new().unwrap();
        let ctx = Context::full(&rt).unwrap();
        let host = MemoryHost::new(stdin);
        let js = ctx.with(|ctx| JsRuntime::install(&ctx, host.clone())).unwrap();
        Harness { js, ctx, rt, host }
    }

    /// Runs a script and its jobs; returns (stdout, stderr) as text.
    fn run(&self, source: &str) -> (String, String) {
        self.ctx.with(|ctx| {
            if let Err(rquickjs::Error::Exception) = ctx.eval::<(), _>(source) {
                let e = ctx.catch();
                let text = self.js.describe_uncaught(&ctx, e);
                panic!("script threw: {text}");
            }
        });
        if let Err(e) = self.js.run_event_loop(&self.rt, &self.ctx) {
            panic!("event loop failed: {e}");
        }
        self.js.flush().unwrap();
        (
            String::from_utf8(self.host.stdout()).unwrap(),
            String::from_utf8(self.host.stderr()).unwrap(),
        )
    }
}

fn stdout_of(source: &str) -> String {
    Harness::new(b"").run(source).0
}

#[test]
fn console_streams_split_between_stdout_and_stderr() {
    let (out, err) = Harness::new(b"").run("console.log('a'); console.warn('b'); console.info('c'); console.error('d'); console.debug('e')");
    assert_eq!(out, "a\nc\ne\n");
    assert_eq!(err, "b\nd\n");
}

#[test]
fn console_formats_values_like_node() {
    assert_eq!(stdout_of("console.log(1, -0, 'x', null, undefined, true, 10n)"), "1 -0 x null undefined true 10n\n");
    assert_eq!(stdout_of("console.log({ a: 1, 'b-c': 'x', d: [1, 'two'] })"), "{ a: 1, 'b-c': 'x', d: [ 1, 'two' ] }\n");
    assert_eq!(stdout_of("console.log([[[[1]]]], { a: { b: { c: { d: 1 } } } })"), "[ [ [ [Array] ] ] ] { a: { b: { c: [Object] } } }\n");
    assert_eq!(stdout_of("console.log(new Map([[1, 'a']]), new Set([1]))"), "Map(1) { 1 => 'a' } Set(1) { 1 }\n");
    assert_eq!(stdout_of("const o = { name: 'o' }; o.self = o; console.log(o)"), "<ref *1> { name: 'o', self: [Circular *1] }\n");
    assert_eq!(stdout_of("console.log(function foo() {}, class Bar {}, Symbol('s'))"), "[Function: foo] [class Bar] Symbol(s)\n");
    assert_eq!(stdout_of("console.log(new Uint8Array([1, 2]))"), "Uint8Array(2) [ 1, 2 ]\n");
}

#[test]
fn console_breaks_long_objects_over_lines() {
    let out = stdout_of("console.log({ alpha: 'aaaaaaaaaaaaaaaa', beta: 'bbbbbbbbbbbbbbbbbbbb', gamma: 'cccccccccccccccccccc' })");
    assert_eq!(out, "{\n  alpha: 'aaaaaaaaaaaaaaaa',\n  beta: 'bbbbbbbbbbbbbbbbbbbb',\n  gamma: 'cccccccccccccccccccc'\n}\n");
}

#[test]
fn console_format_specifiers() {
    assert_eq!(stdout_of("console.log('%s is %d years, %i, %f, %j, 100%%', 'Bob', 42.5, 42.5, '1.5', {a:1})"), "Bob is 42.5 years, 42, 1.5, {\"a\":1}, 100%\n");
    assert_eq!(stdout_of("console.log('%s', 'a', 'extra')"), "a extra\n");
}

#[test]
fn errors_print_with_their_stack() {
    let out = stdout_of("function f() { return new Error('boom'); }\nconsole.log(f())");
    assert!(out.starts_with("Error: boom\n    at f"), "{out}");
}

#[test]
fn javy_io_reads_stdin_and_writes_stdout() {
    let h = Harness::new(b"hello world");
    let (out, _) = h.run(
        "const buf = new Uint8Array(5); let n, chunks = [];
         while ((n = Javy.IO.readSync(0, buf)) > 0) chunks.push(n);
         Javy.IO.writeSync(1, new Uint8Array([79, 75])); console.log(' ' + chunks.join(','))",
    );
    assert_eq!(out, "OK 5,5,1\n");
}

#[test]
fn javy_json_reads_stdin_as_json_and_writes_json_to_stdout() {
    let h = Harness::new("{\"n\": 41, \"tags\": [\"é\"]}".as_bytes());
    let (out, _) = h.run(
        "const input = Javy.JSON.fromStdin();
         Javy.JSON.toStdout({ n: input.n + 1, tags: input.tags });
         try { Javy.JSON.toStdout(undefined) } catch (e) { console.log('', e instanceof TypeError) }",
    );
    assert_eq!(out, "{\"n\":42,\"tags\":[\"é\"]} true\n");
}

#[test]
fn shopify_function_reads_stdin_and_writes_json_in_a_script() {
    // As @shopify/shopify_function v2's run.ts calls it.
    let h = Harness::new("{\"cart\": {\"lines\": [1, 2]}}".as_bytes());
    let (out, _) = h.run(
        "const input = ShopifyFunction.readInput();
         ShopifyFunction.writeOutput({ count: input.cart.lines.length });
         try { ShopifyFunction.writeOutput(undefined) } catch (e) { console.log('', e instanceof TypeError) }",
    );
    assert_eq!(out, "{\"count\":2} true\n");
}

#[test]
fn shopify_function_sees_the_invocation_input_and_gives_its_result() {
    let h = Harness::new(b"stdin is not read during an invocation");
    let written = h.ctx.with(|ctx| {
        let input: rquickjs::Value = ctx.json_parse("{\"n\": 41}").unwrap();
        h.js.begin_invocation(&ctx, input);
        ctx.eval::<(), _>("const i = ShopifyFunction.readInput(); ShopifyFunction.writeOutput({ n: i.n + 1 })").unwrap();
        let written = h.js.end_invocation(&ctx).unwrap().expect("writeOutput was called");
        let text = ctx.json_stringify(written).unwrap().unwrap().to_string().unwrap();
        // Ended: the script form again (stdin is JSON-parsed, so it throws).
        let after = ctx.eval::<(), _>("ShopifyFunction.readInput()").is_err();
        let _ = ctx.catch();
        (text, after, h.js.end_invocation(&ctx).unwrap().is_none())
    });
    assert_eq!(written, ("{\"n\":42}".to_string(), true, true));
    assert_eq!(h.host.stdout(), b"");
}

#[test]
fn javy_io_rejects_non_uint8array() {
    let (out, _) = Harness::new(b"").run(
        "try { Javy.IO.writeSync(1, 'text') } catch (e) { console.log(e instanceof TypeError) }
         try { Javy.IO.readSync(0, [1]) } catch (e) { console.log(e instanceof TypeError) }",
    );
    assert_eq!(out, "true\ntrue\n");
}

#[test]
fn javy_io_write_returns_the_byte_count_and_respects_subarrays() {
    let (out, _) = Harness::new(b"").run(
        "const n = Javy.IO.writeSync(1, new Uint8Array([65, 66, 67, 68]).subarray(1, 3)); console.log('', n)",
    );
    assert_eq!(out, "BC 2\n");
}

#[test]
fn text_encoder_and_decoder_round_trip_utf8() {
    let out = stdout_of(
        "const bytes = new TextEncoder().encode('héllo €');
         console.log(bytes.length, new TextDecoder().decode(bytes));
         console.log(new TextDecoder().decode(new Uint8Array([0x61, 0xff])) === 'a\\ufffd');
         try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])) } catch (e) { console.log(e.name) }",
    );
    assert_eq!(out, "10 héllo €\ntrue\nTypeError\n");
}

#[test]
fn promise_jobs_run_to_completion() {
    let out = stdout_of("(async () => { await null; console.log('after await') })(); console.log('sync')");
    assert_eq!(out, "sync\nafter await\n");
}

#[test]
fn math_random_is_reseeded_after_forget_seed() {
    let h = Harness::new(b"");
    let draw = |h: &Harness| h.ctx.with(|ctx| ctx.eval::<f64, _>("Math.random()").unwrap());
    let first = draw(&h);
    h.js.reseed_random();
    let second = draw(&h);
    assert_ne!(first, second);
    assert!((0.0..1.0).contains(&first) && (0.0..1.0).contains(&second));
}

#[test]
fn unhandled_rejections_are_reported_and_handled_ones_are_not() {
    let h = Harness::new(b"");
    let rejections = UnhandledRejections::track(&h.rt);
    h.run("Promise.reject(new Error('late')).catch(() => {}); Promise.reject(new Error('lost'))");
    let reason = h.ctx.with(|ctx| rejections.take_first(&ctx).map(|v| h.js.describe_uncaught(&ctx, v)));
    let reason = reason.expect("one unhandled rejection");
    assert!(reason.starts_with("Uncaught Error: lost"), "{reason}");
}

#[test]
fn stdin_and_stdout_are_sealed_at_build_time() {
    let h = Harness::new(b"input");
    h.js.set_build_time(true);
    let (out, _) = h.run(
        "try { Javy.IO.readSync(0, new Uint8Array(4)) } catch (e) { console.error(e.message) }
         try { console.log('x') } catch (e) { console.error(e.message) }
         console.warn('warnings still go to stderr')",
    );
    assert_eq!(out, "");
    let err = String::from_utf8(h.host.stderr()).unwrap();
    let lines: Vec<_> = err.lines().collect();
    assert!(lines[0].starts_with("readSync: stdin is not available while the module's top level runs at build time"), "{err}");
    assert!(lines[1].starts_with("console: stdout is not available"), "{err}");
    assert_eq!(lines[2], "warnings still go to stderr");
    h.js.set_build_time(false);
    assert_eq!(h.run("console.log('now it works')").0, "now it works\n");
}

#[test]
fn console_can_be_redirected_to_stderr() {
    let h = Harness::new(b"");
    h.js.set_console_to_stderr(true);
    let (out, err) = h.run("console.log('a'); console.error('b')");
    assert_eq!((out.as_str(), err.as_str()), ("", "a\nb\n"));
}

#[test]
fn timers_run_in_due_order_on_a_virtual_clock() {
    let out = stdout_of(
        "const log = [];
         setTimeout(() => log.push('t100'), 100);
         setTimeout((a, b) => log.push('t0 ' + a + b), 0, 'x', 'y');
         setTimeout(() => log.push('t1'), 1);
         const never = setTimeout(() => log.push('cleared'), 5); clearTimeout(never);
         let n = 0; const iv = setInterval(() => { log.push('iv' + ++n); if (n === 3) clearInterval(iv); }, 30);
         setTimeout(() => Promise.resolve().then(() => log.push('job after t50')), 50);
         setTimeout(() => log.push('t50b'), 50);
         Promise.resolve().then(() => log.push('job first'));
         setTimeout(() => console.log(log.join(' ')), 10 * 60 * 1000);",
    );
    assert_eq!(out, "job first t0 xy t1 iv1 job after t50 t50b iv2 iv3 t100\n");
}

#[test]
fn timer_callbacks_that_throw_fail_the_event_loop() {
    let h = Harness::new(b"");
    h.ctx.with(|ctx| ctx.eval::<(), _>("setTimeout(() => { throw new RangeError('late') }, 5)").unwrap());
    let error = h.js.run_event_loop(&h.rt, &h.ctx).unwrap_err();
    assert!(error.starts_with("Uncaught RangeError: late"), "{error}");
}

#[test]
fn set_timeout_rejects_strings() {
    let out = stdout_of("try { setTimeout('1+1', 0) } catch (e) { console.log(e.name) }");
    assert_eq!(out, "TypeError\n");
}

/// The Encoding standard maps the latin1/ascii labels to windows-1252, whose
/// bytes 0x80-0x9F are typographic characters. (Node decodes them as
/// ISO-8859-1 control characters; the differential corpus avoids them.)
#[test]
fn latin1_labels_decode_as_windows_1252() {
    let out = stdout_of("console.log(new TextDecoder('latin1').decode(new Uint8Array([0x80, 0x93, 0x94, 0x9f, 0xe9])))");
    assert_eq!(out, "€“”Ÿé\n");
}

#[test]
fn utf8_streaming_keeps_split_sequences() {
    let out = stdout_of(
        "const d = new TextDecoder(); const b = new TextEncoder().encode('a😀b');
         let s = ''; for (const x of b) s += d.decode(new Uint8Array([x]), { stream: true }); s += d.decode();
         console.log(s, s.length)",
    );
    assert_eq!(out, "a😀b 4\n");
}

#[test]
fn kiln_stdin_reads_whole_streams() {
    let h = Harness::new("{\"a\":[1,2]}".as_bytes());
    assert_eq!(h.run("const v = Kiln.stdin.json(); Kiln.stdout.write(JSON.stringify(v.a))").0, "[1,2]");
    let h = Harness::new(&[0xff, 0x00, 0x41]);
    assert_eq!(h.run("const b = Kiln.stdin.bytes(); console.log(b.length, b[0], b[2]); try { Kiln.stdin.text() } catch (e) { console.log(e.message) }").0, "3 255 65\nKiln.stdin.text(): stdin has already been read\n");
    let h = Harness::new("héllo".as_bytes());
    assert_eq!(h.run("const n = Kiln.stdout.write(Kiln.stdin.text().toUpperCase()); Kiln.stdout.write(new Uint8Array([10])); console.log(n)").0, "HÉLLO\n6\n");
}

#[test]
fn console_time_prints_a_duration() {
    let out = stdout_of("console.time('t'); console.timeLog('t', 'mid'); console.timeEnd('t'); console.time(); console.timeEnd()");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("t: ") && lines[0].ends_with("ms mid"), "{out}");
    assert!(lines[1].starts_with("t: ") && lines[1].ends_with("ms"), "{out}");
    assert!(lines[2].starts_with("default: "), "{out}");
}

#[test]
fn console_trace_goes_to_stderr_with_a_stack() {
    let (_, err) = Harness::new(b"").run("function f() { console.trace('here %d', 1) }\nf()");
    assert!(err.starts_with("Trace: here 1\n    at f ("), "{err}");
}

/// Every global that `kiln.d.ts` declares exists at run time, and every
/// global the runtime adds is declared.
#[test]
fn type_declarations_match_the_globals() {
    let dts = include_str!("../kiln.d.ts");
    let mut declared: Vec<String> = dts
        .lines()
        .filter_map(|l| l.strip_prefix("declare "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|name| name.split(['<', '(', ':', ';']).next().unwrap().to_string())
        .collect();
    declared.sort();
    declared.dedup();
    let h = Harness::new(b"");
    let source = format!(
        "const declared = {declared:?};
         const missing = declared.filter((name) => typeof globalThis[name] === 'undefined');
         const extra = Object.getOwnPropertyNames(globalThis).filter((name) => !declared.includes(name) && !baseline.includes(name));
         console.log(JSON.stringify({{ missing, extra }}))"
    );
    // Globals of a plain QuickJS context, which the ECMAScript lib declares.
    let baseline = {
        let rt = Runtime::new().unwrap();
        let ctx = Context::full(&rt).unwrap();
        ctx.with(|ctx| ctx.eval::<Vec<String>, _>("Object.getOwnPropertyNames(globalThis)").unwrap())
    };
    let (out, _) = h.run(&format!("const baseline = {baseline:?};\n{source}"));
    assert_eq!(out, "{\"missing\":[],\"extra\":[]}\n");
}

#[test]
fn structured_clone_copies_deeply_and_refuses_functions() {
    let out = stdout_of(
        "const a = { d: new Date(5), m: new Map([[1, { x: [1] }]]), u: new Uint16Array([7]) }; a.self = a;
         const b = structuredClone(a);
         console.log(b !== a, b.self === b, b.d.getTime(), b.m.get(1).x[0], b.m.get(1) !== a.m.get(1), b.u[0], b.u.buffer !== a.u.buffer);
         try { structuredClone({ f() {} }) } catch (e) { console.log(e.name, e instanceof DOMException) }",
    );
    assert_eq!(out, "true true 5 1 true 7 true\nDataCloneError true\n");
}

#[test]
fn base64_round_trips_and_validates() {
    let out = stdout_of(
        "console.log(btoa('Kiln!'), atob(btoa('\\x00\\xff binary')) === '\\x00\\xff binary', atob('S2lsbiE'));
         for (const f of [() => btoa('\\u0100'), () => atob('*')]) { try { f() } catch (e) { console.log(e.name) } }",
    );
    assert_eq!(out, "S2lsbiE= true Kiln!\nInvalidCharacterError\nInvalidCharacterError\n");
}

#[test]
fn crypto_draws_from_the_host() {
    let out = stdout_of(
        "const a = crypto.getRandomValues(new Uint8Array(16)), b = crypto.getRandomValues(new Uint8Array(16));
         console.log(a.some((x, i) => x !== b[i]), crypto.randomUUID()[14], performance.now() >= 0)",
    );
    assert_eq!(out, "true 4 true\n");
}

#[test]
fn console_fast_path_prints_what_the_formatter_prints() {
    // Strings only take the native path; everything else the formatter.
    let source = r#"
        console.log(); console.log('a'); console.log('a', 'b', ''); console.log('100%', 'x'); console.log('%s!', 'x');
        console.log('a', 1); console.log('1', '2', '3', '4', '5', '6', '7', '8', '9');
        console.group('g'); console.log('in', 'side'); console.groupEnd(); console.log('out');
        console.info('i'); console.debug('d'); console.warn('w', 'x'); console.error('e');
        console.log('\ud800'.length, [console.log.name, console.log.length, console.error.name].join());
        const log = console.log; log('detached');
        Promise.resolve().then(() => console.log('job'));
    "#;
    let (out, err) = Harness::new(b"").run(source);
    assert_eq!(out, "\na\na b \n100% x\nx!\na 1\n1 2 3 4 5 6 7 8 9\ng\n  in side\nout\ni\nd\n1 log,0,error\ndetached\njob\n");
    assert_eq!(err, "w x\ne\n");
}

#[test]
fn timers_set_late_still_run() {
    // Timers are armed on demand: one set by a job after the queue drained
    // once, or after every earlier timer ran, still runs.
    let (out, _) = Harness::new(b"").run(
        "Promise.resolve().then(() => setTimeout(() => { console.log('a'); setTimeout(() => console.log('b'), 5); }, 1));
         const t = setTimeout(() => console.log('never'), 1); clearTimeout(t);",
    );
    assert_eq!(out, "a\nb\n");
}

#[test]
fn console_writes_lone_surrogates_as_replacement_characters() {
    let h = Harness::new(b"");
    // Both paths: the native fast path (strings only) and the formatter.
    let (out, err) = h.run("console.log('a\\ud800b', 'c'); console.log('%s!', '\\udc00'); console.log(['\\ud83d']);");
    assert_eq!(out, "a\u{FFFD}b c\n\u{FFFD}!\n[ '\\ud83d' ]\n");
    assert_eq!(err, "");
}

#[test]
fn a_closed_stdout_stops_the_program_even_if_it_catches() {
    let h = Harness::new(b"");
    h.host.close_stdout_after(0);
    let source = "globalThis.attempts = 0;\n\
        for (;;) { try { attempts++; Kiln.stdout.write('x'.repeat(70000)); } catch (e) { if (attempts > 5) break; } }";
    let outcome = h.ctx.with(|ctx| match ctx.eval::<(), _>(source) {
        Err(rquickjs::Error::Exception) => Err(h.js.describe_uncaught(&ctx, ctx.catch())),
        other => other.map_err(|e| e.to_string()),
    });
    // The first write fails (it fills the buffer, and the flush finds no
    // reader); the catch block never sees it.
    assert!(outcome.is_err(), "the program ran on: {outcome:?}");
    assert!(h.js.stdout_closed());
    let attempts: i32 = h.ctx.with(|ctx| ctx.globals().get("attempts")).unwrap();
    assert_eq!(attempts, 1);
    assert!(h.js.flush().is_err());
    // Promise jobs stop too.
    h.ctx.with(|ctx| ctx.eval::<(), _>("(async () => { for (;;) { await null; globalThis.attempts++; } })()")).unwrap();
    h.js.run_event_loop(&h.rt, &h.ctx).unwrap();
    let attempts: i32 = h.ctx.with(|ctx| ctx.globals().get("attempts")).unwrap();
    assert_eq!(attempts, 1);
}

#[test]
fn other_write_errors_stay_catchable() {
    let h = Harness::new(b"");
    let (out, _) = h.run("try { Javy.IO.writeSync(3, new Uint8Array(1)); } catch (e) { console.log('caught', e.message); }");
    assert_eq!(out, "caught writeSync: fd 3 is not writable (use 1 for stdout, 2 for stderr)\n");
    assert!(!h.js.stdout_closed());
}

#[test]
fn an_uncaught_error_with_a_lone_surrogate_is_described() {
    let h = Harness::new(b"");
    let text = h.ctx.with(|ctx| {
        let thrown = ctx.eval::<(), _>("throw new Error('bad \\ud800 thing')");
        assert!(matches!(thrown, Err(rquickjs::Error::Exception)));
        h.js.describe_uncaught(&ctx, ctx.catch())
    });
    assert!(text.starts_with("Uncaught Error: bad \u{FFFD} thing\n"), "{text}");
}
