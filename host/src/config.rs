//! The wasmtime configuration every Kiln host starts from.
//!
//! `kiln run`, the build-time snapshotter and the benchmark each need a
//! slightly different engine (fuel or not, how much wasm stack), but the
//! rules that tie those settings together are the same everywhere and live
//! here: the async stack wasmtime checks the wasm stack against, the thread
//! stack a call needs, and epoch interruption always on (the [`Watchdog`]
//! relies on it, and cached code compiled with it fits every host).
//!
//! [`Watchdog`]: crate::Watchdog

/// What a Kiln host asks of wasmtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// Meter executed wasm instructions (wasmtime's fuel).
    pub fuel: bool,
    /// The most native stack the wasm frames of one call may use
    /// (`Config::max_wasm_stack`; wasmtime's default is 512 KiB).
    pub wasm_stack: usize,
    /// Room for the host's own frames below and between the wasm frames:
    /// WASI calls run on the same thread.
    pub host_stack: usize,
    /// Memory images up to this size are mapped copy-on-write however
    /// sparse their data (`Config::memory_guaranteed_dense_image_size`);
    /// `None`: wasmtime's default (16 MiB).
    pub dense_image: Option<u64>,
}

impl HostConfig {
    /// `kiln run`'s: metered, 16 MiB of wasm stack
    /// ([`kiln_abi::stack::RUN_WASM_STACK`]), and sparse snapshots up to
    /// 256 MiB mapped rather than copied.
    pub fn run() -> Self {
        HostConfig {
            fuel: true,
            wasm_stack: kiln_abi::stack::RUN_WASM_STACK,
            host_stack: 4 << 20,
            // A snapshot's data can lie sparsely in a large memory (a big
            // program's parser grew the heap, then freed most of it). By
            // default wasmtime then copies every segment on each
            // instantiation (metered as fuel: ~1 per byte) instead of
            // mapping one copy-on-write image.
            dense_image: Some(256 << 20),
        }
    }

    /// The build-time init's: unmetered (a time limit bounds it), with the
    /// deep stack a parser of large programs needs
    /// ([`kiln_abi::stack::INIT_WASM_STACK`]).
    pub fn build_time() -> Self {
        HostConfig { fuel: false, wasm_stack: kiln_abi::stack::INIT_WASM_STACK, host_stack: 8 << 20, dense_image: None }
    }

    /// The native stack of a thread that calls wasm under this
    /// configuration (see [`on_large_stack`](crate::on_large_stack)).
    pub fn thread_stack(&self) -> usize {
        self.wasm_stack + self.host_stack
    }

    /// The wasmtime configuration.
    pub fn wasmtime(&self) -> wasmtime::Config {
        let mut config = wasmtime::Config::new();
        config.consume_fuel(self.fuel);
        config.epoch_interruption(true);
        // wasmtime checks the wasm stack against the async stack size even
        // though no Kiln host runs wasm async (so it is never allocated).
        config.async_stack_size(self.thread_stack());
        config.max_wasm_stack(self.wasm_stack);
        if let Some(size) = self.dense_image {
            config.memory_guaranteed_dense_image_size(size);
        }
        config
    }

    /// An engine with [`wasmtime`](Self::wasmtime)'s configuration.
    ///
    /// # Errors
    ///
    /// wasmtime cannot be configured so on this host.
    pub fn engine(&self) -> wasmtime::Result<wasmtime::Engine> {
        wasmtime::Engine::new(&self.wasmtime())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Watchdog, on_large_stack};
    use std::time::Duration;
    use wasmtime::{Instance, Module, Store};

    /// `(func (export "f") (param i32) (result i32))` that recurses `n`
    /// levels deep, each frame holding `locals` i64 locals.
    fn recursion(locals: u8) -> Vec<u8> {
        let mut body = vec![1, locals, 0x7e];
        // local.get 0; if (result i32) local.get 0; i32.const 1; i32.sub; call 0; else i32.const 0; end
        body.extend_from_slice(&[0x20, 0, 0x04, 0x7f, 0x20, 0, 0x41, 1, 0x6b, 0x10, 0, 0x05, 0x41, 0, 0x0b, 0x0b]);
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend_from_slice(&[1, 6, 1, 0x60, 1, 0x7f, 1, 0x7f, 3, 2, 1, 0, 7, 5, 1, 1, b'f', 0, 0]);
        let code = u8::try_from(body.len()).expect("short");
        wasm.extend_from_slice(&[10, code + 2, 1, code]);
        wasm.extend_from_slice(&body);
        wasm
    }

    fn recurse(config: &HostConfig, depth: i32) -> wasmtime::Result<i32> {
        let engine = config.engine()?;
        let module = Module::new(&engine, recursion(16))?;
        let mut store = Store::new(&engine, ());
        if config.fuel {
            store.set_fuel(u64::MAX)?;
        }
        // The watchdog needs a deadline even though none is reached here.
        store.set_epoch_deadline(1);
        let watchdog = Watchdog::start(&engine, Duration::from_secs(60));
        let instance = Instance::new(&mut store, &module, &[])?;
        let f = instance.get_typed_func::<i32, i32>(&mut store, "f")?;
        let result = f.call(&mut store, depth);
        watchdog.stop();
        result
    }

    #[test]
    fn the_run_configuration_gives_recursion_more_than_wasmtimes_default_stack() {
        let run = HostConfig::run();
        // 50,000 frames of a few dozen bytes do not fit in 512 KiB, and do
        // in 16 MiB.
        let deep = on_large_stack("test", run.thread_stack(), || recurse(&run, 50_000)).expect("a thread");
        assert_eq!(deep.expect("fits in the run stack"), 0);
        let small = HostConfig { wasm_stack: 512 << 10, ..HostConfig::run() };
        let trapped = on_large_stack("test", small.thread_stack(), || recurse(&small, 50_000)).expect("a thread");
        let trap = trapped.expect_err("exhausts 512 KiB").downcast::<wasmtime::Trap>().expect("a trap");
        assert_eq!(trap, wasmtime::Trap::StackOverflow);
    }

    #[test]
    fn fuel_is_metered_only_when_asked() {
        let metered = HostConfig::run().engine().expect("an engine");
        let store = Store::new(&metered, ());
        assert!(store.get_fuel().is_ok());
        let unmetered = HostConfig::build_time().engine().expect("an engine");
        let mut store = Store::new(&unmetered, ());
        assert!(store.set_fuel(1).is_err(), "fuel is off at build time");
    }
}
