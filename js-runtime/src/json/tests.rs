//! The fast paths against QuickJS's own `JSON.parse`/`JSON.stringify`, kept
//! as `orig.parse`/`orig.stringify` in the same context: every case must give
//! the same text, the same value, or the same error.

use rquickjs::{Context, Runtime};

/// Runs `script` in a context where `orig` holds QuickJS's own functions and
/// `JSON` the fast ones; the script returns "ok" or a description of the
/// first mismatch.
fn check(script: &str) {
    let rt = Runtime::new().unwrap();
    let ctx = Context::full(&rt).unwrap();
    ctx.with(|ctx| {
        ctx.eval::<(), _>("globalThis.orig = { parse: JSON.parse, stringify: JSON.stringify };").unwrap();
        super::install(&ctx).unwrap();
        let outcome: String = match ctx.eval(HARNESS.to_string() + script) {
            Ok(s) => s,
            Err(rquickjs::Error::Exception) => format!("exception: {:?}", ctx.catch()),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(outcome, "ok", "{script}");
    });
}

const HARNESS: &str = r#"
function same(a, b) { return orig.stringify(a) === orig.stringify(b) && Object.is(a, b) || (typeof a === 'object' && a !== null && orig.stringify(a) === orig.stringify(b)); }
function outcome(f) { try { const v = f(); return { v }; } catch (e) { return { e: String(e), ctor: e && e.constructor && e.constructor.name }; } }
function sameOutcome(a, b) {
  if ('e' in a || 'e' in b) return a.e === b.e && a.ctor === b.ctor;
  if (typeof a.v === 'string' || a.v === undefined) return a.v === b.v;
  return same(a.v, b.v);
}
const problems = [];
// The comparison itself must be able to fail.
if (sameOutcome(outcome(() => 'a'), outcome(() => 'b')) || sameOutcome(outcome(() => { throw new TypeError('x'); }), outcome(() => { throw new SyntaxError('x'); })) || same([1], [2])) problems.push('harness compares nothing');
function stringifyCase(value, ...rest) {
  const fast = outcome(() => JSON.stringify(value, ...rest));
  const slow = outcome(() => orig.stringify(value, ...rest));
  if (!sameOutcome(fast, slow)) problems.push(`stringify: ${orig.stringify(fast)} vs ${orig.stringify(slow)}`);
}
function parseCase(text) {
  const fast = outcome(() => JSON.parse(text));
  const slow = outcome(() => orig.parse(text));
  if (!sameOutcome(fast, slow)) problems.push(`parse ${orig.stringify(text)}: ${orig.stringify(fast)} vs ${orig.stringify(slow)}`);
  if ('v' in fast && 'v' in slow) {
    // Same shape, key order, prototypes and number identities.
    const keys = (v, d = 0) => d > 100 ? 'deep' : v !== null && typeof v === 'object' ? [Object.getPrototypeOf(v) === Object.prototype, Array.isArray(v), Reflect.ownKeys(v).map(k => [k, keys(v[k], d + 1)])] : [typeof v, Object.is(v, -0)];
    if (orig.stringify(keys(fast.v)) !== orig.stringify(keys(slow.v))) problems.push(`parse shape ${orig.stringify(text)}`);
  }
}
"#;

#[test]
fn stringify_matches_quickjs() {
    check(
        r#"
        const values = [
          0, -0, 1, -1, 2147483647, -2147483648, 2147483648, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, 0.1, 1/3, -1.5e-10, 123456789012345680000,
          NaN, Infinity, -Infinity, true, false, null, undefined, "", "a", "\u0000\u001f\u007f", "\"\\\/\b\f\n\r\t", "é", "€", "😀", "\ud800", "\udc00x", "a\ud83d", "\ud83d\ude00",
          [], {}, [1, [2, [3]]], { a: 1, b: [true, null], c: { d: "x" } }, { 2: "b", 1: "a", z: 0, "-1": 1, "01": 2, "4294967295": 3, "4294967294": 4 },
          { u: undefined, f() {}, s: Symbol("x"), n: null }, [undefined, function () {}, Symbol("y")],
          JSON.parse('{"__proto__": 1, "a": 2}'), Object.create(null), Object.assign(Object.create(null), { q: 1 }),
          { "é": 1, "\n": 2, "\ud800": 3 }, new Array(3), [1, , 3], Object.assign([1, 2], { extra: 3 }),
          { toJSON() { return 42; } }, { a: { toJSON(k) { return "key:" + k; } } }, new Date(0), { get g() { return 1; } },
          new Number(3), new String("s"), new Boolean(false), Object(1n), new Proxy({ a: 1 }, {}), new Proxy([1], {}),
          new (class Point { constructor() { this.x = 1; } })(), Object.defineProperty({}, "hidden", { value: 1, enumerable: false }),
          Object.defineProperty({ v: 1 }, "toJSON", { value: () => "hidden toJSON", enumerable: false }),
          new Map([[1, 2]]), new Set([1]), /re/g, new Uint8Array(2), new Error("boom"), Symbol("top"), () => 1,
          // Read in place through shapes and string layouts.
          (() => { const o = { a: 1, b: 2, c: 3 }; delete o.b; return o; })(), { [Symbol("k")]: 1, a: 2, [Symbol.iterator]: 3 },
          (() => { class B { constructor(o) { return o; } } class S extends B { #p = 1; constructor(o) { super(o); } } const o = { a: 1 }; new S(o); return o; })(),
          Object.defineProperty({ a: 1, c: 3 }, "b", { value: 2, enumerable: false }), Object.defineProperty({ a: 1 }, "g", { get() { return 2; }, enumerable: true }),
          Object.defineProperty({ a: 1 }, "g", { get() { return 2; }, enumerable: false }),
          (() => { const a = [1, 2]; a.length = 4; return a; })(), (() => { const a = [1, 2, 3]; a.length = 1; return a; })(), Object.assign([1], { toJSON() { return 5; } }),
          Object.freeze({ a: [1], b: "x" }), Object.seal([1, 2]), { a: 1, 7: 2, b: 3 }, (() => { const o = { a: 1 }; o[5] = 2; o["4294967296"] = 3; return o; })(),
          "abcdefghijklmnopqrstuvwxyz0123456789".slice(3, 30), ("é".repeat(40) + "x\n").slice(2), ("€".repeat(40) + "\ud800").slice(3), "a".repeat(100) + "b".repeat(100) + "\u0001",
          "\x85\xff\x00\x1f\x7f\xe9\"\\abcdefgh", "abcdefgh\"ijklmnop\\qrstuvwx\u0019yz", "\ud83d\ude00\ud83d", "\udc00\ud800\udc00",
          Object.fromEntries(Array.from({ length: 40 }, (_, i) => ["k" + i, i % 3 ? "v" + i : undefined])),
          [{ a: 1, b: undefined }, { a: 2, b: "x" }, { b: 3, a: 4 }, { a: { a: { a: [] } } }],
        ];
        for (const v of values) {
          stringifyCase(v);
          stringifyCase(v, null, 2);
          stringifyCase([v], undefined, "\t");
          stringifyCase({ v }, null, "--------------x");
        }
        for (const space of [0, 1, 10, 11, -5, 3.7, NaN, "", "ab", "0123456789abc", "é", new Number(2), new String("xy"), true, {}]) {
          stringifyCase({ a: [1, { b: 2 }], c: [], d: {} }, null, space);
        }
        stringifyCase({ a: 1, b: 2, c: { a: 3 } }, ["a", "c"]);
        stringifyCase({ a: 1, b: 2 }, (k, v) => typeof v === "number" ? v * 2 : v);
        stringifyCase({ a: 1 }, 5);
        const cyclic = { a: 1 }; cyclic.self = cyclic;
        stringifyCase(cyclic);
        const cyclicArray = [1]; cyclicArray.push(cyclicArray);
        stringifyCase(cyclicArray);
        const shared = { s: 1 };
        stringifyCase({ a: shared, b: shared });
        stringifyCase({ big: 1n });
        stringifyCase({ a: { get x() { throw new RangeError("getter"); } } });
        let deep = 1; for (let i = 0; i < 1000; i++) deep = [deep, { d: deep }].slice(0, 1);
        stringifyCase(deep);
        let deepObject = {}; for (let i = 0; i < 300; i++) deepObject = { i, next: deepObject };
        stringifyCase(deepObject);
        // A toJSON on the prototypes every value reaches.
        Object.prototype.toJSON = function () { return "proto"; };
        stringifyCase({ a: 1 });
        delete Object.prototype.toJSON;
        Array.prototype.toJSON = function () { return "array proto"; };
        stringifyCase({ a: [1] });
        delete Array.prototype.toJSON;
        stringifyCase({ a: [1] });
        problems.length ? problems.join("\n") : "ok";
        "#,
    );
}

#[test]
fn parse_matches_quickjs() {
    check(
        r#"
        const texts = [
          '0', '-0', '1', '-1', '123456789', '1234567890', '2147483648', '-2147483649', '1.5', '1e3', '1E+3', '1e-3', '-0.0', '0.1', '1e400', '-1e400', '5e-324', '2e-324',
          '123456789012345678901234567890', '0.30000000000000004', '"x"', '""', '"\\u0041\\u00e9\\u20ac\\ud83d\\ude00"', '"\\ud800"', '"\\udc00"', '"\\ud800\\u0041"',
          '"\\"\\\\\\/\\b\\f\\n\\r\\t"', '"é€😀"', 'true', 'false', 'null', ' \t\n\r[ 1 , 2 ] \n', '{}', '[]', '{"a":1,"b":[true,false,null],"c":{"d":"e"}}',
          '{"__proto__":[],"a":1}', '{"a":1,"a":2,"b":3,"a":4}', '{"2":"b","1":"a","x":0,"-1":1,"01":2,"4294967295":3,"4294967294":4}', '{"é":1,"\\u00e9":2}',
          '{"":1}', '[[[[[[]]]]]]', '[' + '1,'.repeat(1000) + '1]',
          // Errors: QuickJS's messages, positions included.
          '', ' ', '[', ']', '{', '{"a"', '{"a":', '{"a":1', '{"a":1,}', '[1,]', '[1 2]', '{"a" 1}', '{a:1}', "{'a':1}", '01', '-', '-a', '1.', '1.e3', '1e', '1e+', '+1',
          '.5', 'tru', 'truex', 'nul', 'undefined', 'NaN', 'Infinity', '"abc', '"a\\x"', '"\\u12"', '"\\u12g4"', '"a\nb"', '"\t"', '1 2', '[] x', '{}{}', '\u00a0 1', '\f1', '\v1',
          '"\u2028"', '/* c */ 1', '1 // c', '0x10', '1_000', '"\\', '"\\u', '[1,\n2,\n3,\nx]', '\r\n\r\n  @',
          '[' .repeat(100000), '['.repeat(1000) + ']'.repeat(1000), '{"a":'.repeat(300) + '1' + '}'.repeat(300),
          '"\0"', '[1]\0', '\ud800', '"\ud800"', '["\ud83d"]',
        ];
        // Objects after the first of a key sequence take its shape whole.
        const rows = (row, n = 4) => '[' + Array(n).fill(row).join(',') + ']';
        for (const row of ['{"a":1,"b":2}', '{"a":1,"a":2,"b":3}', '{"__proto__":1,"x":2}', '{"1":1,"a":2,"0":3}', '{"b":{"a":[]},"a":"x"}',
                           '{' + Array.from({ length: 70 }, (_, i) => `"k${i}":${i}`).join(',') + '}', '{"é":1,"😀":2}', '{}', '{"a":{"a":{"a":1}}}']) {
          texts.push(rows(row), rows(row, 50));
        }
        texts.push('[{"a":1,"b":2},{"b":1,"a":2},{"a":3},{"a":4,"b":5,"c":6},{"a":7,"b":8}]');
        for (const t of texts) parseCase(t);
        // Taking a shared shape must leave each object its own: changing
        // one changes no other.
        const many = JSON.parse(rows('{"a":1,"b":2,"c":3}', 6));
        many[1].d = 4; delete many[2].a; many[3].b = 'changed'; Object.defineProperty(many[4], 'c', { enumerable: false }); Object.freeze(many[5]);
        const seen = orig.stringify(many.map(o => [Object.keys(o), Object.values(o), Object.isFrozen(o)]));
        if (seen !== '[[["a","b","c"],[1,2,3],false],[["a","b","c","d"],[1,2,3,4],false],[["b","c"],[2,3],false],[["a","b","c"],[1,"changed",3],false],[["a","b"],[1,2],false],[["a","b","c"],[1,2,3],true]]') problems.push('shared shapes: ' + seen);
        const again = JSON.parse(rows('{"a":1,"b":2,"c":3}', 3));
        if (orig.stringify(again) !== '[{"a":1,"b":2,"c":3},{"a":1,"b":2,"c":3},{"a":1,"b":2,"c":3}]') problems.push('after changes: ' + orig.stringify(again));
        for (const v of [12, true, null, { toString() { return '[1]'; } }, ['7'], undefined]) parseCase(v);
        // A reviver goes to QuickJS's own JSON.parse, deletion included.
        const revived = JSON.parse('{"a":1,"b":{"c":2}}', (k, v) => (k === 'a' ? undefined : v));
        if (orig.stringify(revived) !== '{"b":{"c":2}}') problems.push('reviver: ' + orig.stringify(revived));
        const sources = [];
        JSON.parse('[1.0, 2]', (k, v, context) => { sources.push(context && context.source); return v; });
        if (orig.stringify(sources) !== '["1.0","2",null]') problems.push('reviver source: ' + orig.stringify(sources));
        problems.length ? problems.join("\n") : "ok";
        "#,
    );
}

#[test]
fn generated_documents_round_trip_as_quickjs() {
    check(
        r#"
        let seed = 12345;
        function random() { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000; }
        const alphabet = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\u0001', '\u007f', 'é', 'ß', '€', '😀', '\ud800', '\udfff', '\u2028', '𝄞'];
        function str() { let s = ''; const n = Math.floor(random() * 12); for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)]; return s; }
        function num() {
          switch (Math.floor(random() * 6)) {
            case 0: return Math.floor(random() * 2000) - 1000;
            case 1: return (random() - 0.5) * 1e6;
            case 2: return random() * Math.pow(10, Math.floor(random() * 600) - 300);
            case 3: return -0;
            case 4: return Math.floor(random() * 2 ** 53);
            default: return random();
          }
        }
        function gen(depth) {
          const r = random();
          if (depth > 6 || r < 0.3) return [num, str, () => true, () => false, () => null][Math.floor(random() * 5)]();
          if (r < 0.65) { const a = []; const n = Math.floor(random() * 6); for (let i = 0; i < n; i++) a.push(gen(depth + 1)); return a; }
          const o = {}; const n = Math.floor(random() * 6);
          for (let i = 0; i < n; i++) o[random() < 0.2 ? String(Math.floor(random() * 20)) : str()] = gen(depth + 1);
          return o;
        }
        for (let i = 0; i < 400; i++) {
          const doc = gen(0);
          stringifyCase(doc);
          stringifyCase(doc, null, 1);
          const text = orig.stringify(doc);
          parseCase(text);
          parseCase(orig.stringify(doc, null, 3));
          if (JSON.stringify(JSON.parse(text)) !== text) problems.push('round trip: ' + text);
        }
        problems.length ? problems.slice(0, 5).join("\n") : "ok";
        "#,
    );
}

/// The fast paths really serve documents (the tests above would pass if
/// everything fell back), and step aside for what they cannot serve.
#[test]
fn fast_paths_serve_plain_documents_and_only_those() {
    use super::{Stop, parse, stringify};
    use rquickjs::{Value, qjs};
    let rt = Runtime::new().unwrap();
    let ctx = Context::full(&rt).unwrap();
    ctx.with(|ctx| {
        let raw = ctx.as_raw().as_ptr();
        let text = r#"{"id":1,"name":"Ünïcödé 😀","tags":["a","b\n"],"price":-0.5,"ok":true,"none":null,"nested":{"2":1,"1":[{}]}}"#;
        // SAFETY: a live context; the value is freed by `Value`.
        let parsed = unsafe { parse::fast(raw, text.as_bytes()) }.expect("a plain document parses natively");
        let parsed = unsafe { Value::from_raw(ctx.clone(), parsed) };
        let written = unsafe { stringify::fast(raw, parsed.as_raw(), qjs::JS_UNDEFINED, qjs::JS_UNDEFINED) };
        let expected = r#"{"id":1,"name":"Ünïcödé 😀","tags":["a","b\n"],"price":-0.5,"ok":true,"none":null,"nested":{"1":[{}],"2":1}}"#;
        assert_eq!(String::from_utf8(written.expect("a plain value is written natively").unwrap()).unwrap(), expected);

        for bad in ["[1,]", "\"\\ud800\"", "01", "{\"a\" 1}", &"[".repeat(500)] {
            assert!(matches!(unsafe { parse::fast(raw, bad.as_bytes()) }, Err(Stop::Fallback)), "{bad}");
        }
        for special in ["new Proxy({}, {})", "({ toJSON() { return 1 } })", "({ get a() { return 1 } })", "new Date(0)", "[1, , 2]", "1n", "(() => { const o = {}; o.o = o; return o })()",
                        // Cycles whose objects are each referenced by the
                        // document only, once the variables are gone.
                        "(() => { const a = { b: { c: [] } }; a.b.c.push(a); return a })()", "(() => { const a = [{}]; a[0].x = a; return a })()",
                        "(() => { const a = {}; const b = { a }; a.b = b; return b })()", "JSON.parse('[{\"a\":{}}]').map((o) => { o.a.o = o; return o })"] {
            let value: Value = ctx.eval(special).unwrap();
            let outcome = unsafe { stringify::fast(raw, value.as_raw(), qjs::JS_UNDEFINED, qjs::JS_UNDEFINED) };
            assert!(matches!(outcome, Err(Stop::Fallback)), "{special}");
        }
    });
}

/// Not a test: a workload to profile (`valgrind --tool=callgrind` on the
/// test binary with `--ignored profile_cart`).
#[test]
#[ignore]
fn profile_cart() {
    let text = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/inputs/cart-100k.json")).unwrap();
    let rt = Runtime::new().unwrap();
    let ctx = Context::full(&rt).unwrap();
    ctx.with(|ctx| {
        for _ in 0..5 {
            let value = super::parse(&ctx, text.clone()).unwrap();
            let out = super::stringify(&ctx, &value).unwrap().unwrap();
            assert!(out.len() > 90_000);
        }
    });
}

/// Objects and strings made in place are whole QuickJS values: the cycle
/// collector walks them, and freeing them returns every object, shape and
/// string.
#[test]
fn values_made_in_place_survive_the_collector_and_are_freed() {
    let rt = Runtime::new().unwrap();
    let ctx = Context::full(&rt).unwrap();
    let row = r#"{"id":"gid://shopify/CartLine/1","quantity":3,"cost":{"amount":"1.50","currencyCode":"USD"},"tags":["a","b"],"title":"é ✓"}"#;
    let text = format!("[{}]", vec![row; 300].join(","));
    ctx.with(|ctx| {
        use rquickjs::qjs;
        // SAFETY: the live runtime of this context, inside its lock.
        let raw_rt = unsafe { qjs::JS_GetRuntime(ctx.as_raw().as_ptr()) };
        let usage = || {
            let mut usage = unsafe { std::mem::zeroed::<qjs::JSMemoryUsage>() };
            unsafe { qjs::JS_ComputeMemoryUsage(raw_rt, &mut usage) };
            usage
        };
        let run_gc = || unsafe { qjs::JS_RunGC(raw_rt) };
        let before = usage();
        let value = super::parse(&ctx, text.clone().into_bytes()).unwrap();
        // Cycles elsewhere, so that the collector has work.
        ctx.eval::<(), _>("for (let i = 0; i < 1000; i++) { const a = { i }; a.self = a; }").unwrap();
        run_gc();
        let written = super::stringify(&ctx, &value).unwrap().unwrap();
        assert_eq!(String::from_utf8(written).unwrap(), text);
        let during = usage();
        assert!(during.obj_count >= before.obj_count + 900, "{} objects before, {} during", before.obj_count, during.obj_count);
        drop(value);
        run_gc();
        let after = usage();
        assert_eq!((after.obj_count, after.shape_count), (before.obj_count, before.shape_count), "objects and shapes");
        assert!(after.str_count <= before.str_count + 2, "strings: {} before, {} after", before.str_count, after.str_count);
        assert!(after.malloc_size <= before.malloc_size + 4096, "bytes: {} before, {} after", before.malloc_size, after.malloc_size);
    });
}

/// The byte comparison behind key and value prediction, at every length
/// around its word sizes and with a difference at every position.
#[test]
fn same_compares_every_byte() {
    let a: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
    for n in 0..=a.len() {
        assert!(super::same(&a[..n], &a[..n]), "length {n}");
        assert!(!super::same(&a[..n], &a[..n.saturating_sub(1)]) || n == 0, "lengths {n} and {}", n.saturating_sub(1));
        for i in 0..n {
            let mut b = a[..n].to_vec();
            b[i] ^= 0x20;
            assert!(!super::same(&a[..n], &b), "length {n}, differing at {i}");
        }
    }
}

/// The decoder of non-ASCII string values accepts exactly the UTF-8 that
/// `str::from_utf8` accepts and gives the units `encode_utf16` gives.
#[test]
fn utf8_decoding_is_exactly_utf8() {
    let tails = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF];
    let mut units = Vec::new();
    let mut checked = 0;
    for lead in 0..=255u8 {
        let mut texts = vec![vec![lead]];
        for &b1 in &tails {
            texts.push(vec![lead, b1]);
            for &b2 in &tails {
                texts.push(vec![b'x', lead, b1, b2]);
                for &b3 in &tails {
                    texts.push(vec![lead, b1, b2, b3, b'y']);
                }
            }
        }
        for text in texts {
            let decoded = super::parse::utf8_to_utf16(&text, &mut units);
            match std::str::from_utf8(&text) {
                Ok(s) => {
                    let expected: Vec<u16> = s.encode_utf16().collect();
                    assert_eq!(decoded, Some(expected.iter().any(|&u| u > 0xFF)), "{text:x?}");
                    assert_eq!(units, expected, "{text:x?}");
                }
                Err(_) => assert_eq!(decoded, None, "{text:x?}"),
            }
            checked += 1;
        }
    }
    assert!(checked > 300_000);
}

/// Strings made in place are the strings `JS_NewStringLen` makes of the
/// same text: 8-bit for Latin-1 text, else 16-bit, the same characters.
#[test]
fn strings_made_in_place_are_quickjs_strings() {
    use crate::internals::{self, Chars};
    use rquickjs::qjs;
    let rt = Runtime::new().unwrap();
    let ctx = Context::full(&rt).unwrap();
    ctx.with(|ctx| {
        let raw = ctx.as_raw().as_ptr();
        assert!(unsafe { internals::available(raw) });
        let long = format!("{}é ✓", "x".repeat(40));
        let cases: Vec<(String, String)> = [
            ("é", "é"),
            ("aé", "aé"),
            ("ÿ", "ÿ"),
            ("\u{100}", "\u{100}"),
            ("Variant é ✓ 0", "Variant é ✓ 0"),
            ("a😀b", "a😀b"),
            ("\\u00e9", "é"),
            ("a\\n\\u2713", "a\n✓"),
            ("\\ud83d\\ude00", "😀"),
            ("tab\\t", "tab\t"),
            (&long, &long),
        ]
        .iter()
        .map(|&(json, text)| (json.to_string(), text.to_string()))
        .collect();
        for (json, text) in cases {
            // Twice: the second one may come from the cache.
            let doc = format!("[\"{json}\",\"{json}\"]");
            // SAFETY: a live context; the values are freed here.
            unsafe {
                let parsed = super::parse::fast(raw, doc.as_bytes()).unwrap_or_else(|_| panic!("{doc} parses natively"));
                let expected = qjs::JS_NewStringLen(raw, text.as_ptr().cast(), text.len() as _);
                for i in 0..2 {
                    let made = qjs::JS_GetPropertyUint32(raw, parsed, i);
                    let same = match (internals::chars(made), internals::chars(expected)) {
                        (Some(Chars::Latin1(a)), Some(Chars::Latin1(b))) => a == b,
                        (Some(Chars::Utf16(a)), Some(Chars::Utf16(b))) => a == b,
                        _ => false,
                    };
                    assert!(same, "{doc}: element {i} is not QuickJS's string of {text:?}");
                    qjs::JS_FreeValue(raw, made);
                }
                qjs::JS_FreeValue(raw, expected);
                qjs::JS_FreeValue(raw, parsed);
            }
        }
    });
}

/// The word-at-a-time scan of strings finds the first byte that ends a
/// plain run, whatever the bytes after it: every byte value at every
/// position, after plain bytes and before any bytes.
#[test]
fn the_string_scan_finds_the_first_special_byte() {
    use super::parse::{SPECIAL, special_bytes};
    let fillers = [0x00u8, 0x1F, b'"', b'\\', 0x80, 0xFF, b'a', b' '];
    for at in 0..8 {
        for b in 0..=255u8 {
            for &after in &fillers {
                let mut bytes = [after; 8];
                bytes[..at].fill(b'x');
                bytes[at] = b;
                let first = bytes.iter().position(|&b| SPECIAL[usize::from(b)]);
                let special = special_bytes(u64::from_le_bytes(bytes));
                let found = (special != 0).then(|| (special.trailing_zeros() / 8) as usize);
                assert_eq!(found, first, "{bytes:x?}");
            }
        }
    }
}

/// A parse starts no collection (it would free nothing of the document
/// and walk all of it each time), and leaves the threshold above what it
/// made, so that the next allocation does not start one either.
#[test]
fn a_parse_starts_no_collection() {
    use rquickjs::qjs;
    let rt = Runtime::new().unwrap();
    let ctx = Context::full(&rt).unwrap();
    ctx.with(|ctx| {
        // SAFETY: the live runtime of this context, inside its lock.
        let raw_rt = unsafe { qjs::JS_GetRuntime(ctx.as_raw().as_ptr()) };
        let objects = || {
            let mut usage = unsafe { std::mem::zeroed::<qjs::JSMemoryUsage>() };
            unsafe { qjs::JS_ComputeMemoryUsage(raw_rt, &mut usage) };
            usage.obj_count
        };
        // Garbage a collection would free.
        ctx.eval::<(), _>("for (let i = 0; i < 100; i++) { const a = {}; a.a = a; }").unwrap();
        let before = objects();
        // Any allocation that checks the threshold would collect.
        unsafe { qjs::JS_SetGCThreshold(raw_rt, 1) };
        let text = format!("[{}]", vec![r#"[{"a":1},[2]]"#; 200].join(","));
        let value = super::parse(&ctx, text.clone().into_bytes()).unwrap();
        let after = objects();
        assert!(after >= before + 601, "{before} objects before, {after} after: a collection ran");
        let threshold = unsafe { qjs::JS_GetGCThreshold(raw_rt) };
        assert!(threshold as usize > text.len(), "threshold {threshold}");
        drop(value);
    });
}
