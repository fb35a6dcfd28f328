//! Running wasm as every Kiln host does: on a thread with room for its
//! stack, and under a time limit enforced by epoch interruption.

use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

/// Runs `f` on a new thread named `name` whose stack is `stack` bytes, and
/// waits for it. Wasm runs on the calling thread's native stack, so a host
/// that gives modules more than a default thread's stack (`kiln run`'s
/// 16 MiB, the build-time init's) must call them on such a thread.
///
/// # Errors
///
/// The thread could not be started. A panic in `f` is resumed here.
pub fn on_large_stack<T: Send>(name: &str, stack: usize, f: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new().name(name.into()).stack_size(stack).spawn_scoped(scope, f)?;
        Ok(thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// A thread that interrupts `engine`'s running code once a time limit
/// passes, unless stopped first: a store whose epoch deadline is 1
/// (`Store::set_epoch_deadline(1)`) then traps with `Trap::Interrupt`.
pub struct Watchdog {
    cancel: Sender<()>,
    thread: JoinHandle<()>,
}

impl Watchdog {
    /// Starts watching: `limit` from now, `engine`'s epoch is incremented.
    pub fn start(engine: &wasmtime::Engine, limit: Duration) -> Self {
        let engine = engine.clone();
        let (cancel, cancelled) = channel::<()>();
        let thread = std::thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = cancelled.recv_timeout(limit) {
                engine.increment_epoch();
            }
        });
        Watchdog { cancel, thread }
    }

    /// Stops watching (the limit no longer applies) and waits for the thread.
    pub fn stop(self) {
        let _ = self.cancel.send(());
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Config, Engine, Instance, Module, Store, Trap};

    /// A module exporting `f: () -> ()` with `body` (its code, `end`
    /// included), instantiated in a store whose epoch deadline is 1.
    fn function(engine: &Engine, body: &[u8]) -> (Store<()>, wasmtime::TypedFunc<(), ()>) {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend_from_slice(&[1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, b'f', 0, 0]);
        let code_len = u8::try_from(body.len() + 1).expect("a short body");
        wasm.extend_from_slice(&[10, code_len + 2, 1, code_len, 0]);
        wasm.extend_from_slice(body);
        let module = Module::new(engine, &wasm).expect("a valid module");
        let mut store = Store::new(engine, ());
        store.set_epoch_deadline(1);
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
        let f = instance.get_typed_func::<(), ()>(&mut store, "f").expect("exported");
        (store, f)
    }

    /// `loop br 0 end end`: runs until interrupted.
    const SPIN: &[u8] = &[0x03, 0x40, 0x0c, 0, 0x0b, 0x0b];

    #[test]
    fn a_watchdog_interrupts_code_that_runs_past_its_limit() {
        let engine = Engine::new(Config::new().epoch_interruption(true)).expect("an engine");
        let (mut store, spin) = function(&engine, SPIN);
        let watchdog = Watchdog::start(&engine, Duration::from_millis(50));
        let error = spin.call(&mut store, ()).expect_err("interrupted");
        watchdog.stop();
        assert_eq!(error.downcast_ref::<Trap>(), Some(&Trap::Interrupt));
    }

    #[test]
    fn a_stopped_watchdog_never_interrupts() {
        let engine = Engine::new(Config::new().epoch_interruption(true)).expect("an engine");
        Watchdog::start(&engine, Duration::from_millis(1)).stop();
        std::thread::sleep(Duration::from_millis(20));
        let (mut store, f) = function(&engine, &[0x0b]);
        f.call(&mut store, ()).expect("not interrupted");
    }

    #[test]
    fn code_on_a_large_stack_gets_that_stack() {
        // 4 MiB of locals would overflow a default 2 MiB thread.
        let depth = on_large_stack("kiln-test", 16 << 20, || {
            fn recurse(n: usize) -> usize {
                let pad = std::hint::black_box([0u8; 1024]);
                if n == 0 { pad[0] as usize } else { 1 + recurse(n - 1) }
            }
            recurse(4096)
        });
        assert_eq!(depth.expect("the thread starts"), 4096);
    }
}
