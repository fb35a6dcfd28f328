//! `Atomics` on the single-threaded engine: QuickJS's implementation,
//! compiled in for wasi by `engine/c/single_thread_atomics.h`, with
//! `Atomics.wait` refusing to block as on a browser's main thread.

use crate::util::{build_program, run_both};

const PROGRAM: &str = r#"
const ta = new Int32Array(new SharedArrayBuffer(16));
console.log(typeof Atomics, Object.prototype.toString.call(Atomics));
console.log("add", Atomics.add(ta, 0, 5), Atomics.load(ta, 0));
console.log("sub", Atomics.sub(ta, 0, 2), Atomics.load(ta, 0));
console.log("store", Atomics.store(ta, 1, 7), ta[1]);
console.log("compareExchange hit", Atomics.compareExchange(ta, 1, 7, 9), ta[1]);
console.log("compareExchange miss", Atomics.compareExchange(ta, 1, 7, 11), ta[1]);
console.log("exchange", Atomics.exchange(ta, 2, -4), ta[2]);
console.log("or/and/xor", Atomics.or(ta, 3, 6), Atomics.and(ta, 3, 3), Atomics.xor(ta, 3, 1), ta[3]);
const big = new BigInt64Array(new SharedArrayBuffer(8));
console.log("bigint", Atomics.add(big, 0, 1n << 40n), Atomics.load(big, 0));
console.log("notify", Atomics.notify(ta, 0, 1), Atomics.isLockFree(4));
try {
  Atomics.wait(ta, 0, 3, 10);
  console.log("wait returned");
} catch (e) {
  console.log(e.name + ": " + e.message);
}
try {
  Atomics.store(ta, 4, 1);
} catch (e) {
  console.log(e.name);
}
"#;

#[test]
fn atomics_operate_on_typed_arrays_and_wait_refuses_to_block() {
    let (dir, wasm) = build_program("atomics.js", PROGRAM);
    let run = run_both(dir.path(), &wasm, b"");
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "object [object Atomics]\n\
         add 0 5\n\
         sub 5 3\n\
         store 7 7\n\
         compareExchange hit 7 9\n\
         compareExchange miss 9 9\n\
         exchange 0 -4\n\
         or/and/xor 0 6 2 3\n\
         bigint 0n 1099511627776n\n\
         notify 0 true\n\
         TypeError: cannot block in this thread\n\
         RangeError\n"
    );
}
