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
    /// The text with its lone surrogates replaced, when it had any.
    repaired: Option<Vec<u8>>,
}

impl JsUtf8 {
    /// `None` if `value` is not a string or QuickJS fails (out of memory,
    /// with an exception pending).
    ///
    /// # Safety
    ///
    /// `ctx` is a live context and `value` a live value of it.
    pub(crate) unsafe fn new(ctx: *mut qjs::JSContext, value: qjs::JSValue) -> Option<Self> {
        // SAFETY: per this function's contract.
        if !unsafe { qjs::JS_IsString(value) } {
            return None;
        }
        let mut len: usize = 0;
        // SAFETY: per this function's contract.
        let ptr = unsafe { qjs::JS_ToCStringLen(ctx, &mut len, value) };
        if ptr.is_null() {
            return None;
        }
        let mut text = JsUtf8 { ctx, ptr, len, repaired: None };
        text.repaired = replace_lone_surrogates(text.raw());
        Some(text)
    }

    /// The text as UTF-8.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.repaired.as_deref().unwrap_or_else(|| self.raw())
    }

    fn raw(&self) -> &[u8] {
        // SAFETY: QuickJS returned `len` bytes at `ptr`, alive until freed.
        unsafe { std::slice::from_raw_parts(self.ptr.cast(), self.len) }
    }
}

impl Drop for JsUtf8 {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from JS_ToCStringLen on this context.
        unsafe { qjs::JS_FreeCString(self.ctx, self.ptr) };
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
    unsafe { JsUtf8::new(ctx, text.as_raw()) }.map(|t| t.bytes().to_vec()).ok_or(rquickjs::Error::Exception)
}

/// `bytes` (UTF-8 except for WTF-8 surrogates) with every encoded surrogate
/// replaced by U+FFFD; `None` when there is none. QuickJS joins surrogate
/// pairs into 4-byte sequences, so each 3-byte surrogate here is a lone one.
fn replace_lone_surrogates(bytes: &[u8]) -> Option<Vec<u8>> {
    let is_surrogate_at = |i: usize| bytes[i] == 0xED && bytes.get(i + 1).is_some_and(|b| (0xA0..=0xBF).contains(b));
    let first = (0..bytes.len()).find(|&i| is_surrogate_at(i))?;
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
}
