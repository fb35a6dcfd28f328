//! Link settings for the engine module.

fn main() {
    // QuickJS recurses on the C stack, which in wasm lives in linear memory.
    // Give it room, and tell QuickJS (`kiln_abi::stack::QUICKJS_LIMIT`) to raise a
    // RangeError well before the real end, so deep recursion is a catchable
    // JavaScript error instead of an out-of-bounds trap.
    println!("cargo:rustc-cdylib-link-arg=-zstack-size={}", kiln_abi::stack::SHADOW_STACK);
    println!("cargo:rerun-if-changed=build.rs");
    // The native stack a JavaScript call takes per shadow-stack byte
    // differs between QuickJS compiled for speed and for size (see
    // `NATIVE_PER_SHADOW` in src/stack.rs): tell the code which it is.
    println!("cargo:rustc-check-cfg=cfg(kiln_lean)");
    if std::env::var("OPT_LEVEL").is_ok_and(|level| level == "z") {
        println!("cargo:rustc-cfg=kiln_lean");
    }
}
