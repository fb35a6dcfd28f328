//! Where a module's wasmtime fuel goes, per function.
//!
//! `cargo run --release -p kiln --example fuel_profile -- app.wasm [EXPORT] < input`
//!
//! Build the module with `kiln build --keep-names`. Every function of the
//! module is wrapped in one that reports entry and exit to the host, which
//! reads the store's fuel at each; the report lists functions by inclusive
//! fuel (outermost activation only, so recursion is not counted twice) and
//! by self fuel, plus the heaviest call paths. The wrappers themselves cost a
//! few units of fuel per call, charged to the caller.

use std::collections::HashMap;
use walrus::ir::{Call, VisitorMut};
use walrus::{ExportItem, FunctionBuilder, FunctionId, FunctionKind, Module, ValType};
use wasmtime::{Caller, Config, Engine, Linker, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;

struct Redirect(HashMap<FunctionId, FunctionId>);

impl VisitorMut for Redirect {
    fn visit_call_mut(&mut self, instr: &mut Call) {
        if let Some(w) = self.0.get(&instr.func) {
            instr.func = *w;
        }
    }
    fn visit_ref_func_mut(&mut self, instr: &mut walrus::ir::RefFunc) {
        if let Some(w) = self.0.get(&instr.func) {
            instr.func = *w;
        }
    }
}

fn instrument(wasm: &[u8]) -> (Vec<u8>, Vec<String>) {
    let mut module = Module::from_buffer(wasm).expect("parse");
    let hook_ty = module.types.add(&[ValType::I32], &[]);
    let (enter, _) = module.add_import_func("prof", "enter", hook_ty);
    let (exit, _) = module.add_import_func("prof", "exit", hook_ty);
    let locals: Vec<FunctionId> = module.funcs.iter_local().map(|(id, _)| id).collect();
    let mut names = Vec::new();
    let mut map = HashMap::new();
    for (i, &f) in locals.iter().enumerate() {
        let func = module.funcs.get(f);
        names.push(func.name.clone().unwrap_or_else(|| format!("func{}", f.index())));
        let ty = module.types.get(func.ty());
        let (params, results) = (ty.params().to_vec(), ty.results().to_vec());
        let args: Vec<_> = params.iter().map(|&t| module.locals.add(t)).collect();
        let mut b = FunctionBuilder::new(&mut module.types, &params, &results);
        let mut body = b.func_body();
        body.i32_const(i as i32).call(enter);
        for &a in &args {
            body.local_get(a);
        }
        body.call(f).i32_const(i as i32).call(exit);
        let w = b.finish(args, &mut module.funcs);
        map.insert(f, w);
    }
    let mut redirect = Redirect(map);
    for &f in &locals {
        if let FunctionKind::Local(l) = &mut module.funcs.get_mut(f).kind {
            let entry = l.entry_block();
            walrus::ir::dfs_pre_order_mut(&mut redirect, l, entry);
        }
    }
    for e in module.elements.iter_mut() {
        if let walrus::ElementItems::Functions(fs) = &mut e.items {
            for f in fs.iter_mut() {
                if let Some(w) = redirect.0.get(f) {
                    *f = *w;
                }
            }
        }
    }
    for e in module.exports.iter_mut() {
        if let ExportItem::Function(f) = &mut e.item
            && let Some(w) = redirect.0.get(f)
        {
            *f = *w;
        }
    }
    (module.emit_wasm(), names)
}

#[derive(Default)]
struct Prof {
    stack: Vec<(i32, u64, u64)>, // function, fuel at entry, fuel of children
    inclusive: HashMap<i32, u64>,
    selff: HashMap<i32, u64>,
    calls: HashMap<i32, u64>,
    paths: HashMap<Vec<i32>, u64>,
}

struct State {
    wasi: WasiP1Ctx,
    prof: Prof,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let wasm = std::fs::read(&args[1]).expect("read module");
    let entry = args.get(2).cloned().unwrap_or_else(|| "_start".into());
    let depth: usize = std::env::var("DEPTH").ok().and_then(|d| d.parse().ok()).unwrap_or(6);
    let (wasm, names) = instrument(&wasm);
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let module = wasmtime::Module::new(&engine, &wasm).unwrap();
    let wasi = WasiCtxBuilder::new().inherit_stdio().build_p1();
    let mut store = Store::new(&engine, State { wasi, prof: Prof::default() });
    store.set_fuel(u64::MAX).unwrap();
    let mut linker: Linker<State> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| &mut s.wasi).unwrap();
    linker
        .func_wrap("prof", "enter", |mut c: Caller<'_, State>, f: i32| {
            let fuel = u64::MAX - c.get_fuel().unwrap();
            c.data_mut().prof.stack.push((f, fuel, 0));
        })
        .unwrap();
    linker
        .func_wrap("prof", "exit", move |mut c: Caller<'_, State>, f: i32| {
            let fuel = u64::MAX - c.get_fuel().unwrap();
            let p = &mut c.data_mut().prof;
            let (g, start, children) = p.stack.pop().unwrap();
            assert_eq!(f, g);
            let incl = fuel - start;
            if !p.stack.iter().any(|(h, _, _)| *h == f) {
                *p.inclusive.entry(f).or_default() += incl;
            }
            *p.selff.entry(f).or_default() += incl - children;
            *p.calls.entry(f).or_default() += 1;
            if p.stack.len() < depth {
                let mut path: Vec<i32> = p.stack.iter().map(|s| s.0).collect();
                path.push(f);
                *p.paths.entry(path).or_default() += incl;
            }
            if let Some(top) = p.stack.last_mut() {
                top.2 += incl;
            }
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let before = u64::MAX - store.get_fuel().unwrap();
    let func = instance.get_typed_func::<(), ()>(&mut store, &entry).unwrap();
    let r = func.call(&mut store, ());
    let total = u64::MAX - store.get_fuel().unwrap();
    eprintln!("== result {r:?}; fuel: instantiate {before}, total {total} (instrumented)");
    let p = &store.data().prof;
    let name = |f: &i32| -> String {
        let n = &names[*f as usize];
        if n.len() > 90 { n[..90].to_string() } else { n.clone() }
    };
    let mut incl: Vec<_> = p.inclusive.iter().collect();
    incl.sort_by(|a, b| b.1.cmp(a.1));
    eprintln!("== inclusive (calls)");
    for (f, v) in incl.iter().take(40) {
        eprintln!("{:>9} {:>6}  {}", v, p.calls[f], name(f));
    }
    let mut selff: Vec<_> = p.selff.iter().collect();
    selff.sort_by(|a, b| b.1.cmp(a.1));
    eprintln!("== self (calls)");
    for (f, v) in selff.iter().take(40) {
        eprintln!("{:>9} {:>6}  {}", v, p.calls[f], name(f));
    }
    let mut paths: Vec<_> = p.paths.iter().collect();
    paths.sort_by(|a, b| a.0.cmp(b.0));
    eprintln!("== call tree (depth {depth}, >= 100 fuel)");
    for (path, v) in paths {
        if *v >= 100 {
            eprintln!("{:>9} {}{}", v, "  ".repeat(path.len() - 1), name(path.last().unwrap()));
        }
    }
}
