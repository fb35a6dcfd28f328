// The console's other methods. (time/timeEnd print real durations and are
// not compared here.)
console.table([{ a: 1, b: "x" }, { a: 2, c: true }]);
console.table([1, "two", { three: 3 }]);
console.table({ r1: { c: 1 }, r2: { c: 2 } });
console.table([{ a: 1, b: 2 }], ["b"]);
console.table("not tabular");
console.group("Group A");
console.log("inside A");
console.group();
console.log({ a: 1, b: [1, 2] });
console.warn("a warning in the group");
console.groupEnd();
console.info("back in A");
console.groupEnd();
console.groupEnd();
console.log("outside");
console.count();
console.count("x");
console.count();
console.countReset();
console.count();
console.assert(1 === 2, "values differ: %d vs %d", 1, 2);
console.assert(false);
console.assert(true, "not printed");
console.dir({ a: { b: { c: { d: {} } } } }, { depth: 0 });
console.dir({ a: { b: { c: { d: { e: 1 } } } } }, { depth: null });
console.debug("debug goes to stdout");
console.error("error goes to stderr", { code: 1 });
