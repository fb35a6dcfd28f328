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
use crate::internals::{self, Chars, Object, Shape};
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
    /// QuickJS's layouts are readable ([`internals`]): objects, arrays and
    /// strings are read in place.
    direct: bool,
    /// What each shape met so far asks for, and the last one looked up
    /// (the objects of a document mostly come in runs of one shape). The
    /// shapes stay alive, unchanged, while their objects do: for the call.
    plans: HashMap<*const Shape, Plan, FxBuild>,
    /// A direct-mapped cache in front of `plans`, by shape address.
    recent_plans: Box<[(*const Shape, Plan); RECENT_PLANS]>,
    /// A direct plan's properties: (index in the shape, key text in
    /// `key_text`).
    plan_entries: Vec<(u32, u32, u32)>,
    /// What each atom is as a key.
    atom_kinds: HashMap<qjs::JSAtom, Key, FxBuild>,
    /// The last array shape found to have no own `toJSON`.
    array_shape: *const Shape,
}

/// Slots of `Writer::recent_plans` (a power of two).
const RECENT_PLANS: usize = 64;

/// How an object of a shape is written.
#[derive(Clone, Copy, PartialEq)]
enum Plan {
    /// Its enumerable string-keyed data properties, in shape order:
    /// `plan_entries[start..end]`.
    Direct(u32, u32),
    /// Through `JS_GetOwnPropertyNames` (an integer-like key: those come
    /// first, in numeric order).
    Listed,
}

/// An atom as a property key.
#[derive(Clone, Copy)]
enum Key {
    /// A string key that is not an array index: its quoted text.
    Text(u32, u32),
    /// A symbol (or a private name): never written.
    Symbol,
    /// A key `JS_GetOwnPropertyNames` lists first.
    Index,
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
                out: Vec::with_capacity(4096),
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
                direct: internals::available(ctx),
                plans: HashMap::default(),
                recent_plans: Box::new([(std::ptr::null(), Plan::Listed); RECENT_PLANS]),
                plan_entries: Vec::new(),
                atom_kinds: HashMap::default(),
                array_shape: std::ptr::null(),
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
                    if self.direct
                        && let Some(chars) = internals::chars(value)
                    {
                        match chars {
                            Chars::Latin1(bytes) => quote_latin1(bytes, &mut self.out),
                            Chars::Utf16(units) => quote_utf16(units, &mut self.out),
                        }
                        return Ok(());
                    }
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
            let (class, prototype_ptr) = if self.direct {
                let p = Object::of(value);
                (u32::from((*p).class_id), (*(*p).shape).proto.cast::<c_void>())
            } else {
                let class = qjs::JS_GetClassID(value);
                let prototype = qjs::JS_GetPrototype(self.ctx, value);
                let prototype_ptr = if qjs::JS_IsObject(prototype) { qjs::JS_VALUE_GET_PTR(prototype) } else { std::ptr::null_mut() };
                qjs::JS_FreeValue(self.ctx, prototype);
                (class, prototype_ptr)
            };
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
            // A cycle reaches an object through two references, the one
            // that led to it first and the one now: an object referenced
            // once (any object of a parsed document) is not on the path.
            let shared = !self.direct || internals::ref_count(value) > 1;
            if self.path.len() >= MAX_DEPTH || (shared && self.path.contains(&id)) {
                return Err(Stop::Fallback);
            }
            self.path.push(id);
            let outer = self.indent.len();
            self.indent.extend_from_slice(&self.gap);
            if self.direct {
                if is_array { self.array_direct(value, outer)? } else { self.object_direct(value, outer)? }
            } else if is_array {
                self.array_body(value, outer)?
            } else {
                self.object_body(value, outer)?
            }
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

    /// A plain array read in place: a fast array (no holes, length equal
    /// to its element count) whose shape has no `toJSON`; any other array
    /// through [`Self::array_body`].
    unsafe fn array_direct(&mut self, array: qjs::JSValue, outer: usize) -> Result<(), Stop> {
        // SAFETY: `array` is a live plain array; nothing here runs
        // JavaScript, so its elements stay where they are.
        unsafe {
            let p = Object::of(array);
            let shape = (*p).shape.cast_const();
            if shape != self.array_shape {
                if Shape::properties(shape).iter().any(|prop| prop.atom == self.to_json) {
                    return Err(Stop::Fallback);
                }
                self.array_shape = shape;
            }
            let part = (*p).array();
            let length = (*(*p).prop).value;
            let whole = (*p).fast_array()
                && qjs::JS_VALUE_GET_NORM_TAG(length) == qjs::JS_TAG_INT
                && qjs::JS_VALUE_GET_INT(length) as u32 == part.count;
            if !whole {
                return self.array_body(array, outer);
            }
            let inner = self.indent.len();
            self.out.push(b'[');
            for i in 0..part.count as usize {
                if i > 0 {
                    self.out.push(b',');
                }
                self.new_line(inner);
                let element = *part.values.add(i);
                if skipped(element) {
                    self.out.extend_from_slice(b"null");
                } else {
                    self.value(element)?;
                }
            }
            if part.count > 0 {
                self.new_line(outer);
            }
            self.out.push(b']');
            Ok(())
        }
    }

