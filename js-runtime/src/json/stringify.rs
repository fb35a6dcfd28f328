//! QuickJS values to JSON text (UTF-8), directly.
//!
//! Serves what documents are made of — plain objects (prototype
//! `Object.prototype` or `null`), arrays without holes, strings, numbers,
//! booleans, `null` — reading only own data properties, so it never runs
//! JavaScript. It writes exactly what QuickJS's `JSON.stringify` writes:
//! keys in `Object.keys` order, numbers through QuickJS's own `js_dtoa`,
//! strings escaped as `JS_ToQuotedString` does (lone surrogates as
//! `\udxxx`), `space` as QuickJS clamps it. Everything else —
//! a `toJSON` anywhere it would be looked up, a getter, a Proxy, a boxed
//! primitive, a Date, a class instance, a function, a BigInt, a cycle, a
//! replacer, an object `space`, nesting deeper than [`MAX_DEPTH`] — is
//! [`Stop::Fallback`].

use super::{FxBuild, Stop};
use rquickjs::qjs;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void};
use std::ops::Range;

/// Deeper values go to QuickJS (which checks its native stack).
const MAX_DEPTH: usize = 200;

unsafe extern "C" {
    /// QuickJS's number formatting (`dtoa.c`, linked into every engine),
    /// which `Number.prototype.toString` and `JSON.stringify` use.
    fn js_dtoa(buf: *mut c_char, d: f64, radix: c_int, n_digits: c_int, flags: c_int, tmp_mem: *mut DtoaTempMem) -> c_int;
}

/// `JSDTOATempMem` of `dtoa.h`.
#[repr(C)]
struct DtoaTempMem {
    mem: [u64; 37],
}

/// `JS_DTOA_FORMAT_FREE`: the shortest text that reads back the same.
const JS_DTOA_FORMAT_FREE: c_int = 0;

/// Stringifies `value` as `JSON.stringify(value, replacer, space)`; `None`
/// for `undefined`.
///
/// # Safety
///
/// `ctx` is a live context and the values live values of it.
pub(super) unsafe fn fast(
    ctx: *mut qjs::JSContext,
    value: qjs::JSValue,
    replacer: qjs::JSValue,
    space: qjs::JSValue,
) -> Result<Option<Vec<u8>>, Stop> {
    // SAFETY: per this function's contract.
    unsafe {
        // A replacer function or array changes everything; another value
        // is ignored, as QuickJS ignores it.
        if qjs::JS_IsObject(replacer) {
            return Err(Stop::Fallback);
        }
        let gap = gap(ctx, space)?;
        if skipped(value) {
            return Ok(None);
        }
        let mut writer = Writer::new(ctx, gap)?;
        writer.value(value)?;
        Ok(Some(std::mem::take(&mut writer.out)))
    }
}

/// The indentation `space` asks for (QuickJS's rules: a number clamped to
/// 0..=10 spaces, the first 10 characters of a string); `Fallback` for an
/// object (a boxed number or string is converted through its methods) or a
/// string that is not ASCII.
unsafe fn gap(ctx: *mut qjs::JSContext, space: qjs::JSValue) -> Result<Vec<u8>, Stop> {
    // SAFETY: `space` is live.
    unsafe {
        let spaces = |n: f64| if n.is_nan() { 0 } else { n.clamp(0.0, 10.0) as usize };
        match qjs::JS_VALUE_GET_NORM_TAG(space) {
            qjs::JS_TAG_INT => Ok(vec![b' '; spaces(f64::from(qjs::JS_VALUE_GET_INT(space)))]),
            qjs::JS_TAG_FLOAT64 => Ok(vec![b' '; spaces(qjs::JS_VALUE_GET_FLOAT64(space))]),
            qjs::JS_TAG_STRING | qjs::JS_TAG_STRING_ROPE => {
                let text = CString::of(ctx, space)?;
                let bytes = text.bytes();
                if !bytes.is_ascii() {
                    return Err(Stop::Fallback);
                }
                Ok(bytes[..bytes.len().min(10)].to_vec())
            }
            qjs::JS_TAG_OBJECT => Err(Stop::Fallback),
            _ => Ok(Vec::new()),
        }
    }
}

