//! `JSON.parse` and `JSON.stringify` at native speed.
//!
//! QuickJS's own JSON code tokenizes into a string buffer per string, looks
//! every key up as a fresh atom and, when stringifying, builds 16-bit string
//! buffers and calls `Object.keys`, `Array.prototype.includes` and a property
//! lookup through the prototype chain for every value: ~200 instructions per
//! input byte. The fast paths here build QuickJS values straight from the
//! bytes ([`parse`]) and write bytes straight from the values
//! ([`stringify`]): through QuickJS's public API, and, where its layouts
//! check out ([`crate::internals`]), by reading objects, shapes and strings
//! in place and making objects of a known shape and ASCII strings directly.
//!
//! Exactness: a fast path never runs JavaScript and has no effect anyone can
//! observe, so whenever it meets something it cannot serve exactly — a syntax
//! error, a lone surrogate escape, deep nesting, a getter, a Proxy, a
//! `toJSON`, a cycle, a BigInt, a replacer function — it gives up, frees what
//! it built, and the same call runs through QuickJS's own implementation
//! from the start (`JS_ParseJSON`, `JS_JSONStringify`). Errors, messages and
//! the odd cases are therefore QuickJS's by construction.

mod parse;
mod stringify;

use rquickjs::{Ctx, Value, qjs};
use std::hash::{BuildHasherDefault, Hasher};

/// Why a fast path stopped.
#[derive(Debug)]
enum Stop {
    /// The input needs QuickJS's own implementation (see the module docs).
    Fallback,
    /// QuickJS failed (out of memory); its exception is pending.
    Exception,
}

/// Parses JSON text (UTF-8) as `JSON.parse(text)` without a reviver does.
///
/// # Errors
///
/// [`rquickjs::Error::Exception`] with QuickJS's `SyntaxError` pending.
pub fn parse<'js>(ctx: &Ctx<'js>, text: Vec<u8>) -> rquickjs::Result<Value<'js>> {
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: `raw` is the live context of `ctx`.
    let value = unsafe { parse_bytes(raw, &text) };
    if unsafe { qjs::JS_IsException(value) } {
        return Err(rquickjs::Error::Exception);
    }
    // SAFETY: a new value of this context, owned by us.
    Ok(unsafe { Value::from_raw(ctx.clone(), value) })
}

/// The JSON text of `value` as `JSON.stringify(value)` gives it, as UTF-8;
/// `None` where that is `undefined` (a function, a symbol, `undefined`).
///
/// # Errors
///
/// [`rquickjs::Error::Exception`] with QuickJS's exception pending (a cycle,
/// a BigInt, a throwing getter or `toJSON`).
pub fn stringify(ctx: &Ctx<'_>, value: &Value<'_>) -> rquickjs::Result<Option<Vec<u8>>> {
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: `value` is a live value of this context.
    match unsafe { stringify::fast(raw, value.as_raw(), qjs::JS_UNDEFINED, qjs::JS_UNDEFINED) } {
        Ok(text) => Ok(text),
        Err(Stop::Exception) => Err(rquickjs::Error::Exception),
        Err(Stop::Fallback) => {
            // SAFETY: as above.
            let text = unsafe { qjs::JS_JSONStringify(raw, value.as_raw(), qjs::JS_UNDEFINED, qjs::JS_UNDEFINED) };
            if unsafe { qjs::JS_IsException(text) } {
                return Err(rquickjs::Error::Exception);
            }
            if unsafe { qjs::JS_IsUndefined(text) } {
                return Ok(None);
            }
            // SAFETY: a new string of this context, owned by us.
            let text = unsafe { Value::from_raw(ctx.clone(), text) };
            let text = text.as_string().ok_or(rquickjs::Error::Exception)?;
            crate::utf8::string_bytes(text).map(Some)
        }
    }
}

/// The fast parse, falling back to `JS_ParseJSON` (on a copy ending in the
/// zero its parser reads up to).
///
/// # Safety
///
/// `ctx` is a live context.
unsafe fn parse_bytes(ctx: *mut qjs::JSContext, bytes: &[u8]) -> qjs::JSValue {
    // SAFETY: `ctx` is live.
    match unsafe { parse::fast(ctx, bytes) } {
        Ok(value) => value,
        Err(Stop::Exception) => qjs::JS_EXCEPTION,
        Err(Stop::Fallback) => {
            let mut text = Vec::with_capacity(bytes.len() + 1);
            text.extend_from_slice(bytes);
            text.push(0);
            // SAFETY: `text` holds the bytes and a zero; the name is what
            // `JSON.parse` gives QuickJS's parser.
            unsafe { qjs::JS_ParseJSON(ctx, text.as_ptr().cast(), bytes.len() as _, c"<input>".as_ptr()) }
        }
    }
}

