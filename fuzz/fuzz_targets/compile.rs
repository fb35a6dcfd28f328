//! Fuzz target: arbitrary bytes through `kiln build`'s pipeline. Run it
//! with `scripts/fuzz.sh`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static COMPILER: OnceLock<kiln::Compiler> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let compiler = COMPILER.get_or_init(|| {
        let cache = std::env::var_os("KILN_CACHE_DIR").map_or_else(|| std::env::temp_dir().join("kiln-fuzz-cache"), Into::into);
        kiln_fuzz::compiler(std::path::Path::new(&cache))
    });
    kiln_fuzz::build_one(compiler, data);
});