/// Values an object property skips and an array writes as `null`.
unsafe fn skipped(value: qjs::JSValue) -> bool {
    // SAFETY: reading the tag.
    matches!(unsafe { qjs::JS_VALUE_GET_NORM_TAG(value) }, qjs::JS_TAG_UNDEFINED | qjs::JS_TAG_SYMBOL)
}

/// The UTF-8 (WTF-8: lone surrogates as 3-byte sequences) text of a string,
/// from `JS_ToCStringLen` (no copy for an ASCII string).
struct CString {
    ctx: *mut qjs::JSContext,
    ptr: *const c_char,
    len: usize,
}

impl CString {
    /// # Safety
    ///
    /// `value` is a live string of `ctx`.
    unsafe fn of(ctx: *mut qjs::JSContext, value: qjs::JSValue) -> Result<Self, Stop> {
        let mut len = 0;
        // SAFETY: per this function's contract.
        let ptr = unsafe { qjs::JS_ToCStringLen(ctx, &mut len, value) };
        if ptr.is_null() {
            return Err(Stop::Exception);
        }
        Ok(CString { ctx, ptr, len })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: QuickJS returned `len` bytes at `ptr`, alive until freed.
        unsafe { std::slice::from_raw_parts(self.ptr.cast(), self.len) }
    }
}

impl Drop for CString {
    fn drop(&mut self) {
        // SAFETY: from JS_ToCStringLen on this context.
        unsafe { qjs::JS_FreeCString(self.ctx, self.ptr) };
    }
}

/// A property's value read through `JS_GetOwnProperty`, freed on drop.
struct Own {
    ctx: *mut qjs::JSContext,
    desc: qjs::JSPropertyDescriptor,
}

impl Own {
    /// `Fallback` for a missing property (a hole) or an accessor.
    ///
    /// # Safety
    ///
    /// `object` is a live ordinary object or array of `ctx` (so that
    /// reading its own property runs no JavaScript).
    unsafe fn get(ctx: *mut qjs::JSContext, object: qjs::JSValue, atom: qjs::JSAtom) -> Result<Self, Stop> {
        let mut desc = qjs::JSPropertyDescriptor { flags: 0, value: qjs::JS_UNDEFINED, getter: qjs::JS_UNDEFINED, setter: qjs::JS_UNDEFINED };
        // SAFETY: per this function's contract.
        match unsafe { qjs::JS_GetOwnProperty(ctx, &mut desc, object, atom) } {
            found if found < 0 => Err(Stop::Exception),
            0 => Err(Stop::Fallback),
            _ => {
                let own = Own { ctx, desc };
                if own.desc.flags & qjs::JS_PROP_GETSET as c_int != 0 {
                    return Err(Stop::Fallback);
                }
                Ok(own)
            }
        }
    }
}

impl Drop for Own {
    fn drop(&mut self) {
        // SAFETY: JS_GetOwnProperty gave us a reference to each.
        unsafe {
            qjs::JS_FreeValue(self.ctx, self.desc.value);
            qjs::JS_FreeValue(self.ctx, self.desc.getter);
            qjs::JS_FreeValue(self.ctx, self.desc.setter);
        }
    }
}

struct Writer {
    ctx: *mut qjs::JSContext,
    out: Vec<u8>,
    gap: Vec<u8>,
    indent: Vec<u8>,
    /// The objects being written, outermost first (a cycle is a fallback:
    /// QuickJS throws its TypeError).
    path: Vec<*mut c_void>,
    /// Each key's quoted text, by atom, in `key_text`. The atoms stay alive
    /// while their objects do, i.e. for the whole call.
    keys: HashMap<qjs::JSAtom, Range<usize>, FxBuild>,
    key_text: Vec<u8>,
    class_object: qjs::JSClassID,
    class_array: qjs::JSClassID,
    object_prototype: qjs::JSValue,
    array_prototype: qjs::JSValue,
    to_json: qjs::JSAtom,
}

impl Drop for Writer {
    fn drop(&mut self) {
        // SAFETY: references this writer took.
        unsafe {
            qjs::JS_FreeValue(self.ctx, self.object_prototype);
            qjs::JS_FreeValue(self.ctx, self.array_prototype);
            qjs::JS_FreeAtom(self.ctx, self.to_json);
        }
    }
}