/// `JSON.parse(text, reviver)`: the fast path unless a reviver is given, when
/// the call goes to QuickJS's own `JSON.parse` (`data[0]`).
unsafe extern "C" fn js_parse(
    ctx: *mut qjs::JSContext,
    this: qjs::JSValue,
    argc: std::ffi::c_int,
    argv: *mut qjs::JSValue,
    _magic: std::ffi::c_int,
    data: *mut qjs::JSValue,
) -> qjs::JSValue {
    // SAFETY: QuickJS passes at least `length` (2) arguments to a
    // C function with data, padding with `undefined`, and the data array
    // given at creation.
    unsafe {
        let (text, reviver) = (*argv, *argv.add(1));
        if argc > 1 && qjs::JS_IsFunction(ctx, reviver) {
            return qjs::JS_Call(ctx, *data, this, argc, argv);
        }
        // A string's text read in place (the layout known): an ASCII
        // string as it is, any other converted to the WTF-8 that
        // `JS_ToCStringLen` would give.
        if let Some(chars) = if crate::internals::available(ctx) { crate::internals::chars(text) } else { None } {
            return match chars {
                crate::internals::Chars::Latin1(bytes) if crate::utf8::ascii_prefix(bytes) == bytes.len() => parse_bytes(ctx, bytes),
                _ => {
                    let mut bytes = Vec::new();
                    crate::internals::append_utf8(ctx, text, &mut bytes, false);
                    parse_bytes(ctx, &bytes)
                }
            };
        }
        // As QuickJS's `JSON.parse`: ToString first (which may run a
        // `toString`), then the text.
        let mut len: usize = 0;
        let ptr = qjs::JS_ToCStringLen(ctx, &mut len, text);
        if ptr.is_null() {
            return qjs::JS_EXCEPTION;
        }
        let value = parse_bytes(ctx, std::slice::from_raw_parts(ptr.cast(), len));
        qjs::JS_FreeCString(ctx, ptr);
        value
    }
}

/// `JSON.stringify(value, replacer, space)`.
unsafe extern "C" fn js_stringify(
    ctx: *mut qjs::JSContext,
    _this: qjs::JSValue,
    _argc: std::ffi::c_int,
    argv: *mut qjs::JSValue,
) -> qjs::JSValue {
    // SAFETY: QuickJS passes at least `length` (3) arguments to a C
    // function, padding with `undefined`.
    unsafe {
        let (value, replacer, space) = (*argv, *argv.add(1), *argv.add(2));
        match stringify::fast(ctx, value, replacer, space) {
            Ok(Some(text)) => match std::str::from_utf8(&text) {
                // Always UTF-8: every string is escaped by `quote`.
                Ok(text) => crate::utf8::new_string_raw(ctx, text),
                Err(_) => qjs::JS_NewStringLen(ctx, text.as_ptr().cast(), text.len() as _),
            },
            Ok(None) => qjs::JS_UNDEFINED,
            Err(Stop::Exception) => qjs::JS_EXCEPTION,
            Err(Stop::Fallback) => qjs::JS_JSONStringify(ctx, value, replacer, space),
        }
    }
}

/// Replaces `JSON.parse` and `JSON.stringify` with the fast ones, keeping
/// their names, lengths and property attributes.
pub(crate) fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let raw = ctx.as_raw().as_ptr();
    // Checks QuickJS's layouts now, while the engine is initialized (and
    // snapshotted), not in the first run that reads a string.
    // SAFETY: `raw` is live.
    unsafe { crate::internals::available(raw) };
    let json: rquickjs::Object = ctx.globals().get("JSON")?;
    let original: Value = json.get("parse")?;
    let flags = (qjs::JS_PROP_WRITABLE | qjs::JS_PROP_CONFIGURABLE) as i32;
    // SAFETY: `raw` is live; the data array is copied (dup'ed) by QuickJS;
    // each new function is handed to JS_DefinePropertyValueStr, which takes
    // it.
    unsafe {
        let mut data = [original.as_raw()];
        let parse = qjs::JS_NewCFunctionData2(raw, Some(js_parse), c"parse".as_ptr(), 2, 0, 1, data.as_mut_ptr());
        if qjs::JS_IsException(parse) || qjs::JS_DefinePropertyValueStr(raw, json.as_raw(), c"parse".as_ptr(), parse, flags) < 0 {
            return Err(rquickjs::Error::Exception);
        }
        let stringify =
            qjs::JS_NewCFunction2(raw, Some(js_stringify), c"stringify".as_ptr(), 3, qjs::JSCFunctionEnum_JS_CFUNC_generic, 0);
        if qjs::JS_IsException(stringify)
            || qjs::JS_DefinePropertyValueStr(raw, json.as_raw(), c"stringify".as_ptr(), stringify, flags) < 0
        {
            return Err(rquickjs::Error::Exception);
        }
    }
    Ok(())
}

