//! Large and awkward streams: 100 MB through a module byte for byte, slow
//! readers and writers, a reader that goes away.

use crate::util::{build_program, kiln, node};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Copies stdin to stdout in chunks through Javy's API, handling short reads
/// and partial writes.
const JAVY_COPY: &str = "const buf = new Uint8Array(65536);\n\
    for (;;) {\n  const n = Javy.IO.readSync(0, buf);\n  if (n === 0) break;\n\
      let off = 0;\n  while (off < n) off += Javy.IO.writeSync(1, buf.subarray(off, n));\n}\n";
/// The same with Kiln's whole-stream API.
const KILN_COPY: &str = "Kiln.stdout.write(Kiln.stdin.bytes());\n";

/// Byte `i` of the test stream: every value 0..=255, in no short cycle.
fn byte_at(i: u64) -> u8 {
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 56) as u8 ^ i as u8
}

/// How a test feeds and drains the module.
#[derive(Clone, Copy)]
struct Pace {
    /// Bytes per write to the module's stdin.
    write_chunk: usize,
    /// Bytes per read from the module's stdout.
    read_chunk: usize,
    /// Pause after each write and read.
    pause: Duration,
}

const FAST: Pace = Pace { write_chunk: 1 << 20, read_chunk: 1 << 20, pause: Duration::ZERO };

/// Streams `len` bytes of the test stream through `cmd` and checks that
/// stdout is exactly that stream, without holding either in memory. Returns
/// the time taken.
fn copy_through(mut cmd: Command, len: u64, pace: Pace) -> Duration {
    let started = Instant::now();
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawning the host");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut chunk = Vec::with_capacity(pace.write_chunk);
        let mut i = 0u64;
        while i < len {
            chunk.clear();
            let end = (i + pace.write_chunk as u64).min(len);
            chunk.extend((i..end).map(byte_at));
            stdin.write_all(&chunk).expect("writing the module's stdin");
            i = end;
            std::thread::sleep(pace.pause);
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![0u8; pace.read_chunk];
    let mut seen = 0u64;
    let mut first_difference = None;
    loop {
        let n = stdout.read(&mut buf).expect("reading the module's stdout");
        if n == 0 {
            break;
        }
        if first_difference.is_none() {
            first_difference = buf[..n].iter().enumerate().find(|&(k, &b)| b != byte_at(seen + k as u64)).map(|(k, _)| seen + k as u64);
        }
        seen += n as u64;
        std::thread::sleep(pace.pause);
    }
    let status = child.wait().unwrap();
    writer.join().unwrap();
    let stderr = errors.join().unwrap();
    assert!(status.success(), "{cmd:?} failed ({status}): {stderr}");
    assert_eq!(first_difference, None, "output differs from input at byte {first_difference:?}");
    assert_eq!(seen, len, "output length");
    assert_eq!(stderr, "");
    started.elapsed()
}

fn on_wasmtime(dir: &Path, wasm: &Path) -> Command {
    let mut cmd = kiln(dir);
    cmd.arg("run").arg(wasm);
    cmd
}

const HUNDRED_MB: u64 = 100 * 1000 * 1000;

#[test]
fn a_hundred_megabytes_through_javy_io_on_both_hosts() {
    let (dir, wasm) = build_program("copy.js", JAVY_COPY);
    let wasmtime = copy_through(on_wasmtime(dir.path(), &wasm), HUNDRED_MB, FAST);
    let node = copy_through(node(dir.path(), &wasm), HUNDRED_MB, FAST);
    eprintln!("100 MB through Javy.IO: wasmtime {wasmtime:.2?}, node:wasi {node:.2?}");
}

#[test]
fn a_hundred_megabytes_through_kiln_stdin_and_stdout_on_both_hosts() {
    let (dir, wasm) = build_program("copy.js", KILN_COPY);
    let wasmtime = copy_through(on_wasmtime(dir.path(), &wasm), HUNDRED_MB, FAST);
    let node = copy_through(node(dir.path(), &wasm), HUNDRED_MB, FAST);
    eprintln!("100 MB through Kiln.stdin/stdout: wasmtime {wasmtime:.2?}, node:wasi {node:.2?}");
}

/// Odd-sized writes with pauses between them (short reads for the module)
/// and a reader slower than the module (its writes fill the pipe: partial
/// writes, and EAGAIN on node's non-blocking pipes).
#[test]
fn slow_writers_and_readers_lose_nothing_on_both_hosts() {
    let slow = Pace { write_chunk: 7919, read_chunk: 4093, pause: Duration::from_micros(300) };
    for source in [JAVY_COPY, KILN_COPY] {
        let (dir, wasm) = build_program("copy.js", source);
        copy_through(on_wasmtime(dir.path(), &wasm), 3 << 20, slow);
        copy_through(node(dir.path(), &wasm), 3 << 20, slow);
    }
}

/// Runs `cmd`, reads 10 bytes of its stdout and closes it, like `| head -c
/// 10`; returns the exit status and stderr.
fn read_ten_bytes_then_close(mut cmd: Command) -> (Option<i32>, String) {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawning the host");
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    stdout.read_exact(&mut first).expect("the module writes");
    assert_eq!(&first, b"yyyyyyyyyy");
    drop(stdout);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    // A module that ignored the closed pipe would run forever.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} kept running after its stdout was closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A closed stdout stops the program (even one that catches every error)
/// quietly with status 0, through each way of writing.
#[test]
fn a_closed_stdout_ends_the_module_quietly() {
    let writers = [
        "for (;;) { try { console.log('y'.repeat(100)); } catch (e) {} }\n",
        "const line = new TextEncoder().encode('y'.repeat(100) + '\\n');\nfor (;;) { try { Javy.IO.writeSync(1, line); } catch (e) {} }\n",
        "for (;;) { try { Kiln.stdout.write('y'.repeat(100) + '\\n'); } catch (e) {} }\n",
        "setInterval(() => console.log('y'.repeat(100)), 1);\n",
        "async function main() { for (;;) { await null; console.log('y'.repeat(100)); } }\nmain().catch(() => main());\n",
    ];
    for source in writers {
        let (dir, wasm) = build_program("yes.js", source);
        for cmd in [on_wasmtime(dir.path(), &wasm), node(dir.path(), &wasm)] {
            let shown = format!("{cmd:?}");
            let (status, stderr) = read_ten_bytes_then_close(cmd);
            assert_eq!(status, Some(0), "{source} on {shown}: {stderr}");
            assert_eq!(stderr, "", "{source} on {shown}");
        }
    }
}
