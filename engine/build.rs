//! Link settings for the engine module.

fn main() {
    // QuickJS recurses on the C stack, which in wasm lives in linear memory.
    // Give it room, and tell QuickJS (`kiln_abi::stack::QUICKJS_LIMIT`) to raise a
    // RangeError well before the real end, so deep recursion is a catchable
    // JavaScript error instead of an out-of-bounds trap.
    println!("cargo:rustc-cdylib-link-arg=-zstack-size={}", kiln_abi::stack::SHADOW_STACK);
    println!("cargo:rerun-if-changed=build.rs");
}