    /// A plain object read through its shape.
    unsafe fn object_direct(&mut self, object: qjs::JSValue, outer: usize) -> Result<(), Stop> {
        // SAFETY: `object` is a live plain object; nothing here runs
        // JavaScript, so its shape and properties stay as they are.
        unsafe {
            let p = Object::of(object);
            let (start, end) = match self.plan((*p).shape)? {
                Plan::Direct(start, end) => (start as usize, end as usize),
                Plan::Listed => return self.object_body(object, outer),
            };
            let inner = self.indent.len();
            self.out.push(b'{');
            let mut any = false;
            for k in start..end {
                let (index, key_start, key_end) = self.plan_entries[k];
                let value = (*(*p).prop.add(index as usize)).value;
                if skipped(value) {
                    continue;
                }
                if any {
                    self.out.push(b',');
                }
                any = true;
                self.new_line(inner);
                self.out.extend_from_slice(&self.key_text[key_start as usize..key_end as usize]);
                self.out.push(b':');
                if !self.gap.is_empty() {
                    self.out.push(b' ');
                }
                self.value(value)?;
            }
            if any {
                self.new_line(outer);
            }
            self.out.push(b'}');
            Ok(())
        }
    }

    /// How objects of `shape` are written; `Fallback` for an own `toJSON`
    /// or an enumerable accessor.
    unsafe fn plan(&mut self, shape: *const Shape) -> Result<Plan, Stop> {
        // Shapes are allocated at least 8-byte aligned.
        let slot = (shape as usize >> 3) & (RECENT_PLANS - 1);
        if self.recent_plans[slot].0 == shape {
            return Ok(self.recent_plans[slot].1);
        }
        let plan = match self.plans.get(&shape) {
            Some(&plan) => plan,
            None => {
                // SAFETY: a live shape.
                let plan = unsafe { self.new_plan(shape)? };
                self.plans.insert(shape, plan);
                plan
            }
        };
        self.recent_plans[slot] = (shape, plan);
        Ok(plan)
    }

    unsafe fn new_plan(&mut self, shape: *const Shape) -> Result<Plan, Stop> {
        let start = self.plan_entries.len();
        // SAFETY: a live shape, unchanged during the call.
        let props = unsafe { Shape::properties(shape) };
        for (index, prop) in props.iter().enumerate() {
            if prop.atom == qjs::JS_ATOM_NULL {
                continue; // deleted
            }
            if prop.atom == self.to_json {
                return Err(Stop::Fallback);
            }
            let (key_start, key_end) = match self.key_kind(prop.atom)? {
                Key::Symbol => continue,
                Key::Index => {
                    self.plan_entries.truncate(start);
                    return Ok(Plan::Listed);
                }
                Key::Text(key_start, key_end) => (key_start, key_end),
            };
            let flags = prop.flags();
            if flags & qjs::JS_PROP_ENUMERABLE == 0 {
                continue;
            }
            if flags & qjs::JS_PROP_TMASK != qjs::JS_PROP_NORMAL {
                return Err(Stop::Fallback);
            }
            self.plan_entries.push((index as u32, key_start, key_end));
        }
        Ok(Plan::Direct(start as u32, self.plan_entries.len() as u32))
    }

