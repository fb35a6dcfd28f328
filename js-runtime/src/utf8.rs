//! JavaScript strings as the UTF-8 bytes Node writes for them.
//!
//! A JavaScript string is UTF-16 and may hold lone surrogates, which UTF-8
//! cannot encode. QuickJS's `JS_ToCStringLen` writes each as the 3-byte
//! sequence of its code point (WTF-8), which is not UTF-8: rquickjs's
//! `String::to_string` then fails, and `console.log("\ud800")` threw. Node's
//! streams and the Encoding standard's `TextEncoder` write U+FFFD for each
//! lone surrogate instead; so does Kiln.

use rquickjs::qjs;
use std::ffi::c_char;

/// The UTF-8 bytes of a JavaScript string, borrowed from QuickJS when they
/// need no repair (no copy for ASCII strings), released on drop.
pub(crate) struct JsUtf8 {
    ctx: *mut qjs::JSContext,
    ptr: *const c_char,
    len: usize,
    /// Whether `ptr` came from `JS_ToCStringLen` (and is freed on drop),
    /// or points into the string itself (an 8-bit ASCII string).
    from_quickjs: bool,
    /// The text when it had to be made: converted in place from the
    /// string's characters, or repaired (lone surrogates replaced).
    repaired: Option<Vec<u8>>,
}

impl JsUtf8 {
    /// `None` if `value` is not a string or QuickJS fails (out of memory,
    /// with an exception pending).
    ///
    /// # Safety
    ///
    /// `ctx` is a live context and `value` a live value of it, alive while
    /// the result is.
    pub(crate) unsafe fn new(ctx: *mut qjs::JSContext, value: qjs::JSValue) -> Option<Self> {
        // SAFETY: per this function's contract.
        if !unsafe { qjs::JS_IsString(value) } {
            return None;
        }
        // Read in place where QuickJS's layout is known: an ASCII string
        // as it is, any other converted in one pass (`JS_ToCStringLen`
        // takes ~30 instructions a character, and its result would still
        // need its lone surrogates replaced).
        // SAFETY: per this function's contract.
        if unsafe { crate::internals::available(ctx) } {
            match unsafe { crate::internals::chars(value) } {
                Some(crate::internals::Chars::Latin1(bytes)) if ascii_prefix(bytes) == bytes.len() => {
                    return Some(JsUtf8 { ctx, ptr: bytes.as_ptr().cast(), len: bytes.len(), from_quickjs: false, repaired: None });
                }
                Some(chars) => {
                    let mut out = Vec::new();
                    match chars {
                        crate::internals::Chars::Latin1(bytes) => crate::internals::latin1_to_utf8(bytes, &mut out),
                        crate::internals::Chars::Utf16(units) => crate::internals::utf16_to_utf8(units, &mut out, true),
                    }
                    return Some(JsUtf8 { ctx, ptr: std::ptr::null(), len: 0, from_quickjs: false, repaired: Some(out) });
                }
                None => {}
            }
        }
        let mut len: usize = 0;
        // SAFETY: per this function's contract.
        let ptr = unsafe { qjs::JS_ToCStringLen(ctx, &mut len, value) };
        if ptr.is_null() {
            return None;
        }
        let mut text = JsUtf8 { ctx, ptr, len, from_quickjs: true, repaired: None };
        text.repaired = replace_lone_surrogates(text.raw());
        Some(text)
    }

    /// The text as UTF-8.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.repaired.as_deref().unwrap_or_else(|| self.raw())
    }

    fn raw(&self) -> &[u8] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY: `len` bytes at `ptr`, alive until freed (or while the
        // string is).
        unsafe { std::slice::from_raw_parts(self.ptr.cast(), self.len) }
    }

    /// The text, owned.
    fn into_bytes(mut self) -> Vec<u8> {
        match self.repaired.take() {
            Some(bytes) => bytes,
            None => self.raw().to_vec(),
        }
    }
}

impl Drop for JsUtf8 {
    fn drop(&mut self) {
        if self.from_quickjs {
            // SAFETY: `ptr` came from JS_ToCStringLen on this context.
            unsafe { qjs::JS_FreeCString(self.ctx, self.ptr) };
        }
    }
}

