//! What the profiling examples (`fuelprof`, `blockprof`) share: running an
//! instrumented module as `kiln run` does, with stdin as its input.

use std::io::Read;
use wasmtime::{Config, Engine, Instance, Linker, Module, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

/// Runs `entry` of `instrumented` (whose argv[0] is `name`) with this
/// process's stdin, under fuel, on `kiln run`'s stacks; reports how it ended
/// on stderr and returns the store and instance, whose counters the caller
/// reads.
pub fn run(instrumented: &[u8], name: &str, entry: &str) -> (Store<WasiP1Ctx>, Instance) {
    let mut config = Config::new();
    config.consume_fuel(true);
    config.async_stack_size(16 << 20);
    config.max_wasm_stack(8 << 20);
    let engine = Engine::new(&config).unwrap();
    let compiled = Module::new(&engine, instrumented).expect("compiling");
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).unwrap();
    let stdout = MemoryOutputPipe::new(1 << 30);
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdin(MemoryInputPipe::new(input)).stdout(stdout.clone()).inherit_stderr().args(&[name]);
    let wasi: WasiP1Ctx = wasi.build_p1();
    let mut store = Store::new(&engine, wasi);
    store.set_fuel(u64::MAX).unwrap();
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
    let instance = linker.instantiate(&mut store, &compiled).expect("instantiating");
    let start = instance.get_typed_func::<(), ()>(&mut store, entry).expect("the entry");
    let result = start.call(&mut store, ());
    eprintln!("run: {:?}, {} bytes out", result.err().map(|e| e.to_string()), stdout.contents().len());
    (store, instance)
}

/// Reads the `i64` global `export` of `instance`: a counter.
pub fn counter(store: &mut Store<WasiP1Ctx>, instance: &Instance, export: &str) -> i64 {
    instance.get_global(&mut *store, export).unwrap().get(&mut *store).i64().unwrap()
}
