// console.log of every kind of value, as Node's util.inspect prints it.
console.log(1, -0, 1.5, NaN, -Infinity, 10n, true, null, undefined, "top-level string");
console.log(Symbol("s"), Symbol.iterator, [Symbol()]);
console.log({ a: 1, "b-c": "x", d: [1, "two"], e: { f: { g: { h: 1 } } } });
console.log([[[[1]]]], { a: { b: { c: {} } } });
console.log({ alpha: "aaaaaaaaaaaaaaaa", beta: "bbbbbbbbbbbbbbbbbbbb", gamma: "cccccccccccccccccccc" });
console.log(Array.from({ length: 27 }, (_, i) => i + 1));
console.log(["aaa", "b", "cc", "dddd", "e", "f", "g"]);
console.log(Array.from({ length: 120 }, (_, i) => i));
console.log([undefined, , 3, , , 6], Object.assign([1, 2], { extra: true }));
console.log(new Map([[1, "a"], [{ k: 1 }, [1, 2]]]), new Set([1, "x", [2]]), new Map(), new Set());
console.log(new Uint8Array([1, 2, 3]), new Float64Array(8), new BigInt64Array(2), new ArrayBuffer(4));
console.log(new Date(Date.UTC(2020, 1, 29, 12, 30)), new Date(NaN), /ab+c/gi);
const cyclic = { name: "o", list: [] };
cyclic.self = cyclic;
cyclic.list.push(cyclic);
console.log(cyclic, [cyclic]);
class Point {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }
}
console.log(new Point(1, 2), [new Point(3, 4)], Object.create(null), Object.assign(Object.create(null), { a: 1 }));
console.log({ get a() { return 1; }, set b(v) {}, get c() { return 1; }, set c(v) {} });
console.log(function named() {}, () => {}, async function af() {}, function* gen() {}, class Foo {}, class {}, Math.max);
console.log(new Number(3), new String("str"), new Boolean(false), Object(1n));
console.log(Promise.resolve(42), new Promise(() => {}), { p: Promise.resolve([1]) });
const rejected = Promise.reject(new Error("x"));
rejected.catch(() => {});
console.log(new WeakMap(), new WeakSet());
console.log({ [Symbol("k")]: 1, "quoted key": 2, valid_id: 3, 42: 4 });
console.log(["it's", 'say "hi"', "both ' and \"", "line\nbreak\ttab"]);
console.log({ s: "x".repeat(100) });
console.log({ nested: { array: [1, 2, 3], map: new Map([["k", { deep: { deeper: 1 } }]]) } });