/// The UTF-8 bytes of `text`, lone surrogates written as U+FFFD.
///
/// # Errors
///
/// [`rquickjs::Error::Exception`] if QuickJS fails (out of memory).
pub fn string_bytes(text: &rquickjs::String<'_>) -> rquickjs::Result<Vec<u8>> {
    let ctx = text.ctx().as_raw().as_ptr();
    // SAFETY: `text` is a live string of its context.
    unsafe { JsUtf8::new(ctx, text.as_raw()) }.map(JsUtf8::into_bytes).ok_or(rquickjs::Error::Exception)
}

/// A JavaScript string holding `text`: ASCII and Latin-1 texts become 8-bit
/// strings (QuickJS's own conversion), any other is decoded straight into
/// UTF-16 in one pass.
/// (`JS_NewStringLen` would scan the text twice and decode it with checks
/// for errors that valid UTF-8 cannot have.)
///
/// # Errors
///
/// [`rquickjs::Error::Exception`] if QuickJS fails (out of memory).
pub fn new_string<'js>(ctx: &rquickjs::Ctx<'js>, text: &str) -> rquickjs::Result<rquickjs::String<'js>> {
    // SAFETY: a live context.
    let value = unsafe { new_string_raw(ctx.as_raw().as_ptr(), text) };
    // SAFETY: inspecting the tag; then a new value we own.
    if unsafe { qjs::JS_IsException(value) } {
        return Err(rquickjs::Error::Exception);
    }
    unsafe { rquickjs::Value::from_raw(ctx.clone(), value) }.into_string().ok_or(rquickjs::Error::Exception)
}

/// [`new_string`] on a raw context: the new string, or `JS_EXCEPTION`.
///
/// # Safety
///
/// `ctx` is a live context.
pub(crate) unsafe fn new_string_raw(ctx: *mut qjs::JSContext, text: &str) -> qjs::JSValue {
    let bytes = text.as_bytes();
    let ascii = ascii_prefix(bytes);
    // SAFETY: per this function's contract; the buffers hold what we pass.
    unsafe {
        // Latin-1 text (no lead byte of a code point above U+00FF) makes an
        // 8-bit string, as QuickJS makes it: half the memory, and cheaper
        // to turn back into UTF-8.
        if ascii == bytes.len() || !bytes[ascii..].iter().any(|&b| b >= 0xC4) {
            qjs::JS_NewStringLen(ctx, bytes.as_ptr().cast(), bytes.len() as _)
        } else {
            let units = utf16(bytes, ascii);
            qjs::JS_NewStringUTF16(ctx, units.as_ptr(), units.len() as _)
        }
    }
}

/// `bytes` as text, invalid sequences replaced by U+FFFD as the Encoding
/// standard does. Validates first: `String::from_utf8_lossy` walks its
/// input in chunks byte by byte (~25 instructions per byte), `from_utf8`
/// word by word.
pub fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// The length of the ASCII prefix of `bytes`, eight bytes at a time.
pub(crate) fn ascii_prefix(bytes: &[u8]) -> usize {
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if u64::from_ne_bytes(word) & 0x8080_8080_8080_8080 != 0 {
            break;
        }
        i += 8;
    }
    while bytes.get(i).is_some_and(u8::is_ascii) {
        i += 1;
    }
    i
}

