//! Read access to QuickJS's own object, shape and string layouts, for the
//! JSON and UTF-8 fast paths.
//!
//! The public API reads an object's keys through `JS_GetOwnPropertyNames`
//! (an allocated table, atoms duplicated, ~1,200 instructions an object) and
//! a string's text through `JS_ToCStringLen` (a copy, ~30 a byte). The
//! structures below mirror those of the QuickJS-NG that rquickjs-sys
//! 0.14.0 bundles (`quickjs.c`: `JSObject`, `JSShape`, `JSShapeProperty`,
//! `JSProperty`, `JSString`, `JSMallocBlockHeader`), so these paths read
//! them in place instead.
//!
//! A mirror could be wrong — a different QuickJS, another platform — so
//! nothing trusts it before [`available`] has checked it (once, when the
//! API is installed, so at build time) against values
//! built through the public API (an object with known properties, a fast
//! array, 8- and 16-bit strings). Where the check fails every caller takes
//! its public-API path, which is exact on its own.

use rquickjs::qjs;
use std::ffi::c_void;
use std::ops::Not;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// `struct list_head`.
#[repr(C)]
struct ListHead {
    prev: *mut c_void,
    next: *mut c_void,
}

/// `JSProperty` (a union of a value, a getter/setter pair and others).
#[repr(C)]
pub(crate) union Property {
    pub(crate) value: qjs::JSValue,
    pair: [usize; 2],
}

/// `JSShapeProperty`: `hash_next:26, flags:6` then the atom.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct ShapeProperty {
    bits: u32,
    pub(crate) atom: qjs::JSAtom,
}

impl ShapeProperty {
    /// `JS_PROP_*` flags.
    pub(crate) fn flags(self) -> u32 {
        self.bits >> 26
    }
}

/// `JSShape`, up to its hash table (`prop_hash_mask + 1` words), which the
/// property array follows.
#[repr(C)]
pub(crate) struct Shape {
    header: ListHead,
    pub(crate) is_hashed: u8,
    hash: u32,
    prop_hash_mask: u32,
    pub(crate) prop_size: i32,
    pub(crate) prop_count: i32,
    deleted_prop_count: i32,
    shape_hash_next: *mut Shape,
    pub(crate) proto: *mut Object,
}

impl Shape {
    /// The shape's properties, deleted ones (atom 0) included.
    ///
    /// # Safety
    ///
    /// `shape` is a live shape and stays so while the slice is used.
    pub(crate) unsafe fn properties<'a>(shape: *const Shape) -> &'a [ShapeProperty] {
        // SAFETY: per this function's contract and the layout.
        unsafe {
            let table = shape.cast::<u8>().add(std::mem::size_of::<Shape>()).cast::<u32>();
            let props = table.add((*shape).prop_hash_mask as usize + 1).cast::<ShapeProperty>();
            std::slice::from_raw_parts(props, (*shape).prop_count.max(0) as usize)
        }
    }

    /// The reference count, kept in the allocator's block header just
    /// before the shape.
    unsafe fn ref_count(shape: *mut Shape) -> *mut i32 {
        // SAFETY: the header is 8 bytes before every block, its count at 4.
        unsafe { shape.cast::<u8>().sub(4).cast::<i32>() }
    }
}

/// The reference count of a live object.
///
/// # Safety
///
/// [`available`] said so; `value` is a live object.
pub(crate) unsafe fn ref_count(value: qjs::JSValue) -> i32 {
    // SAFETY: per this function's contract: an object's count is where a
    // shape's is, in the block header.
    unsafe { *Shape::ref_count(qjs::JS_VALUE_GET_PTR(value).cast()) }
}

/// The array part of an object (`JSObject.u.array`).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct ArrayPart {
    size: usize,
    pub(crate) values: *mut qjs::JSValue,
    pub(crate) count: u32,
}

#[repr(C)]
union ObjectPart {
    array: ArrayPart,
    object_data: qjs::JSValue,
    opaque: *mut c_void,
}

