// JSON.parse and JSON.stringify: the cases where an implementation can go
// wrong, printed so that Node and Kiln can be compared byte for byte.
const show = (label, f) => {
  try {
    const v = f();
    console.log(label, typeof v === "string" ? JSON.stringify(v) : String(v));
  } catch (e) {
    console.log(label, "throws", e.name);
  }
};

// Numbers.
for (const n of [0, -0, 1, -1, 0.1, 1 / 3, 1e21, 1e-7, 123e-20, 5e-324, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, 1.7976931348623157e308, NaN, Infinity, -Infinity]) {
  show("number", () => JSON.stringify(n));
  show("number in array", () => JSON.stringify([n, { n }]));
}
for (const t of ["-0", "0.0", "1E2", "1e-2", "-1.5e+3", "123456789012345678901234567890", "0.30000000000000004", "1e400", "2e-324", "4.9e-324"]) {
  show("parse " + t, () => { const v = JSON.parse(t); return Object.is(v, -0) ? "-0" : v; });
}

// Strings and escapes, lone surrogates included (well-formed JSON.stringify).
for (const s of ["", "plain", "quote\" backslash\\ slash/", "\b\f\n\r\t", "\u0000\u0001\u001f\u007f", "é ß € 😀 𝄞", "\u2028\u2029", "\ud800", "\udfff", "a\ud83d", "\ude00b", "\ud83d\ude00"]) {
  show("string", () => JSON.stringify(s));
  show("key", () => JSON.stringify({ [s]: s }));
}
show("escapes parsed", () => JSON.parse('"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\\"\\\\\\/\\b\\f\\n\\r\\t"'));
show("lone surrogate escape parsed", () => JSON.parse('"\\ud800x"').length);
show("raw non-ASCII parsed", () => JSON.parse('"é€😀"'));

// Property order: integer keys first, ascending; then insertion order.
show("order", () => JSON.stringify({ b: 1, 2: 2, a: 3, 1: 4, "-1": 5, "01": 6, 4294967294: 7, 4294967295: 8 }));
show("order parsed", () => Object.keys(JSON.parse('{"b":1,"2":2,"a":3,"1":4,"-1":5,"01":6,"4294967294":7,"4294967295":8}')).join());
show("duplicate keys", () => JSON.stringify(JSON.parse('{"a":1,"b":2,"a":3}')));
show("__proto__ key", () => { const o = JSON.parse('{"__proto__":{"x":1},"y":2}'); return [Object.keys(o).join(), Object.getPrototypeOf(o) === Object.prototype, o.x, JSON.stringify(o)].join(" "); });
show("null prototype", () => JSON.stringify(Object.assign(Object.create(null), { a: 1 })));

// Values that are skipped, replaced or converted.
show("undefined and functions", () => JSON.stringify({ a: undefined, b() {}, c: Symbol("s"), d: null, e: [undefined, () => 1, Symbol("t")] }));
show("top-level undefined", () => JSON.stringify(undefined));
show("top-level function", () => JSON.stringify(() => 1));
show("holes", () => JSON.stringify([1, , 3, new Array(2)]));
show("array with extra keys", () => JSON.stringify(Object.assign([1, 2], { extra: 3 })));
show("boxed", () => JSON.stringify([new Number(1), new String("s"), new Boolean(false), Object("x")]));
show("date", () => JSON.stringify({ when: new Date(Date.UTC(2020, 1, 3)) }));
show("toJSON", () => JSON.stringify({ a: { toJSON(key) { return "key " + key; } }, b: [{ toJSON() { return 7; } }] }));
show("inherited toJSON", () => { class P { toJSON() { return "P"; } } return JSON.stringify([new P()]); });
show("non-enumerable toJSON", () => JSON.stringify(Object.defineProperty({ v: 1 }, "toJSON", { value: () => "hidden" })));
show("getter", () => JSON.stringify({ get g() { return "got"; }, v: 1 }));
show("non-enumerable", () => JSON.stringify(Object.defineProperty({ v: 1 }, "h", { value: 2 })));
show("symbol keys", () => JSON.stringify({ [Symbol("k")]: 1, v: 2 }));
show("class instance", () => { class Point { constructor() { this.x = 1; this.y = 2; } } return JSON.stringify(new Point()); });
show("proxy", () => JSON.stringify(new Proxy({ a: 1 }, { get: (t, k) => (k === "a" ? "trapped" : t[k]) })));
show("proxy array", () => JSON.stringify(new Proxy([1, 2], {})));
show("map and set", () => JSON.stringify([new Map([[1, 2]]), new Set([1]), /re/g, new Uint8Array([1, 2])]));
show("error", () => JSON.stringify(new Error("boom")));
show("bigint", () => JSON.stringify({ n: 1n }));
show("bigint toJSON", () => { BigInt.prototype.toJSON = function () { return this.toString(); }; const r = JSON.stringify({ n: 10n }); delete BigInt.prototype.toJSON; return r; });
show("cycle", () => { const o = { a: 1 }; o.self = o; return JSON.stringify(o); });
show("cycle in array", () => { const a = [1]; a.push([a]); return JSON.stringify(a); });
show("shared, not a cycle", () => { const s = { s: 1 }; return JSON.stringify({ a: s, b: [s, s] }); });
show("Object.prototype.toJSON", () => { Object.prototype.toJSON = function () { return "everything"; }; try { return JSON.stringify({ a: [1] }); } finally { delete Object.prototype.toJSON; } });
show("Array.prototype.toJSON", () => { Array.prototype.toJSON = function () { return "arrays"; }; try { return JSON.stringify({ a: [1] }); } finally { delete Array.prototype.toJSON; } });