impl Writer {
    /// Learns the context's plain prototypes; `Fallback` if a `toJSON` was
    /// added to `Object.prototype` or `Array.prototype` (or the latter's
    /// prototype was changed), where every value would find it.
    unsafe fn new(ctx: *mut qjs::JSContext, gap: Vec<u8>) -> Result<Self, Stop> {
        // SAFETY: `ctx` is live; every reference taken is released by drop.
        unsafe {
            let sample = |value: qjs::JSValue| {
                if qjs::JS_IsException(value) {
                    return Err(Stop::Exception);
                }
                let class = qjs::JS_GetClassID(value);
                let prototype = qjs::JS_GetPrototype(ctx, value);
                qjs::JS_FreeValue(ctx, value);
                Ok((class, prototype))
            };
            let (class_object, object_prototype) = sample(qjs::JS_NewObject(ctx))?;
            let (class_array, array_prototype) = match sample(qjs::JS_NewArray(ctx)) {
                Ok(found) => found,
                Err(stop) => {
                    qjs::JS_FreeValue(ctx, object_prototype);
                    return Err(stop);
                }
            };
            let to_json = qjs::JS_NewAtomLen(ctx, c"toJSON".as_ptr(), 6);
            let writer = Writer {
                ctx,
                out: Vec::new(),
                gap,
                indent: Vec::new(),
                path: Vec::new(),
                keys: HashMap::default(),
                key_text: Vec::new(),
                class_object,
                class_array,
                object_prototype,
                array_prototype,
                to_json,
            };
            if to_json == qjs::JS_ATOM_NULL || !qjs::JS_IsObject(object_prototype) || !qjs::JS_IsObject(array_prototype) {
                return Err(Stop::Exception);
            }
            let array_parent = qjs::JS_GetPrototype(ctx, array_prototype);
            let plain_parent = qjs::JS_VALUE_GET_PTR(array_parent) == qjs::JS_VALUE_GET_PTR(object_prototype);
            qjs::JS_FreeValue(ctx, array_parent);
            if !plain_parent || writer.has_own(object_prototype, to_json)? || writer.has_own(array_prototype, to_json)? {
                return Err(Stop::Fallback);
            }
            Ok(writer)
        }
    }

    unsafe fn has_own(&self, object: qjs::JSValue, atom: qjs::JSAtom) -> Result<bool, Stop> {
        // SAFETY: `object` is an ordinary object or array of `ctx`.
        match unsafe { qjs::JS_GetOwnProperty(self.ctx, std::ptr::null_mut(), object, atom) } {
            found if found < 0 => Err(Stop::Exception),
            found => Ok(found > 0),
        }
    }

    /// Writes a value that is not [`skipped`].
    unsafe fn value(&mut self, value: qjs::JSValue) -> Result<(), Stop> {
        // SAFETY: `value` is live.
        unsafe {
            match qjs::JS_VALUE_GET_NORM_TAG(value) {
                qjs::JS_TAG_INT => {
                    self.integer(qjs::JS_VALUE_GET_INT(value));
                    Ok(())
                }
                qjs::JS_TAG_FLOAT64 => {
                    self.float(qjs::JS_VALUE_GET_FLOAT64(value));
                    Ok(())
                }
                qjs::JS_TAG_BOOL => {
                    self.out.extend_from_slice(if qjs::JS_VALUE_GET_BOOL(value) { b"true" } else { b"false" });
                    Ok(())
                }
                qjs::JS_TAG_NULL => {
                    self.out.extend_from_slice(b"null");
                    Ok(())
                }
                qjs::JS_TAG_STRING | qjs::JS_TAG_STRING_ROPE => {
                    let text = CString::of(self.ctx, value)?;
                    quote(text.bytes(), &mut self.out);
                    Ok(())
                }
                qjs::JS_TAG_OBJECT => self.object(value),
                _ => Err(Stop::Fallback),
            }
        }
    }