    /// What `atom` is as a key, found once per atom.
    fn key_kind(&mut self, atom: qjs::JSAtom) -> Result<Key, Stop> {
        // Integer atoms (tagged) are array indices.
        if atom & (1 << 31) != 0 {
            return Ok(Key::Index);
        }
        if let Some(&kind) = self.atom_kinds.get(&atom) {
            return Ok(kind);
        }
        // SAFETY: `atom` is alive (its shape is); the value is freed here.
        let kind = unsafe {
            let value = qjs::JS_AtomToValue(self.ctx, atom);
            match qjs::JS_VALUE_GET_NORM_TAG(value) {
                qjs::JS_TAG_EXCEPTION => return Err(Stop::Exception),
                qjs::JS_TAG_SYMBOL => {
                    qjs::JS_FreeValue(self.ctx, value);
                    Key::Symbol
                }
                _ => {
                    qjs::JS_FreeValue(self.ctx, value);
                    let mut len: qjs::size_t = 0;
                    let ptr = qjs::JS_AtomToCStringLen(self.ctx, &mut len, atom);
                    if ptr.is_null() {
                        return Err(Stop::Exception);
                    }
                    let text = std::slice::from_raw_parts(ptr.cast::<u8>(), len as usize);
                    // A canonical index would be a tagged atom unless it
                    // is above 2^31 - 1; anything of digits only is listed
                    // the slow way, which orders it exactly.
                    let kind = if !text.is_empty() && text.iter().all(u8::is_ascii_digit) {
                        Key::Index
                    } else {
                        let start = self.key_text.len();
                        quote(text, &mut self.key_text);
                        Key::Text(start as u32, self.key_text.len() as u32)
                    };
                    qjs::JS_FreeCString(self.ctx, ptr);
                    kind
                }
            }
        };
        self.atom_kinds.insert(atom, kind);
        Ok(kind)
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

/// Whether none of the eight bytes of `word` needs a look: no `"`, `\\`,
/// control character or byte >= 0x80.
#[inline]
pub(super) fn plain_word(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    (word & HIGH) | below_space | zero(word ^ (ONES * b'"' as u64)) | zero(word ^ (ONES * b'\\' as u64)) == 0
}

/// The escape of an ASCII character `quote` escapes, if it is one.
#[inline]
fn push_escaped_ascii(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0C => out.extend_from_slice(b"\\f"),
        0..0x20 => push_unicode_escape(out, u32::from(b)),
        _ => out.push(b),
    }
}

fn push_unicode_escape(out: &mut Vec<u8>, unit: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[b'\\', b'u', HEX[(unit >> 12) as usize & 0xF], HEX[(unit >> 8) as usize & 0xF], HEX[(unit >> 4) as usize & 0xF], HEX[unit as usize & 0xF]]);
}

/// [`quote`] for an 8-bit (Latin-1) string, read in place.
pub(super) fn quote_latin1(text: &[u8], out: &mut Vec<u8>) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    let mut i = 0;
    while i < text.len() {
        let start = i;
        while let Some(chunk) = text.get(i..i + 8) {
            let word = u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
            if !plain_word(word) {
                break;
            }
            i += 8;
        }
        while i < text.len() && !SPECIAL[usize::from(text[i])] && text[i] < 0x80 {
            i += 1;
        }
        out.extend_from_slice(&text[start..i]);
        let Some(&b) = text.get(i) else { break };
        if b >= 0x80 {
            out.extend_from_slice(&[0xC0 | (b >> 6), 0x80 | (b & 0x3F)]);
        } else {
            push_escaped_ascii(out, b);
        }
        i += 1;
    }
    out.push(b'"');
}

/// [`quote`] for a 16-bit string, read in place: well-formed UTF-8, lone
/// surrogates as `\udxxx`.
pub(super) fn quote_utf16(text: &[u16], out: &mut Vec<u8>) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    let mut i = 0;
    while i < text.len() {
        let c = u32::from(text[i]);
        i += 1;
        if c < 0x80 {
            if SPECIAL[c as usize] {
                push_escaped_ascii(out, c as u8);
            } else {
                out.push(c as u8);
            }
        } else if c < 0x800 {
            out.extend_from_slice(&[0xC0 | (c >> 6) as u8, 0x80 | (c & 0x3F) as u8]);
        } else if (0xD800..0xE000).contains(&c) {
            match text.get(i) {
                Some(&low) if c < 0xDC00 && (0xDC00..0xE000).contains(&low) => {
                    let c = 0x10000 + ((c - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    i += 1;
                    out.extend_from_slice(&[0xF0 | (c >> 18) as u8, 0x80 | ((c >> 12) & 0x3F) as u8, 0x80 | ((c >> 6) & 0x3F) as u8, 0x80 | (c & 0x3F) as u8]);
                }
                _ => push_unicode_escape(out, c),
            }
        } else {
            out.extend_from_slice(&[0xE0 | (c >> 12) as u8, 0x80 | ((c >> 6) & 0x3F) as u8, 0x80 | (c & 0x3F) as u8]);
        }
    }
    out.push(b'"');
}