// space and replacer.
const doc = { a: [1, { b: 2 }, []], c: {}, d: "x" };
for (const space of [undefined, null, 0, 2, 10, 20, -1, 3.9, "", "\t", "--", "0123456789abcdef", new Number(3), new String("~~"), true]) {
  show("space " + String(space), () => JSON.stringify(doc, null, space));
}
show("replacer array", () => JSON.stringify({ a: 1, b: 2, c: { a: 3, z: 4 }, 1: 5 }, ["a", "c", 1, new String("b"), "a"]));
show("replacer function", () => JSON.stringify({ a: 1, b: [2, 3], c: "s" }, (k, v) => (typeof v === "number" ? v * 10 : v)));
show("replacer removes", () => JSON.stringify({ a: 1, b: 2 }, (k, v) => (k === "a" ? undefined : v)));
show("replacer number is ignored", () => JSON.stringify({ a: 1 }, 5));

// Reviver.
show("reviver", () => JSON.stringify(JSON.parse('{"a":1,"b":{"c":2,"d":[3,4]}}', (k, v) => (typeof v === "number" ? v + 100 : v))));
show("reviver deletes", () => JSON.stringify(JSON.parse('{"a":1,"b":2,"c":[1,2,3]}', (k, v) => (k === "a" || k === "1" ? undefined : v))));
show("reviver this", () => { const seen = []; JSON.parse('{"x":{"y":1}}', function (k, v) { seen.push(k + ":" + Object.keys(this).join("|")); return v; }); return seen.join(" "); });

// What JSON.parse accepts and rejects.
for (const t of ["", " ", "[", "]", "{", "}", "[1,]", "{\"a\":1,}", "[1 2]", "{a:1}", "{'a':1}", "01", "-", "1.", ".5", "+1", "1e", "tru", "truex", "nul", "NaN", "Infinity", "undefined",
  "\"abc", "\"a\\x\"", "\"\\u12\"", "\"a\nb\"", "\"\t\"", "1 2", "[] x", "{}{}", "\u00a01", "\f1", "\v1", "/*c*/1", "0x10", "[1]\0", " \t\n\r[ 1 , 2 ] \n\r\t ", "\"\u2028\""]) {
  show("parse " + JSON.stringify(t), () => JSON.stringify(JSON.parse(t)));
}
show("parse non-string", () => JSON.stringify([JSON.parse(12), JSON.parse(true), JSON.parse(null), JSON.parse({ toString: () => "[7]" }), JSON.parse(["1"])]));

// Deep nesting: fine when shallow enough, a RangeError when not, never a crash.
show("deep 500", () => { const t = "[".repeat(500) + "]".repeat(500); return JSON.stringify(JSON.parse(t)).length; });
show("deep object 300", () => { let o = {}; for (let i = 0; i < 300; i++) o = { i, o }; return JSON.stringify(o).length; });
show("array of 100000", () => JSON.stringify(JSON.parse("[" + "1,".repeat(99999) + "1]")).length);

// Round trip of a generated document of every shape.
let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
const pieces = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\u0001", "é", "€", "😀", "\u2028"];
const str = () => Array.from({ length: Math.floor(random() * 8) }, () => pieces[Math.floor(random() * pieces.length)]).join("");
// Products of exact values: the same double on every engine (no pow()).
const scales = [5e-324, 1e-300, 1e-7, 1, 1e5, 1e21, 1e300];
const num = () => [() => Math.floor(random() * 2000) - 1000, () => (random() - 0.5) * 1e6, () => random() * scales[Math.floor(random() * scales.length)], () => -0][Math.floor(random() * 4)]();
const gen = (depth) => {
  const r = random();
  if (depth > 5 || r < 0.3) return [num, str, () => true, () => null][Math.floor(random() * 4)]();
  if (r < 0.6) return Array.from({ length: Math.floor(random() * 5) }, () => gen(depth + 1));
  const o = {};
  for (let i = Math.floor(random() * 5); i > 0; i--) o[random() < 0.2 ? String(Math.floor(random() * 9)) : str()] = gen(depth + 1);
  return o;
};
for (let i = 0; i < 60; i++) {
  const text = JSON.stringify(gen(0));
  console.log(text === JSON.stringify(JSON.parse(text)) ? text : "round trip differs: " + text);
}
console.log(JSON.stringify(gen(0), null, 2));
