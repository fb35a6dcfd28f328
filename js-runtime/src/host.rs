//! Where a program's bytes come from and go to.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

/// The outside world as the runtime API sees it: three streams and a source
/// of randomness.
pub trait Host {
    /// Reads up to `buf.len()` bytes of stdin; `Ok(0)` means end of input.
    fn read_stdin(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes all of `bytes` to stdout.
    fn write_stdout(&self, bytes: &[u8]) -> io::Result<()>;
    /// Writes all of `bytes` to stderr.
    fn write_stderr(&self, bytes: &[u8]) -> io::Result<()>;
    /// Returns 64 unpredictable bits, for seeding `Math.random`.
    fn random_seed(&self) -> u64;

    /// Fills `buf` with unpredictable bytes (`crypto.getRandomValues`).
    fn fill_random(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.random_seed().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// The process's own stdin, stdout and stderr (file descriptors 0, 1, 2),
/// used unbuffered: the runtime does its own buffering.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdHost;

impl StdHost {
    fn with_fd<R>(fd: i32, f: impl FnOnce(&mut std::fs::File) -> R) -> R {
        use std::os::fd::FromRawFd;
        // SAFETY: fds 0-2 are open for the life of the process; ManuallyDrop
        // keeps this borrowed `File` from closing them.
        let mut file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
        f(&mut file)
    }
}

/// How long to wait before retrying an fd that is not ready. Some hosts
/// (Node's `node:wasi` with piped stdio) hand the module non-blocking pipes,
/// so reads and writes can fail with EAGAIN instead of waiting.
const NOT_READY_BACKOFF: std::time::Duration = std::time::Duration::from_millis(1);

impl Host for StdHost {
    fn read_stdin(&self, buf: &mut [u8]) -> io::Result<usize> {
        use std::io::Read;
        Self::with_fd(0, |f| loop {
            match f.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(NOT_READY_BACKOFF),
                other => return other,
            }
        })
    }

    fn write_stdout(&self, bytes: &[u8]) -> io::Result<()> {
        Self::with_fd(1, |f| write_all_patiently(f, bytes))
    }

    fn write_stderr(&self, bytes: &[u8]) -> io::Result<()> {
        Self::with_fd(2, |f| write_all_patiently(f, bytes))
    }

    fn random_seed(&self) -> u64 {
        os_random_u64()
    }

    #[cfg(target_os = "wasi")]
    fn fill_random(&self, buf: &mut [u8]) {
        os_random_fill(buf);
    }
}

/// `write_all` that also waits out partial writes and EAGAIN.
fn write_all_patiently(f: &mut std::fs::File, mut bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    while !bytes.is_empty() {
        match f.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(NOT_READY_BACKOFF),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(target_os = "wasi")]
fn os_random_fill(buf: &mut [u8]) {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        fn random_get(buf: *mut u8, len: usize) -> u16;
    }
    // SAFETY: `buf` is a valid, writable buffer of the length passed.
    // A failing random_get leaves the bytes as they were.
    unsafe { random_get(buf.as_mut_ptr(), buf.len()) };
}

#[cfg(target_os = "wasi")]
fn os_random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    os_random_fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

#[cfg(not(target_os = "wasi"))]
fn os_random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS on first use in each thread and then
    // stepped; hashing a counter through a fresh one gives distinct values.
    std::collections::hash_map::RandomState::new().build_hasher().finish()
}

/// An in-memory host for tests: stdin is a fixed byte string, stdout and
/// stderr are collected. Clones share the same buffers.
#[derive(Debug, Clone, Default)]
pub struct MemoryHost {
    inner: Rc<RefCell<MemoryStreams>>,
}

#[derive(Debug, Default)]
struct MemoryStreams {
    stdin: Vec<u8>,
    stdin_pos: usize,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    next_seed: u64,
    /// Writes to stdout fail with a broken pipe once it holds this much.
    stdout_capacity: Option<usize>,
}

impl MemoryHost {
    /// A host whose stdin holds `stdin`.
    pub fn new(stdin: &[u8]) -> Self {
        let streams = MemoryStreams {
            stdin: stdin.to_vec(),
            next_seed: 0x9E37_79B9_7F4A_7C15,
            ..MemoryStreams::default()
        };
        MemoryHost { inner: Rc::new(RefCell::new(streams)) }
    }

    /// Makes stdout behave like a pipe whose reader leaves after `bytes`
    /// bytes: a write that would go past them fails with `BrokenPipe`.
    pub fn close_stdout_after(&self, bytes: usize) {
        self.inner.borrow_mut().stdout_capacity = Some(bytes);
    }

    /// Everything written to stdout so far.
    pub fn stdout(&self) -> Vec<u8> {
        self.inner.borrow().stdout.clone()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> Vec<u8> {
        self.inner.borrow().stderr.clone()
    }
}

impl Host for MemoryHost {
    fn read_stdin(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut s = self.inner.borrow_mut();
        let start = s.stdin_pos;
        let n = buf.len().min(s.stdin.len() - start);
        buf[..n].copy_from_slice(&s.stdin[start..start + n]);
        s.stdin_pos += n;
        Ok(n)
    }

    fn write_stdout(&self, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.inner.borrow_mut();
        if s.stdout_capacity.is_some_and(|capacity| s.stdout.len() + bytes.len() > capacity) {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        s.stdout.extend_from_slice(bytes);
        Ok(())
    }

    fn write_stderr(&self, bytes: &[u8]) -> io::Result<()> {
        self.inner.borrow_mut().stderr.extend_from_slice(bytes);
        Ok(())
    }

    fn random_seed(&self) -> u64 {
        // Distinct seeds in sequence, so tests can observe reseeding.
        let mut s = self.inner.borrow_mut();
        s.next_seed = s.next_seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        s.next_seed
    }
}
