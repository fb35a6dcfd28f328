// Timer and job ordering.
const log = [];
setTimeout(() => log.push("t200"), 200); // far from iv3 (90): Node runs real timers
setTimeout((a, b) => log.push("t0 " + a + b), 0, "x", "y");
setTimeout(() => log.push("t1"), 1);
const cleared = setTimeout(() => log.push("cleared"), 5);
clearTimeout(cleared);
let n = 0;
const interval = setInterval(() => {
  log.push("iv" + ++n);
  if (n === 3) clearInterval(interval);
}, 30);
setTimeout(() => Promise.resolve().then(() => log.push("job after t50")), 50);
setTimeout(() => log.push("t50b"), 50);
Promise.resolve().then(() => log.push("job first"));
queueMicrotask(() => log.push("microtask"));
setTimeout(() => console.log(log.join(" | ")), 60000);
(async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 10));
  log.push("async loop done");
})();
