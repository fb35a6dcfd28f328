//! Where a module's fuel goes, by function (a development tool).
//!
//! `cargo run --release -p kiln --example fuelprof -- app.wasm [export] < input`
//! instruments every function of `app.wasm` with a counter of the wasm
//! instructions it executes (each block adds its length on entry: an early
//! branch out of a block overcounts), runs the module as `kiln run` does,
//! and prints the functions that executed the most, with their share.

use std::io::Read;
use walrus::ir::{BinaryOp, Binop, Const, GlobalGet, GlobalSet, Instr, InstrLocId, InstrSeq, Value, VisitorMut};
use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

struct Count(walrus::GlobalId);

impl VisitorMut for Count {
    fn start_instr_seq_mut(&mut self, seq: &mut InstrSeq) {
        let n = seq.instrs.len() as i64;
        let add = [
            Instr::GlobalGet(GlobalGet { global: self.0 }),
            Instr::Const(Const { value: Value::I64(n) }),
            Instr::Binop(Binop { op: BinaryOp::I64Add }),
            Instr::GlobalSet(GlobalSet { global: self.0 }),
        ];
        for (i, instr) in add.into_iter().enumerate() {
            seq.instrs.insert(i, (instr, InstrLocId::default()));
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let wasm = std::fs::read(&args[1]).expect("reading the module");
    let entry = args.get(2).cloned().unwrap_or_else(|| "_start".into());
    let mut module = walrus::Module::from_buffer(&wasm).expect("parsing the module");
    let mut counters = Vec::new();
    let ids: Vec<_> = module.funcs.iter_local().map(|(id, _)| id).collect();
    for id in ids {
        let global = module.globals.add_local(walrus::ValType::I64, true, false, walrus::ConstExpr::Value(Value::I64(0)));
        let name = module.funcs.get(id).name.clone().unwrap_or_else(|| format!("f{}", id.index()));
        let export = format!("__count{}", counters.len());
        module.exports.add(&export, global);
        counters.push((name, export));
        let func = module.funcs.get_mut(id).kind.unwrap_local_mut();
        let entry_block = func.entry_block();
        walrus::ir::dfs_pre_order_mut(&mut Count(global), func, entry_block);
    }
    let instrumented = module.emit_wasm();

    let mut config = Config::new();
    config.consume_fuel(true);
    config.async_stack_size(16 << 20);
    config.max_wasm_stack(8 << 20);
    let engine = Engine::new(&config).unwrap();
    let compiled = Module::new(&engine, &instrumented).expect("compiling");
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).unwrap();
    let stdout = MemoryOutputPipe::new(1 << 30);
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdin(MemoryInputPipe::new(input)).stdout(stdout.clone()).inherit_stderr().args(&[args[1].clone()]);
    let wasi: WasiP1Ctx = wasi.build_p1();
    let mut store = Store::new(&engine, wasi);
    store.set_fuel(u64::MAX).unwrap();
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
    let instance = linker.instantiate(&mut store, &compiled).expect("instantiating");
    let start = instance.get_typed_func::<(), ()>(&mut store, &entry).expect("the entry");
    let result = start.call(&mut store, ());
    eprintln!("run: {:?}, {} bytes out", result.err().map(|e| e.to_string()), stdout.contents().len());
    let mut totals: Vec<(i64, String)> = counters
        .into_iter()
        .map(|(name, export)| (instance.get_global(&mut store, &export).unwrap().get(&mut store).i64().unwrap(), name))
        .filter(|(n, _)| *n > 0)
        .collect();
    totals.sort_by(|a, b| b.0.cmp(&a.0));
    let all: i64 = totals.iter().map(|t| t.0).sum();
    println!("{all} instructions counted");
    for (n, name) in totals.iter().take(60) {
        println!("{n:>12} {:5.1}%  {name}", 100.0 * *n as f64 / all as f64);
    }
}
