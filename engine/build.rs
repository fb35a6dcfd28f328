//! Link settings for the engine module.

fn main() {
    // QuickJS recurses on the C stack, which in wasm lives in linear memory.
    // Give it room, and tell QuickJS (see `STACK_LIMIT` in lib.rs) to raise a
    // RangeError well before the real end, so deep recursion is a catchable
    // JavaScript error instead of an out-of-bounds trap.
    println!("cargo:rustc-cdylib-link-arg=-zstack-size=4194304");
    println!("cargo:rerun-if-changed=build.rs");
}