/// `JSObject`.
#[repr(C)]
pub(crate) struct Object {
    header: ListHead,
    /// `is_prototype, extensible, free_mark, is_exotic, fast_array, ...`,
    /// from the lowest bit.
    flags: u8,
    flags2: u8,
    pub(crate) class_id: u16,
    pub(crate) shape: *mut Shape,
    pub(crate) prop: *mut Property,
    first_weak_ref: *mut c_void,
    u: ObjectPart,
}

impl Object {
    /// # Safety
    ///
    /// `value` is a live object.
    pub(crate) unsafe fn of(value: qjs::JSValue) -> *mut Object {
        // SAFETY: per this function's contract.
        unsafe { qjs::JS_VALUE_GET_PTR(value).cast() }
    }

    pub(crate) fn fast_array(&self) -> bool {
        self.flags & 0x10 != 0
    }

    /// The elements of a fast array.
    pub(crate) fn array(&self) -> ArrayPart {
        // SAFETY: plain data; meaningful for fast arrays.
        unsafe { self.u.array }
    }
}

/// `JSString`: `len:31, is_wide_char:1`, `hash:28, kind:2, atom_type:2`,
/// `hash_next`, `first_weak_ref`, then the characters (or, for the other
/// kinds, where they are).
#[repr(C)]
struct JsString {
    len_wide: u32,
    hash_kind: u32,
    hash_next: u32,
    first_weak_ref: *mut c_void,
}

/// The size of a string's header: `JsString`, plus a list link when
/// QuickJS is built with its debugging dumps (without `NDEBUG`, as
/// rquickjs-sys builds it unless told to disable assertions). Found by
/// [`check`]; 0 until then.
static STRING_HEADER: AtomicUsize = AtomicUsize::new(0);

/// `JSStringSlice`, after a slice's header.
#[repr(C)]
struct StringSlice {
    parent: *const JsString,
    start: u32,
}

/// A string's characters, in place.
#[derive(Clone, Copy)]
pub(crate) enum Chars<'a> {
    Latin1(&'a [u8]),
    Utf16(&'a [u16]),
}

/// The characters of a string value (`JS_TAG_STRING`; a rope is `None`).
///
/// # Safety
///
/// [`available`] said so; `value` is a live string, alive while the result
/// is used.
pub(crate) unsafe fn chars<'a>(value: qjs::JSValue) -> Option<Chars<'a>> {
    // SAFETY: per this function's contract and the layout.
    unsafe {
        if qjs::JS_VALUE_GET_NORM_TAG(value) != qjs::JS_TAG_STRING {
            return None;
        }
        let p = qjs::JS_VALUE_GET_PTR(value).cast::<JsString>();
        let len = ((*p).len_wide & 0x7FFF_FFFF) as usize;
        let wide = (*p).len_wide >> 31 != 0;
        let header = STRING_HEADER.load(Ordering::Relaxed);
        let after = p.cast::<u8>().add(header);
        let data: *const u8 = match ((*p).hash_kind >> 28) & 3 {
            0 => after,
            1 => {
                let slice = after.cast::<StringSlice>();
                (*slice).parent.cast::<u8>().add(header + (*slice).start as usize)
            }
            2 => *after.cast::<*const u8>(),
            _ => return None,
        };
        Some(if wide {
            Chars::Utf16(std::slice::from_raw_parts(data.cast::<u16>(), len))
        } else {
            Chars::Latin1(std::slice::from_raw_parts(data, len))
        })
    }
}

/// Appends a string's text as UTF-8: lone surrogates as U+FFFD when
/// `lossy`, else as `JS_ToCStringLen` writes them (WTF-8: 3-byte
/// sequences). `false` if the layout is not known or the value is a rope
/// (nothing is written then).
///
/// # Safety
///
/// `ctx` is live; `value` is a live value of it.
pub(crate) unsafe fn append_utf8(ctx: *mut qjs::JSContext, value: qjs::JSValue, out: &mut Vec<u8>, lossy: bool) -> bool {
    // SAFETY: checked by `available`; per this function's contract.
    let Some(chars) = (unsafe { if available(ctx) { chars(value) } else { None } }) else {
        return false;
    };
    match chars {
        Chars::Latin1(bytes) => latin1_to_utf8(bytes, out),
        Chars::Utf16(units) => utf16_to_utf8(units, out, lossy),
    }
    true
}

pub(crate) fn latin1_to_utf8(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() * 2);
    let mut i = 0;
    while i < bytes.len() {
        let ascii = crate::utf8::ascii_prefix(&bytes[i..]);
        out.extend_from_slice(&bytes[i..i + ascii]);
        i += ascii;
        if let Some(&b) = bytes.get(i) {
            out.extend_from_slice(&[0xC0 | (b >> 6), 0x80 | (b & 0x3F)]);
            i += 1;
        }
    }
}

