//! Where a module's fuel goes, by function (a development tool).
//!
//! `cargo run --release -p kiln --example fuelprof -- app.wasm [export] < input`
//! instruments every function of `app.wasm` with a counter of the wasm
//! instructions it executes (each straight run of a block adds its length
//! when it starts: a branch out of its middle overcounts the rest), runs
//! the module as `kiln run` does,
//! and prints the functions that executed the most, with their share.

use walrus::ir::{BinaryOp, Binop, Const, GlobalGet, GlobalSet, Instr, InstrLocId, InstrSeq, Value, VisitorMut};

mod profiling;

struct Count(walrus::GlobalId);

impl VisitorMut for Count {
    /// Each straight run of a sequence, up to the next nested block, adds
    /// its length when it starts: counting a whole sequence on entry would
    /// count every case of an interpreter's `switch` (hundreds of nested
    /// blocks one `br_table` leaves at once) on every dispatch.
    fn start_instr_seq_mut(&mut self, seq: &mut InstrSeq) {
        let instrs = std::mem::take(&mut seq.instrs);
        let mut run = Vec::new();
        for (instr, at) in instrs {
            let nests = matches!(instr, Instr::Block(_) | Instr::Loop(_) | Instr::IfElse(_));
            run.push((instr, at));
            if nests {
                self.flush(&mut run, &mut seq.instrs);
            }
        }
        self.flush(&mut run, &mut seq.instrs);
    }
}

impl Count {
    fn flush(&self, run: &mut Vec<(Instr, InstrLocId)>, into: &mut Vec<(Instr, InstrLocId)>) {
        if run.is_empty() {
            return;
        }
        let add = [
            Instr::GlobalGet(GlobalGet { global: self.0 }),
            Instr::Const(Const { value: Value::I64(run.len() as i64) }),
            Instr::Binop(Binop { op: BinaryOp::I64Add }),
            Instr::GlobalSet(GlobalSet { global: self.0 }),
        ];
        into.extend(add.into_iter().map(|instr| (instr, InstrLocId::default())));
        into.append(run);
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

    let (mut store, instance) = profiling::run(&instrumented, &args[1], &entry);
    let mut totals: Vec<(i64, String)> = counters
        .into_iter()
        .map(|(name, export)| (profiling::counter(&mut store, &instance, &export), name))
        .filter(|(n, _)| *n > 0)
        .collect();
    totals.sort_by(|a, b| b.0.cmp(&a.0));
    let all: i64 = totals.iter().map(|t| t.0).sum();
    println!("{all} instructions counted");
    for (n, name) in totals.iter().take(60) {
        println!("{n:>12} {:5.1}%  {name}", 100.0 * *n as f64 / all as f64);
    }
}