    fn integer(&mut self, n: i32) {
        let mut digits = [0u8; 11];
        let mut i = digits.len();
        let mut rest = n.unsigned_abs();
        loop {
            i -= 1;
            digits[i] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        if n < 0 {
            i -= 1;
            digits[i] = b'-';
        }
        self.out.extend_from_slice(&digits[i..]);
    }

    fn float(&mut self, d: f64) {
        if !d.is_finite() {
            self.out.extend_from_slice(b"null");
            return;
        }
        let mut buf = [0u8; 128];
        let mut tmp = DtoaTempMem { mem: [0; 37] };
        // SAFETY: a finite double in radix 10 needs at most ~25 bytes.
        let len = unsafe { js_dtoa(buf.as_mut_ptr().cast(), d, 10, 0, JS_DTOA_FORMAT_FREE, &mut tmp) };
        self.out.extend_from_slice(&buf[..len.clamp(0, 127) as usize]);
    }

    /// An object or array, if it is plain.
    unsafe fn object(&mut self, value: qjs::JSValue) -> Result<(), Stop> {
        // SAFETY: `value` is a live object; a Proxy or exotic object is
        // rejected by class before anything else is read.
        unsafe {
            let class = qjs::JS_GetClassID(value);
            let prototype = qjs::JS_GetPrototype(self.ctx, value);
            let prototype_ptr = if qjs::JS_IsObject(prototype) { qjs::JS_VALUE_GET_PTR(prototype) } else { std::ptr::null_mut() };
            qjs::JS_FreeValue(self.ctx, prototype);
            let is_array = if class == self.class_array && prototype_ptr == qjs::JS_VALUE_GET_PTR(self.array_prototype) {
                true
            } else if class == self.class_object
                && (prototype_ptr.is_null() || prototype_ptr == qjs::JS_VALUE_GET_PTR(self.object_prototype))
            {
                false
            } else {
                return Err(Stop::Fallback);
            };
            let id = qjs::JS_VALUE_GET_PTR(value);
            if self.path.len() >= MAX_DEPTH || self.path.contains(&id) {
                return Err(Stop::Fallback);
            }
            self.path.push(id);
            let outer = self.indent.len();
            self.indent.extend_from_slice(&self.gap);
            if is_array { self.array_body(value, outer)? } else { self.object_body(value, outer)? }
            self.indent.truncate(outer);
            self.path.pop();
            Ok(())
        }
    }

    /// A line break and the current indentation, when indenting.
    fn new_line(&mut self, indent: usize) {
        if !self.gap.is_empty() {
            self.out.push(b'\n');
            self.out.extend_from_slice(&self.indent[..indent]);
        }
    }

    unsafe fn array_body(&mut self, array: qjs::JSValue, outer: usize) -> Result<(), Stop> {
        // SAFETY: `array` is a live plain array.
        unsafe {
            if self.has_own(array, self.to_json)? {
                return Err(Stop::Fallback);
            }
            let mut len: i64 = 0;
            if qjs::JS_GetLength(self.ctx, array, &mut len) < 0 {
                return Err(Stop::Exception);
            }
            let len = u32::try_from(len).map_err(|_| Stop::Fallback)?;
            let inner = self.indent.len();
            self.out.push(b'[');
            for i in 0..len {
                if i > 0 {
                    self.out.push(b',');
                }
                self.new_line(inner);
                let atom = qjs::JS_NewAtomUInt32(self.ctx, i);
                if atom == qjs::JS_ATOM_NULL {
                    return Err(Stop::Exception);
                }
                let element = Own::get(self.ctx, array, atom);
                qjs::JS_FreeAtom(self.ctx, atom);
                let element = element?;
                if skipped(element.desc.value) {
                    self.out.extend_from_slice(b"null");
                } else {
                    self.value(element.desc.value)?;
                }
            }
            if len > 0 {
                self.new_line(outer);
            }
            self.out.push(b']');
            Ok(())
        }
    }

    unsafe fn object_body(&mut self, object: qjs::JSValue, outer: usize) -> Result<(), Stop> {
        // SAFETY: `object` is a live plain object; the key table is freed
        // on every path out.
        unsafe {
            let mut table: *mut qjs::JSPropertyEnum = std::ptr::null_mut();
            let mut count: u32 = 0;
            let flags = (qjs::JS_GPN_STRING_MASK | qjs::JS_GPN_SET_ENUM) as c_int;
            if qjs::JS_GetOwnPropertyNames(self.ctx, &mut table, &mut count, object, flags) < 0 {
                return Err(Stop::Exception);
            }
            let keys = if count == 0 { &[][..] } else { std::slice::from_raw_parts(table, count as usize) };
            let result = self.properties(object, keys, outer);
            qjs::JS_FreePropertyEnum(self.ctx, table, count);
            result
        }
    }

    unsafe fn properties(&mut self, object: qjs::JSValue, keys: &[qjs::JSPropertyEnum], outer: usize) -> Result<(), Stop> {
        // Own `toJSON`, enumerable or not, is what JSON.stringify would call.
        if keys.iter().any(|key| key.atom == self.to_json) {
            return Err(Stop::Fallback);
        }
        let inner = self.indent.len();
        self.out.push(b'{');
        let mut any = false;
        for key in keys.iter().filter(|key| key.is_enumerable) {
            // SAFETY: `object` is a live plain object.
            let property = unsafe { Own::get(self.ctx, object, key.atom)? };
            // SAFETY: the value is live while `property` is.
            if unsafe { skipped(property.desc.value) } {
                continue;
            }
            if any {
                self.out.push(b',');
            }
            any = true;
            self.new_line(inner);
            self.key(key.atom)?;
            self.out.push(b':');
            if !self.gap.is_empty() {
                self.out.push(b' ');
            }
            // SAFETY: as above.
            unsafe { self.value(property.desc.value)? };
        }
        if any {
            self.new_line(outer);
        }
        self.out.push(b'}');
        Ok(())
    }

    /// Writes a key's quoted text, converted once per atom.
    fn key(&mut self, atom: qjs::JSAtom) -> Result<(), Stop> {
        if let Some(range) = self.keys.get(&atom) {
            self.out.extend_from_slice(&self.key_text[range.clone()]);
            return Ok(());
        }
        let mut len: qjs::size_t = 0;
        // SAFETY: `atom` is alive (its object is); the text is freed below.
        let ptr = unsafe { qjs::JS_AtomToCStringLen(self.ctx, &mut len, atom) };
        if ptr.is_null() {
            return Err(Stop::Exception);
        }
        let start = self.key_text.len();
        // SAFETY: QuickJS returned `len` bytes at `ptr`.
        quote(unsafe { std::slice::from_raw_parts(ptr.cast(), len as usize) }, &mut self.key_text);
        // SAFETY: from JS_AtomToCStringLen on this context.
        unsafe { qjs::JS_FreeCString(self.ctx, ptr) };
        self.out.extend_from_slice(&self.key_text[start..]);
        self.keys.insert(atom, start..self.key_text.len());
        Ok(())
    }
}

/// Which bytes [`quote`] must look at: `"`, `\\`, control characters, and
/// 0xED (the lead byte of an encoded surrogate).
static SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[0xED] = true;
    table
};