/// UTF-16 to UTF-8, ASCII four units at a time.
pub(crate) fn utf16_to_utf8(units: &[u16], out: &mut Vec<u8>, lossy: bool) {
    out.reserve(units.len() * 3);
    let mut i = 0;
    while i < units.len() {
        while let Some(four) = units.get(i..i + 4) {
            if (four[0] | four[1] | four[2] | four[3]) >= 0x80 {
                break;
            }
            out.extend_from_slice(&[four[0] as u8, four[1] as u8, four[2] as u8, four[3] as u8]);
            i += 4;
        }
        let Some(&unit) = units.get(i) else { break };
        let c = u32::from(unit);
        i += 1;
        if c < 0x80 {
            out.push(c as u8);
        } else if c < 0x800 {
            out.extend_from_slice(&[0xC0 | (c >> 6) as u8, 0x80 | (c & 0x3F) as u8]);
        } else if (0xD800..0xE000).contains(&c) {
            match units.get(i) {
                Some(&low) if c < 0xDC00 && (0xDC00..0xE000).contains(&low) => {
                    let c = 0x10000 + ((c - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    i += 1;
                    out.extend_from_slice(&[0xF0 | (c >> 18) as u8, 0x80 | ((c >> 12) & 0x3F) as u8, 0x80 | ((c >> 6) & 0x3F) as u8, 0x80 | (c & 0x3F) as u8]);
                }
                _ if lossy => out.extend_from_slice("\u{FFFD}".as_bytes()),
                _ => out.extend_from_slice(&[0xE0 | (c >> 12) as u8, 0x80 | ((c >> 6) & 0x3F) as u8, 0x80 | (c & 0x3F) as u8]),
            }
        } else {
            out.extend_from_slice(&[0xE0 | (c >> 12) as u8, 0x80 | ((c >> 6) & 0x3F) as u8, 0x80 | (c & 0x3F) as u8]);
        }
    }
}

/// Gives `object` (a new, empty plain object) the shape `shape` and
/// `values` as its properties, in order: what defining each property in
/// turn would have made, without the lookups. `Ok(false)` (nothing
/// changed, the values still the caller's) when the object's current
/// shape has no other holder, whose release would have to free it; `Err`
/// when out of memory (nothing changed either).
///
/// # Safety
///
/// [`available`] said so; `object` is a new, empty object of class Object
/// that no one else has seen; `shape` is a hashed shape kept alive by
/// another object, with the same prototype, exactly `values.len()`
/// properties, all plain data properties; on `Ok(true)` the values are
/// taken.
pub(crate) unsafe fn adopt_shape(ctx: *mut qjs::JSContext, object: qjs::JSValue, shape: *mut Shape, values: &[qjs::JSValue]) -> Result<bool, ()> {
    // SAFETY: per this function's contract and the layout.
    unsafe {
        let p = Object::of(object);
        let old = (*p).shape;
        if *Shape::ref_count(old) < 2 {
            return Ok(false);
        }
        let size = (*shape).prop_size.max(1) as usize;
        if size > (*old).prop_size.max(0) as usize {
            let prop = qjs::js_realloc(ctx, (*p).prop.cast(), (std::mem::size_of::<Property>() * size) as _);
            if prop.is_null() {
                return Err(());
            }
            (*p).prop = prop.cast();
        }
        *Shape::ref_count(shape) += 1;
        *Shape::ref_count(old) -= 1;
        (*p).shape = shape;
        for (i, &value) in values.iter().enumerate() {
            (*p).prop.add(i).write(Property { value });
        }
        Ok(true)
    }
}

/// What new objects and strings are made of, learned from an object made
/// by `JS_NewObject` (see [`Factory::new`]).
pub(crate) struct Factory {
    /// The list of GC objects every object joins (`JSRuntime.gc_obj_list`).
    gc_list: *mut ListHead,
    /// A new plain object's flags and class.
    flags: u8,
    flags2: u8,
    class_id: u16,
    /// Its allocator header's GC type byte.
    gc_type: u8,
    /// Whether strings can be made in place (their header has no
    /// debugging list link to join).
    strings: bool,
}

/// The allocator header byte holding `gc_obj_type:7, mark:1`, and the
/// reference count after it.
unsafe fn header_byte(p: *mut u8) -> *mut u8 {
    // SAFETY: the 8-byte header before every block: index (2 bytes),
    // size class, GC type and mark, then the count.
    unsafe { p.sub(5) }
}

impl Factory {
    /// Learns from `anchor`, a plain object just made by `JS_NewObject`
    /// (so the last GC object of the list), kept alive by the caller while
    /// the factory is used. `None` if it does not look as expected.
    ///
    /// # Safety
    ///
    /// [`available`] said so; `anchor` is as described.
    pub(crate) unsafe fn new(anchor: qjs::JSValue) -> Option<Factory> {
        // SAFETY: per this function's contract and the layout.
        unsafe {
            let p = Object::of(anchor);
            let link = std::ptr::addr_of_mut!((*p).header);
            let head = (*link).next.cast::<ListHead>();
            if head.is_null() || (*head).prev != link.cast() || (*p).first_weak_ref.is_null().not() {
                return None;
            }
            let gc_type = *header_byte(p.cast()) & 0x7F;
            Some(Factory {
                gc_list: head,
                flags: (*p).flags,
                flags2: (*p).flags2,
                class_id: (*p).class_id,
                gc_type,
                strings: STRING_HEADER.load(Ordering::Relaxed) == std::mem::size_of::<JsString>(),
            })
        }
    }

    /// A new plain object of shape `shape` with `values` as its
    /// properties (taken on success), as `JS_NewObjectFromShape` makes it;
    /// `None` when out of memory (nothing taken then).
    ///
    /// # Safety
    ///
    /// `shape` is a hashed shape kept alive by another object, with the
    /// prototype of the anchor, exactly `values.len()` properties, all
    /// plain data properties.
    pub(crate) unsafe fn object(&self, ctx: *mut qjs::JSContext, shape: *mut Shape, values: &[qjs::JSValue]) -> Option<qjs::JSValue> {
        // SAFETY: per this function's contract and the layout.
        unsafe {
            let p = qjs::js_malloc(ctx, std::mem::size_of::<Object>() as _).cast::<Object>();
            if p.is_null() {
                return None;
            }
            let size = (*shape).prop_size.max(1) as usize;
            let prop = qjs::js_malloc(ctx, (std::mem::size_of::<Property>() * size) as _).cast::<Property>();
            if prop.is_null() {
                qjs::js_free(ctx, p.cast());
                return None;
            }
            for (i, &value) in values.iter().enumerate() {
                prop.add(i).write(Property { value });
            }
            *Shape::ref_count(shape) += 1;
            let tail = (*self.gc_list).prev.cast::<ListHead>();
            p.write(Object {
                header: ListHead { prev: tail.cast(), next: self.gc_list.cast() },
                flags: self.flags,
                flags2: self.flags2,
                class_id: self.class_id,
                shape,
                prop,
                first_weak_ref: std::ptr::null_mut(),
                u: ObjectPart { opaque: std::ptr::null_mut() },
            });
            (*tail).next = p.cast();
            (*self.gc_list).prev = p.cast();
            *header_byte(p.cast()) = self.gc_type;
            *Shape::ref_count(p.cast()) = 1;
            Some(qjs::JS_MKPTR(qjs::JS_TAG_OBJECT, p.cast()))
        }
    }

    /// A new string of ASCII `text`, as `JS_NewStringLen` makes it (8-bit,
    /// zero-terminated); `None` if strings cannot be made in place, or out
    /// of memory (with the exception pending).
    ///
    /// # Safety
    ///
    /// `ctx` is live; `text` is ASCII, at most 2^30 bytes.
    pub(crate) unsafe fn ascii_string(&self, ctx: *mut qjs::JSContext, text: &[u8]) -> Option<qjs::JSValue> {
        if !self.strings || text.is_empty() {
            return None;
        }
        // SAFETY: per this function's contract and the layout.
        unsafe {
            let header = std::mem::size_of::<JsString>();
            let p = qjs::js_malloc(ctx, (header + text.len() + 1) as _).cast::<u8>();
            if p.is_null() {
                return None;
            }
            p.cast::<JsString>().write(JsString { len_wide: text.len() as u32, hash_kind: 0, hash_next: 0, first_weak_ref: std::ptr::null_mut() });
            std::ptr::copy_nonoverlapping(text.as_ptr(), p.add(header), text.len());
            *p.add(header + text.len()) = 0;
            *Shape::ref_count(p.cast()) = 1;
            Some(qjs::JS_MKPTR(qjs::JS_TAG_STRING, p.cast()))
        }
    }

    /// Whether strings can be made in place ([`Factory::ascii_string`],
    /// [`Factory::utf16_string`]).
    pub(crate) fn makes_strings(&self) -> bool {
        self.strings
    }

    /// A new string of UTF-16 `units` as `JS_NewStringLen` makes it from
    /// the UTF-8 they were decoded from: 8-bit and zero-terminated when no
    /// unit is above 0xFF (`wide` false), else 16-bit; `None` if strings
    /// cannot be made in place, `units` is empty or too long for a string,
    /// or out of memory (with the exception pending).
    ///
    /// # Safety
    ///
    /// `ctx` is live; `wide` is whether some unit is above 0xFF.
    pub(crate) unsafe fn utf16_string(&self, ctx: *mut qjs::JSContext, units: &[u16], wide: bool) -> Option<qjs::JSValue> {
        let len = units.len();
        // JS_STRING_LEN_MAX: longer ones are QuickJS's to refuse.
        if !self.strings || len == 0 || len >= 1 << 30 {
            return None;
        }
        // SAFETY: per this function's contract and the layout; the block
        // holds the header and `len` characters (and the 8-bit string's
        // terminator), as `js_alloc_string` sizes it.
        unsafe {
            let header = std::mem::size_of::<JsString>();
            let size = if wide { header + 2 * len } else { header + len + 1 };
            let p = qjs::js_malloc(ctx, size as _).cast::<u8>();
            if p.is_null() {
                return None;
            }
            p.cast::<JsString>().write(JsString { len_wide: len as u32 | u32::from(wide) << 31, hash_kind: 0, hash_next: 0, first_weak_ref: std::ptr::null_mut() });
            let chars = p.add(header);
            if wide {
                std::ptr::copy_nonoverlapping(units.as_ptr().cast::<u8>(), chars, 2 * len);
            } else {
                for (i, &unit) in units.iter().enumerate() {
                    *chars.add(i) = unit as u8;
                }
                *chars.add(len) = 0;
            }
            *Shape::ref_count(p.cast()) = 1;
            Some(qjs::JS_MKPTR(qjs::JS_TAG_STRING, p.cast()))
        }
    }
}

/// 0: not checked yet, 1: the layout matches, 2: it does not.
static STATE: AtomicU8 = AtomicU8::new(0);

/// Whether the mirrored layouts match this QuickJS (checked once).
///
/// # Safety
///
/// `ctx` is a live context.
pub(crate) unsafe fn available(ctx: *mut qjs::JSContext) -> bool {
    match STATE.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            // SAFETY: per this function's contract.
            let ok = unsafe { check(ctx) };
            STATE.store(if ok { 1 } else { 2 }, Ordering::Relaxed);
            ok
        }
    }
}

