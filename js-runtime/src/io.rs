//! Byte I/O for JavaScript: the natives behind `console` and `Javy.IO`.

use crate::host::Host;
use rquickjs::{ArrayBuffer, Ctx, Exception, Function, Object, Value, qjs};
use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;

/// stdout is flushed once this much is buffered. Large enough that a program
/// printing many short lines makes few host calls, small enough not to
/// matter for memory.
const STDOUT_BUFFER_LIMIT: usize = 64 * 1024;

/// stdin is read in chunks of this size.
const READ_CHUNK: usize = 64 * 1024;

/// The three standard streams with a buffered stdout.
pub(crate) struct Stdio {
    host: Rc<dyn Host>,
    stdout: RefCell<Vec<u8>>,
    /// Where stdin is read into. Allocated at build time (so in a module
    /// it is part of the snapshot): zeroing 64 KiB costs ~65,000 fuel, more
    /// than the rest of a small function-mode invocation.
    read_buffer: RefCell<Vec<u8>>,
    /// While set, stdin and stdout are unavailable: the program is being
    /// evaluated at build time, and its input exists only at run time.
    sealed: Cell<bool>,
    /// Send `console.log/info/debug` to stderr (function mode, where stdout
    /// carries the function's result).
    console_to_stderr: Cell<bool>,
    /// Set once a write to stdout failed because its reader is gone (broken
    /// pipe, e.g. `| head -c 10`). Nothing more can reach stdout; the
    /// program is stopped (see [`io_error`]).
    stdout_closed: Cell<bool>,
}

const SEALED_MESSAGE: &str = "is not available while the module's top level runs at build time \
     (input exists only when the module runs): use it inside the invoked function";

impl Stdio {
    pub(crate) fn new(host: Rc<dyn Host>) -> Self {
        // Allocated now, i.e. at build time in a module: the snapshot holds
        // the buffer, so a run's first write does not allocate.
        let stdout = Vec::with_capacity(STDOUT_BUFFER_LIMIT);
        let read_buffer = RefCell::new(vec![0u8; READ_CHUNK]);
        Stdio {
            host,
            stdout: RefCell::new(stdout),
            read_buffer,
            sealed: Cell::new(false),
            console_to_stderr: Cell::new(false),
            stdout_closed: Cell::new(false),
        }
    }

    pub(crate) fn set_sealed(&self, sealed: bool) {
        self.sealed.set(sealed);
    }

    pub(crate) fn set_console_to_stderr(&self, yes: bool) {
        self.console_to_stderr.set(yes);
    }

    pub(crate) fn console_to_stderr(&self) -> bool {
        self.console_to_stderr.get()
    }