/// The UTF-16 code units of `text` (valid UTF-8), whose first `ascii` bytes
/// are ASCII. ASCII runs are widened eight bytes at a time.
fn utf16(text: &[u8], ascii: usize) -> Vec<u16> {
    let mut out: Vec<u16> = Vec::with_capacity(text.len());
    let dst = out.as_mut_ptr();
    let continuation = |b: u8| u32::from(b & 0x3F);
    let mut i = 0;
    let mut n = 0;
    // SAFETY: every code point takes at least as many bytes of UTF-8 as
    // units of UTF-16 (1:1, 2:1, 3:1, 4:2), so `n <= i` and each write is
    // within the capacity; the first `n` units are written before `set_len`.
    // `text` is valid UTF-8, so a lead byte's continuation bytes exist.
    unsafe {
        while i < ascii {
            *dst.add(n) = u16::from(*text.get_unchecked(i));
            i += 1;
            n += 1;
        }
        while i < text.len() {
            if let Some(chunk) = text.get(i..i + 8) {
                let word = u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
                if word & 0x8080_8080_8080_8080 == 0 {
                    for (k, &b) in chunk.iter().enumerate() {
                        *dst.add(n + k) = u16::from(b);
                    }
                    i += 8;
                    n += 8;
                    continue;
                }
            }
            let b = *text.get_unchecked(i);
            match b {
                0..0x80 => {
                    *dst.add(n) = u16::from(b);
                    i += 1;
                    n += 1;
                }
                0xC0..0xE0 => {
                    *dst.add(n) = ((u32::from(b & 0x1F) << 6) | continuation(*text.get_unchecked(i + 1))) as u16;
                    i += 2;
                    n += 1;
                }
                0xE0..0xF0 => {
                    let c = (u32::from(b & 0x0F) << 12) | (continuation(*text.get_unchecked(i + 1)) << 6) | continuation(*text.get_unchecked(i + 2));
                    *dst.add(n) = c as u16;
                    i += 3;
                    n += 1;
                }
                _ => {
                    let c = (u32::from(b & 0x07) << 18)
                        | (continuation(*text.get_unchecked(i + 1)) << 12)
                        | (continuation(*text.get_unchecked(i + 2)) << 6)
                        | continuation(*text.get_unchecked(i + 3));
                    let c = c - 0x10000;
                    *dst.add(n) = 0xD800 | (c >> 10) as u16;
                    *dst.add(n + 1) = 0xDC00 | (c & 0x3FF) as u16;
                    i += 4;
                    n += 2;
                }
            }
        }
        out.set_len(n);
    }
    out
}

/// `bytes` (UTF-8 except for WTF-8 surrogates) with every encoded surrogate
/// replaced by U+FFFD; `None` when there is none. QuickJS joins surrogate
/// pairs into 4-byte sequences, so each 3-byte surrogate here is a lone one.
fn replace_lone_surrogates(bytes: &[u8]) -> Option<Vec<u8>> {
    let is_surrogate_at = |i: usize| bytes[i] == 0xED && bytes.get(i + 1).is_some_and(|b| (0xA0..=0xBF).contains(b));
    // Searching for the lead byte first: most texts have none at all.
    let mut from = 0;
    let first = loop {
        let at = from + bytes[from..].iter().position(|&b| b == 0xED)?;
        if is_surrogate_at(at) {
            break at;
        }
        from = at + 1;
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    while i < bytes.len() {
        if is_surrogate_at(i) {
            out.extend_from_slice("\u{FFFD}".as_bytes());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::replace_lone_surrogates;

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        // U+D800 and U+DC00 alone, as QuickJS encodes them.
        assert_eq!(replace_lone_surrogates(b"a\xED\xA0\x80b\xED\xB0\x80").unwrap(), "a\u{FFFD}b\u{FFFD}".as_bytes());
        // Valid UTF-8, including U+D7FF (ED 9F BF) and a 4-byte emoji, is left alone.
        assert_eq!(replace_lone_surrogates("x\u{D7FF}😀".as_bytes()), None);
    }

    #[test]
    fn text_decodes_to_the_same_string_as_quickjs_makes() {
        let rt = rquickjs::Runtime::new().unwrap();
        let ctx = rquickjs::Context::full(&rt).unwrap();
        ctx.with(|ctx| {
            let samples = ["", "plain ascii, longer than eight bytes", "é", "aé", "0123456789é€😀𝄞 ß", "\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}", &"ab€".repeat(50)];
            for sample in samples {
                let fast = super::new_string(&ctx, sample).unwrap();
                let slow = rquickjs::String::from_str(ctx.clone(), sample).unwrap();
                let same: bool = ctx.eval::<rquickjs::Function, _>("(a, b) => a === b && a.length === b.length").unwrap().call((fast, slow)).unwrap();
                assert!(same, "{sample:?}");
            }
        });
    }
}