/// Builds values through the public API and reads them back through the
/// mirror.
unsafe fn check(ctx: *mut qjs::JSContext) -> bool {
    // SAFETY: `ctx` is live; every value made here is freed here.
    unsafe {
        let object = qjs::JS_NewObject(ctx);
        let array_items = [qjs::JS_MKVAL(qjs::JS_TAG_INT, 11), qjs::JS_MKVAL(qjs::JS_TAG_INT, 12), qjs::JS_MKVAL(qjs::JS_TAG_INT, 13)];
        let array = qjs::JS_NewArrayFrom(ctx, 3, array_items.as_ptr());
        // Longer than either header candidate, so that probing reads
        // inside the string.
        let narrow_text = c"ab\xc3\xa9-------------------------------";
        let wide_text = c"a\xe2\x9c\x93-------------------------------";
        let narrow = qjs::JS_NewStringLen(ctx, narrow_text.as_ptr(), narrow_text.count_bytes() as _);
        let wide = qjs::JS_NewStringLen(ctx, wide_text.as_ptr(), wide_text.count_bytes() as _);
        let empty = qjs::JS_NewObject(ctx);
        let key_a = qjs::JS_NewAtomLen(ctx, c"a".as_ptr(), 1);
        let key_b = qjs::JS_NewAtomLen(ctx, c"b".as_ptr(), 1);
        let values = [object, array, narrow, wide, empty];
        let ok = !values.iter().any(|&v| qjs::JS_IsException(v))
            && key_a != qjs::JS_ATOM_NULL
            && key_b != qjs::JS_ATOM_NULL
            && qjs::JS_DefinePropertyValue(ctx, object, key_a, qjs::JS_MKVAL(qjs::JS_TAG_INT, 7), qjs::JS_PROP_C_W_E as i32) >= 0
            && qjs::JS_DefinePropertyValue(ctx, object, key_b, qjs::JS_MKVAL(qjs::JS_TAG_INT, 8), qjs::JS_PROP_ENUMERABLE as i32) >= 0
            && {
                let o = Object::of(object);
                let shape = (*o).shape;
                let proto = qjs::JS_GetPrototype(ctx, object);
                let props = Shape::properties(shape);
                let same_proto = qjs::JS_VALUE_GET_PTR(proto) == (*shape).proto.cast();
                qjs::JS_FreeValue(ctx, proto);
                u32::from((*o).class_id) == qjs::JS_GetClassID(object)
                    && same_proto
                    && !(*o).fast_array()
                    && props.len() == 2
                    && (*shape).prop_size >= 2
                    && *Shape::ref_count(shape) >= 1
                    && props[0].atom == key_a
                    && props[0].flags() == qjs::JS_PROP_C_W_E
                    && props[1].atom == key_b
                    && props[1].flags() == qjs::JS_PROP_ENUMERABLE
                    && qjs::JS_VALUE_GET_INT((*(*o).prop).value) == 7
                    && qjs::JS_VALUE_GET_NORM_TAG((*(*o).prop).value) == qjs::JS_TAG_INT
                    && qjs::JS_VALUE_GET_INT((*(*o).prop.add(1)).value) == 8
            }
            && {
                let a = Object::of(array);
                let part = (*a).array();
                u32::from((*a).class_id) == qjs::JS_GetClassID(array)
                    && (*a).fast_array()
                    && part.count == 3
                    && qjs::JS_VALUE_GET_INT(*part.values.add(2)) == 13
                    && (*Object::of(empty)).prop_count_is_zero()
            }
            && {
                // The reference count is where the mirror says: a second
                // empty object shares the first one's shape.
                let shape = (*Object::of(empty)).shape;
                let before = *Shape::ref_count(shape);
                let second = qjs::JS_NewObject(ctx);
                let shared = !qjs::JS_IsException(second) && (*Object::of(second)).shape == shape && *Shape::ref_count(shape) == before + 1;
                qjs::JS_FreeValue(ctx, second);
                shared && *Shape::ref_count(shape) == before && (*shape).is_hashed == 1
            }
            && [std::mem::size_of::<JsString>(), std::mem::size_of::<JsString>() + std::mem::size_of::<ListHead>()].into_iter().any(|header| {
                let n = qjs::JS_VALUE_GET_PTR(narrow).cast::<u8>();
                let w = qjs::JS_VALUE_GET_PTR(wide).cast::<u8>();
                let found = *n.cast::<u32>() == 34
                    && *w.cast::<u32>() == (1 << 31) | 33
                    && std::slice::from_raw_parts(n.add(header), 3) == b"ab\xe9"
                    && std::slice::from_raw_parts(w.add(header).cast::<u16>(), 2) == [0x61, 0x2713];
                if found {
                    STRING_HEADER.store(header, Ordering::Relaxed);
                }
                found
            })
            && matches!(chars(narrow), Some(Chars::Latin1(text)) if text.len() == 34)
            && matches!(chars(wide), Some(Chars::Utf16(text)) if text.len() == 33);
        let ok = ok && {
            // Objects and strings made in place read back through the
            // public API as those QuickJS makes.
            let anchor = qjs::JS_NewObject(ctx);
            let made = Factory::new(anchor).and_then(|factory| {
                let shape = (*Object::of(object)).shape;
                let copy = factory.object(ctx, shape, &[qjs::JS_MKVAL(qjs::JS_TAG_INT, 5), qjs::JS_MKVAL(qjs::JS_TAG_INT, 6)])?;
                let text = factory.ascii_string(ctx, b"kiln").or_else(|| factory.strings.not().then(|| qjs::JS_NewStringLen(ctx, c"kiln".as_ptr(), 4)))?;
                Some((copy, text))
            });
            let made = match made {
                Some((copy, text)) => {
                    let b = qjs::JS_GetProperty(ctx, copy, key_b);
                    let same_shape = (*Object::of(copy)).shape == (*Object::of(object)).shape;
                    let mut len = 0;
                    let c = qjs::JS_ToCStringLen(ctx, &mut len, text);
                    let text_ok = !c.is_null() && std::slice::from_raw_parts(c.cast::<u8>(), len) == b"kiln";
                    if !c.is_null() {
                        qjs::JS_FreeCString(ctx, c);
                    }
                    let ok = same_shape && qjs::JS_VALUE_GET_NORM_TAG(b) == qjs::JS_TAG_INT && qjs::JS_VALUE_GET_INT(b) == 6 && text_ok && qjs::JS_IsExtensible(ctx, copy) == 1;
                    qjs::JS_FreeValue(ctx, b);
                    qjs::JS_FreeValue(ctx, copy);
                    qjs::JS_FreeValue(ctx, text);
                    ok
                }
                None => false,
            };
            qjs::JS_FreeValue(ctx, anchor);
            made
        };
        for value in values {
            qjs::JS_FreeValue(ctx, value);
        }
        qjs::JS_FreeAtom(ctx, key_a);
        qjs::JS_FreeAtom(ctx, key_b);
        ok
    }
}

impl Object {
    fn prop_count_is_zero(&self) -> bool {
        // SAFETY: a live object's shape.
        unsafe { (*self.shape).prop_count == 0 }
    }
}

#[cfg(test)]
mod tests {
    /// The mirror matches the QuickJS this crate is built with: without it
    /// every fast path here would silently take its slow road.
    #[test]
    fn the_layouts_match_the_bundled_quickjs() {
        let rt = rquickjs::Runtime::new().unwrap();
        let ctx = rquickjs::Context::full(&rt).unwrap();
        // SAFETY: a live context.
        ctx.with(|ctx| assert!(unsafe { super::check(ctx.as_raw().as_ptr()) }));
    }
}