    /// Writes `parts` joined by spaces and a newline, as one write.
    pub(crate) fn write_line<'a>(&self, fd: i32, parts: impl Iterator<Item = &'a [u8]>) -> io::Result<()> {
        self.check_open(fd)?;
        let join = |buf: &mut Vec<u8>| {
            for (i, part) in parts.enumerate() {
                if i > 0 {
                    buf.push(b' ');
                }
                buf.extend_from_slice(part);
            }
            buf.push(b'\n');
        };
        match fd {
            1 => {
                let full = {
                    let mut buf = self.stdout.borrow_mut();
                    join(&mut buf);
                    buf.len() >= STDOUT_BUFFER_LIMIT
                };
                if full { self.flush() } else { Ok(()) }
            }
            _ => {
                let mut line = Vec::new();
                join(&mut line);
                self.write(fd, &line)
            }
        }
    }

    fn check_open(&self, fd: i32) -> io::Result<()> {
        if self.sealed.get() && (fd == 0 || fd == 1) {
            let name = if fd == 0 { "stdin" } else { "stdout" };
            return Err(io::Error::other(format!("{name} {SEALED_MESSAGE}")));
        }
        Ok(())
    }

    pub(crate) fn host(&self) -> Rc<dyn Host> {
        self.host.clone()
    }

    /// True once stdout's reader has gone away.
    pub(crate) fn stdout_closed(&self) -> bool {
        self.stdout_closed.get()
    }

    /// Writes out the buffer; it is emptied (and its allocation kept) even
    /// if the write fails.
    pub(crate) fn flush(&self) -> io::Result<()> {
        let mut pending = self.stdout.borrow_mut();
        if self.stdout_closed.get() {
            pending.clear();
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        if pending.is_empty() {
            return Ok(());
        }
        let result = self.host.write_stdout(&pending);
        pending.clear();
        if pending.capacity() > 2 * STDOUT_BUFFER_LIMIT {
            // One huge write grew it: do not keep that much.
            pending.shrink_to(STDOUT_BUFFER_LIMIT);
        }
        if matches!(&result, Err(e) if reader_gone(e)) {
            self.stdout_closed.set(true);
        }
        result
    }

    /// Writes to fd 1 (buffered) or fd 2 (after flushing fd 1).
    pub(crate) fn write(&self, fd: i32, bytes: &[u8]) -> io::Result<()> {
        self.check_open(fd)?;
        match fd {
            1 => {
                let full = {
                    let mut buf = self.stdout.borrow_mut();
                    buf.extend_from_slice(bytes);
                    buf.len() >= STDOUT_BUFFER_LIMIT
                };
                if full { self.flush() } else { Ok(()) }
            }
            2 => {
                self.flush()?;
                self.host.write_stderr(bytes)
            }
            _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "bad file descriptor")),
        }
    }

    /// Runs `f` on the read buffer: the one allocated (zeroed) at build
    /// time, or a fresh one if a caller up the stack is using it.
    fn with_read_buffer<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        match self.read_buffer.try_borrow_mut() {
            Ok(mut buffer) => f(&mut buffer),
            Err(_) => f(&mut vec![0u8; READ_CHUNK]),
        }
    }

    /// Reads all of stdin.
    pub(crate) fn read_to_end(&self) -> io::Result<Vec<u8>> {
        self.with_read_buffer(|chunk| {
            let mut all = Vec::new();
            loop {
                match self.read(0, chunk)? {
                    0 => return Ok(all),
                    n => all.extend_from_slice(&chunk[..n]),
                }
            }
        })
    }

    /// Reads what stdin has next, up to one chunk (empty at end of input).
    pub(crate) fn read_some(&self) -> io::Result<Vec<u8>> {
        self.with_read_buffer(|chunk| {
            let n = self.read(0, chunk)?;
            Ok(chunk[..n].to_vec())
        })
    }

    pub(crate) fn read(&self, fd: i32, buf: &mut [u8]) -> io::Result<usize> {
        self.check_open(fd)?;
        if fd != 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad file descriptor"));
        }
        // An interactive reader should see what was printed before it asks.
        self.flush()?;
        self.host.read_stdin(buf)
    }
}

/// Whether a failed write means the reader has gone away. Node's `node:wasi`
/// reports a closed pipe as EPIPE; wasmtime reports it as EIO (its WASI
/// preview 1 maps every closed stream to EIO), which a standard stream gives
/// for nothing else.
fn reader_gone(error: &io::Error) -> bool {
    /// WASI's errno for EIO.
    #[cfg(target_os = "wasi")]
    const EIO: i32 = 29;
    #[cfg(not(target_os = "wasi"))]
    const EIO: i32 = 5;
    error.kind() == io::ErrorKind::BrokenPipe || error.raw_os_error() == Some(EIO)
}

