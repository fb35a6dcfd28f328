// structuredClone, atob/btoa, crypto, performance, queueMicrotask.
const original = { date: new Date(0), map: new Map([["k", [1, 2]]]), set: new Set([1]), bytes: new Uint8Array([1, 2]), nested: { n: 1 } };
original.self = original;
const copy = structuredClone(original);
console.log(copy !== original, copy.self === copy, copy.date instanceof Date, copy.date.getTime(), copy.map.get("k"), copy.bytes);
console.log(structuredClone([1, "a", null, undefined, 2n]), structuredClone(new Error("boom")).message);
for (const bad of [() => {}, Symbol("s")]) {
  try {
    structuredClone(bad);
  } catch (e) {
    console.log(e.name, e instanceof Error);
  }
}
console.log(btoa("hello world"), btoa(""), btoa("\xff\xfe"), atob("aGVsbG8gd29ybGQ="), atob(" aGk "), JSON.stringify(atob("//4=")));
for (const bad of [() => btoa("€"), () => atob("a")]) {
  try {
    bad();
  } catch (e) {
    console.log(e.name);
  }
}
const random = crypto.getRandomValues(new Uint8Array(32));
console.log(random.length, random instanceof Uint8Array, crypto.getRandomValues(new Uint32Array(4)).length);
try {
  crypto.getRandomValues(new Uint8Array(65537));
} catch (e) {
  console.log(e.name);
}
try {
  crypto.getRandomValues(new Float64Array(1));
} catch (e) {
  console.log(e.name);
}
console.log(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()), crypto.randomUUID() !== crypto.randomUUID());
const t0 = performance.now();
const t1 = performance.now();
console.log(typeof t0, t1 >= t0, t0 >= 0, performance.timeOrigin > 1.6e12);
queueMicrotask(() => console.log("microtask"));
Promise.resolve().then(() => console.log("promise job"));
console.log("sync");