/// Writes `text` (WTF-8 from QuickJS) as a JSON string literal, escaped as
/// QuickJS's `JS_ToQuotedString` escapes it: `\"`, `\\`, `\b \f \n \r \t`,
/// other control characters and lone surrogates as `\u` and four lowercase
/// hex digits; everything else as is.
pub(super) fn quote(text: &[u8], out: &mut Vec<u8>) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    let mut run = 0;
    let mut i = 0;
    loop {
        while i < text.len() && !SPECIAL[usize::from(text[i])] {
            i += 1;
        }
        let Some(&b) = text.get(i) else { break };
        let (short, unit): (&[u8], u32) = match b {
            b'"' => (b"\\\"", 0),
            b'\\' => (b"\\\\", 0),
            b'\n' => (b"\\n", 0),
            b'\r' => (b"\\r", 0),
            b'\t' => (b"\\t", 0),
            0x08 => (b"\\b", 0),
            0x0C => (b"\\f", 0),
            0xED => match (text.get(i + 1), text.get(i + 2)) {
                // A surrogate, necessarily lone (QuickJS joins pairs).
                (Some(&second), Some(&third)) if second >= 0xA0 => {
                    (b"", 0xD000 | (u32::from(second & 0x3F) << 6) | u32::from(third & 0x3F))
                }
                _ => {
                    i += 1;
                    continue;
                }
            },
            _ => (b"", u32::from(b)),
        };
        out.extend_from_slice(&text[run..i]);
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let escape = [b'\\', b'u', HEX[(unit >> 12) as usize & 0xF], HEX[(unit >> 8) as usize & 0xF], HEX[(unit >> 4) as usize & 0xF], HEX[unit as usize & 0xF]];
            out.extend_from_slice(&escape);
            i += if unit >= 0xD800 { 3 } else { 1 };
        } else {
            out.extend_from_slice(short);
            i += 1;
        }
        run = i;
    }
    out.extend_from_slice(&text[run..]);
    out.push(b'"');
}