/// Turns an I/O failure into the exception a native function throws. A closed
/// stdout throws an *uncatchable* error: the reader is gone, so nothing the
/// program does next can be seen, and a program that catches and retries
/// (`for (;;) try { console.log(x) } catch {}`) would otherwise never end.
/// The engine reports it with its own exit status (see [`Stdio::stdout_closed`]).
pub(crate) fn io_error(ctx: &Ctx<'_>, io: &Stdio, what: &str, error: &io::Error) -> rquickjs::Error {
    if !io.stdout_closed() {
        return Exception::throw_message(ctx, &format!("{what}: {error}"));
    }
    let exception = match Exception::from_message(ctx.clone(), "stdout is closed (its reader has gone away)") {
        Ok(exception) => exception,
        Err(e) => return e,
    };
    // SAFETY: `exception` is a live object of this context.
    unsafe { qjs::JS_SetUncatchableError(ctx.as_raw().as_ptr(), exception.as_raw()) };
    ctx.throw(exception.into_value())
}

/// Defines `native.write(fd, stringOrBytes)` and
/// `native.read(fd, arrayBuffer, offset, length)`.
pub(crate) fn register<'js>(ctx: &Ctx<'js>, native: &Object<'js>, stdio: &Rc<Stdio>) -> rquickjs::Result<()> {
    let io = stdio.clone();
    native.set(
        "write",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, fd: i32, data: Value<'js>| -> rquickjs::Result<usize> {
            if fd != 1 && fd != 2 {
                return Err(Exception::throw_message(&ctx, &format!("writeSync: fd {fd} is not writable (use 1 for stdout, 2 for stderr)")));
            }
            let written = if let Some(s) = data.as_string() {
                let text = crate::utf8::string_bytes(s)?;
                io.write(fd, &text).map(|_| text.len())
            } else if let Some(bytes) = data.as_object().and_then(|o| o.as_typed_array::<u8>()) {
                let raw = bytes.as_raw().ok_or_else(|| Exception::throw_type(&ctx, "writeSync: the array's buffer is detached"))?;
                // SAFETY: the typed array is alive for this call and nothing
                // else runs while we copy from it.
                let slice = unsafe { raw.as_ref() };
                io.write(fd, slice).map(|_| slice.len())
            } else {
                return Err(Exception::throw_type(&ctx, "write: data must be a string or a Uint8Array"));
            };
            written.map_err(|e| io_error(&ctx, &io, "writeSync", &e))
        }),
    )?;

    let io = stdio.clone();
    native.set(
        "console",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, is_error: bool, text: rquickjs::String<'js>| -> rquickjs::Result<()> {
            let fd = if is_error || io.console_to_stderr.get() { 2 } else { 1 };
            let text = crate::utf8::string_bytes(&text)?;
            io.write(fd, &text).map_err(|e| io_error(&ctx, &io, "console", &e))
        }),
    )?;

    let io = stdio.clone();
    native.set(
        "readAll",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, shape: i32| -> rquickjs::Result<Value<'js>> {
            let all = io.read_to_end().map_err(|e| io_error(&ctx, &io, "reading stdin", &e))?;
            match shape {
                0 => Ok(rquickjs::TypedArray::<u8>::new(ctx, all)?.into_value()),
                1 => Ok(crate::utf8::new_string(&ctx, &crate::encoding::decode_utf8(&all, false, false).unwrap_or_default())?.into_value()),
                _ => crate::json::parse(&ctx, all),
            }
        }),
    )?;

    let io = stdio.clone();
    native.set(
        "read",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, fd: i32, buffer: ArrayBuffer<'js>, offset: usize, length: usize| -> rquickjs::Result<usize> {
                if fd != 0 {
                    return Err(Exception::throw_message(&ctx, &format!("readSync: fd {fd} is not readable (use 0 for stdin)")));
                }
                let raw = buffer.as_raw().ok_or_else(|| Exception::throw_type(&ctx, "readSync: the array's buffer is detached"))?;
                // SAFETY: the buffer is alive for this call; offset and length
                // come from a Uint8Array over it, so they lie within it.
                let all = unsafe { &mut *raw.as_ptr() };
                let target = all
                    .get_mut(offset..offset.saturating_add(length))
                    .ok_or_else(|| Exception::throw_range(&ctx, "readSync: range outside the buffer"))?;
                io.read(fd, target).map_err(|e| io_error(&ctx, &io, "readSync", &e))
            },
        ),
    )?;
    Ok(())
}
