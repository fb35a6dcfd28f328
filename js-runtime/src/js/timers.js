// setTimeout, setInterval, clearTimeout, clearInterval on a virtual clock.
//
// A Kiln module never sleeps: once the Promise job queue is empty, the
// runtime runs the timer that is due first (ties in the order they were
// set), advancing a virtual clock to its due time, then drains the job queue
// again, until no timer is left. Results are deterministic and a program
// that waits 10 minutes finishes at once. Date.now() and performance are
// not affected: they read the real clock. Timer ids are numbers.
//
// The runtime only calls runNextTimer while timers are armed: the first
// timer set on an empty list arms them (native.armTimers), and a call that
// finds the list empty disarms them. A program that never sets a timer never
// pays for a call into JavaScript at the end of its event loop.
(function (native) {
  "use strict";

  const MAX_DELAY = 2 ** 31 - 1;
  const timers = new Map();
  let clock = 0;
  let nextId = 1;
  let order = 0;

  function normalizeDelay(delay) {
    const ms = Number(delay);
    // As in Node: anything outside [1, 2^31-1] (or not a number) is 1.
    return ms >= 1 && ms <= MAX_DELAY ? Math.trunc(ms) : 1;
  }

  function schedule(callback, delay, args, repeat) {
    if (typeof callback !== "function") {
      throw new TypeError('The "callback" argument must be of type function (strings are not evaluated)');
    }
    const id = nextId++;
    const ms = normalizeDelay(delay);
    timers.set(id, { due: clock + ms, order: order++, callback, args, interval: repeat ? ms : 0 });
    if (timers.size === 1) native.armTimers();
    return id;
  }

  function clear(id) {
    timers.delete(Number(id));
  }

  const api = {
    setTimeout: (callback, delay, ...args) => schedule(callback, delay, args, false),
    setInterval: (callback, delay, ...args) => schedule(callback, delay, args, true),
    clearTimeout: clear,
    clearInterval: clear,
  };
  for (const [name, value] of Object.entries(api)) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }

  // Runs the timer due first; returns false when none is left.
  return function runNextTimer() {
    let nextIdFound = 0;
    let next = null;
    for (const [id, t] of timers) {
      if (next === null || t.due < next.due || (t.due === next.due && t.order < next.order)) {
        next = t;
        nextIdFound = id;
      }
    }
    if (next === null) return false;
    clock = Math.max(clock, next.due);
    if (next.interval) {
      next.due = clock + next.interval;
      next.order = order++;
    } else {
      timers.delete(nextIdFound);
    }
    next.callback(...next.args);
    return true;
  };
});