/// A fast hash for short byte strings and atoms (FxHash's mixing): the
/// caches here see a few distinct keys many times, and SipHash would cost
/// more than the lookups it serves.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(tail) ^ rest.len() as u64);
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;

/// A map from short byte strings to `V`, for the parser's caches: open
/// addressing over FxHash, keys kept in one buffer and compared eight bytes
/// at a time (a `HashMap<Box<[u8]>, V>` paid an allocation per key and a
/// libc `memcmp` per hit).
struct ByteCache<V: Copy> {
    /// Index + 1 into `entries`; 0 is empty. A power of two long.
    slots: Vec<u32>,
    entries: Vec<(u64, u32, u32, V)>,
    text: Vec<u8>,
}

impl<V: Copy> ByteCache<V> {
    fn new() -> Self {
        ByteCache { slots: vec![0; 64], entries: Vec::new(), text: Vec::new() }
    }

    fn hash(key: &[u8]) -> u64 {
        let mut hasher = FxHasher::default();
        hasher.write(key);
        // FxHash's multiplications carry a word's bytes only upwards: the
        // low bits, which pick the slot, would see only the first bytes of
        // each word, and "gid://shopify/CartLine/1", "/2", ... would all
        // collide. Fold the high half down.
        let h = hasher.finish();
        h ^ (h >> 32) ^ (h >> 47)
    }

    /// The entry index of `key`.
    fn find(&self, key: &[u8], hash: u64) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let mut slot = hash as usize & mask;
        loop {
            let index = self.slots[slot];
            if index == 0 {
                return None;
            }
            let (h, start, len, _) = self.entries[index as usize - 1];
            if h == hash && same(&self.text[start as usize..(start + len) as usize], key) {
                return Some(index as usize - 1);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Entry `index`'s key and value.
    fn entry(&self, index: usize) -> (&[u8], V) {
        let (_, start, len, value) = self.entries[index];
        (&self.text[start as usize..(start + len) as usize], value)
    }

    fn get(&self, key: &[u8], hash: u64) -> Option<V> {
        let mask = self.slots.len() - 1;
        let mut slot = hash as usize & mask;
        loop {
            let index = self.slots[slot];
            if index == 0 {
                return None;
            }
            let (h, start, len, value) = self.entries[index as usize - 1];
            if h == hash && same(&self.text[start as usize..(start + len) as usize], key) {
                return Some(value);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Adds `key` (not present); returns its entry index.
    fn insert(&mut self, key: &[u8], hash: u64, value: V) -> usize {
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            let mut slots = vec![0u32; self.slots.len() * 2];
            let mask = slots.len() - 1;
            for (i, entry) in self.entries.iter().enumerate() {
                let mut slot = entry.0 as usize & mask;
                while slots[slot] != 0 {
                    slot = (slot + 1) & mask;
                }
                slots[slot] = i as u32 + 1;
            }
            self.slots = slots;
        }
        let mask = self.slots.len() - 1;
        let mut slot = hash as usize & mask;
        while self.slots[slot] != 0 {
            slot = (slot + 1) & mask;
        }
        self.entries.push((hash, self.text.len() as u32, key.len() as u32, value));
        self.slots[slot] = self.entries.len() as u32;
        self.text.extend_from_slice(key);
        self.entries.len() - 1
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn values(&self) -> impl Iterator<Item = V> + '_ {
        self.entries.iter().map(|entry| entry.3)
    }
}

/// Byte equality without a call to libc's byte-at-a-time `memcmp`: words
/// of 8 bytes, the last one overlapping the one before (a key or a short
/// value is one or two words, and a byte loop costs ~16 instructions a
/// byte in wasm).
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let (a, b) = (a.as_ptr(), b.as_ptr());
    // SAFETY: every read is of `n` bytes' range of both slices: offsets up
    // to `n - 8` for words when `n >= 8`, `n - 4` for halves when `n >= 4`.
    unsafe {
        let word = |p: *const u8, i: usize| p.add(i).cast::<u64>().read_unaligned();
        let half = |p: *const u8, i: usize| p.add(i).cast::<u32>().read_unaligned();
        if n >= 8 {
            let mut i = 0;
            while i + 8 < n {
                if word(a, i) != word(b, i) {
                    return false;
                }
                i += 8;
            }
            word(a, n - 8) == word(b, n - 8)
        } else if n >= 4 {
            half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4)
        } else {
            (0..n).all(|i| *a.add(i) == *b.add(i))
        }
    }
}

#[cfg(test)]
mod tests;
