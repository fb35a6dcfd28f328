//! Where a function's fuel goes, by block (a development tool).
//!
//! `cargo run --release -p kiln --example blockprof -- app.wasm export NAME_PART < input`
//! counts the executions of every instruction sequence of the functions
//! whose name contains NAME_PART and prints the heaviest (executions times
//! length) with their first instructions.

use walrus::ir::{BinaryOp, Binop, Const, GlobalGet, GlobalSet, Instr, InstrLocId, InstrSeq, Value, VisitorMut};

mod profiling;

struct Count<'a> {
    module_globals: &'a mut walrus::ModuleGlobals,
    seqs: Vec<(walrus::GlobalId, usize, String)>,
    func: String,
}

impl VisitorMut for Count<'_> {
    fn start_instr_seq_mut(&mut self, seq: &mut InstrSeq) {
        // One counter per straight run: a run ends after any instruction
        // that can branch, call or enter a block.
        let old = std::mem::take(&mut seq.instrs);
        let mut runs: Vec<Vec<(Instr, InstrLocId)>> = vec![Vec::new()];
        for (instr, loc) in old {
            let ends = matches!(instr, Instr::Block(_) | Instr::Loop(_) | Instr::IfElse(_) | Instr::Br(_) | Instr::BrIf(_) | Instr::BrTable(_) | Instr::Call(_) | Instr::CallIndirect(_) | Instr::Return(_) | Instr::Unreachable(_));
            runs.last_mut().unwrap().push((instr, loc));
            if ends {
                runs.push(Vec::new());
            }
        }
        for run in runs {
            if run.is_empty() {
                continue;
            }
            let preview = run.iter().map(|(i, _)| format!("{i:?}")).collect::<Vec<_>>().join("; ");
            let global = self.module_globals.add_local(walrus::ValType::I64, true, false, walrus::ConstExpr::Value(Value::I64(0)));
            self.seqs.push((global, run.len(), format!("{} #{}: {}", self.func, self.seqs.len(), preview.chars().take(20000).collect::<String>())));
            seq.instrs.extend([
                (Instr::GlobalGet(GlobalGet { global }), InstrLocId::default()),
                (Instr::Const(Const { value: Value::I64(1) }), InstrLocId::default()),
                (Instr::Binop(Binop { op: BinaryOp::I64Add }), InstrLocId::default()),
                (Instr::GlobalSet(GlobalSet { global }), InstrLocId::default()),
            ]);
            seq.instrs.extend(run);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let wasm = std::fs::read(&args[1]).expect("reading the module");
    let entry = args[2].clone();
    let part = args[3].clone();
    let mut module = walrus::Module::from_buffer(&wasm).expect("parsing the module");
    let ids: Vec<_> = module.funcs.iter_local().map(|(id, _)| id).filter(|&id| module.funcs.get(id).name.as_deref().is_some_and(|n| n.contains(&part))).collect();
    let mut all = Vec::new();
    for id in ids {
        let name = module.funcs.get(id).name.clone().unwrap();
        let mut count = Count { module_globals: &mut module.globals, seqs: Vec::new(), func: name.chars().take(60).collect() };
        let func = module.funcs.get_mut(id).kind.unwrap_local_mut();
        let entry_block = func.entry_block();
        walrus::ir::dfs_pre_order_mut(&mut count, func, entry_block);
        all.extend(count.seqs);
    }
    let mut counters = Vec::new();
    for (i, (global, n, text)) in all.into_iter().enumerate() {
        let export = format!("__block{i}");
        module.exports.add(&export, global);
        counters.push((export, n, text));
    }
    let instrumented = module.emit_wasm();
    let (mut store, instance) = profiling::run(&instrumented, &args[1], &entry);
    let mut rows: Vec<(i64, i64, usize, String)> = counters
        .into_iter()
        .map(|(export, n, text)| {
            let times = profiling::counter(&mut store, &instance, &export);
            (times * n as i64, times, n, text)
        })
        .filter(|r| r.0 > 0)
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0));
    let total: i64 = rows.iter().map(|r| r.0).sum();
    println!("{total} instructions in matching functions");
    for (w, times, n, text) in rows.iter().take(400) {
        println!("{w:>9} {times:>7}x{n:<4} {text}");
    }
}
