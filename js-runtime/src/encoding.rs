//! UTF-8 natives behind `TextEncoder` and `TextDecoder`.

use rquickjs::{ArrayBuffer, Ctx, Exception, Function, Object, TypedArray};

/// Defines `native.encodeUtf8(string)` and
/// `native.decodeUtf8(buffer, offset, length, fatal, ignoreBOM)`.
pub(crate) fn register<'js>(ctx: &Ctx<'js>, native: &Object<'js>) -> rquickjs::Result<()> {
    native.set(
        "encodeUtf8",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, text: rquickjs::String<'js>| -> rquickjs::Result<TypedArray<'js, u8>> {
            // Lone surrogates become U+FFFD, as the Encoding standard asks.
            TypedArray::new(ctx, crate::utf8::string_bytes(&text)?)
        }),
    )?;
    native.set(
        "decodeUtf8",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, buffer: ArrayBuffer<'js>, offset: usize, length: usize, fatal: bool, ignore_bom: bool| -> rquickjs::Result<rquickjs::String<'js>> {
                let raw = buffer.as_raw().ok_or_else(|| Exception::throw_type(&ctx, "decode: the buffer is detached"))?;
                // SAFETY: the buffer is alive for this call and not resized
                // while we read it.
                let all = unsafe { raw.as_ref() };
                let bytes = all
                    .get(offset..offset.saturating_add(length))
                    .ok_or_else(|| Exception::throw_range(&ctx, "decode: range outside the buffer"))?;
                let text = decode_utf8(bytes, fatal, ignore_bom)
                    .map_err(|()| Exception::throw_type(&ctx, "The encoded data was not valid for encoding utf-8"))?;
                crate::utf8::new_string(&ctx, &text)
            },
        ),
    )?;
    Ok(())
}

/// Decodes UTF-8 as the Encoding standard does: a leading BOM is dropped
/// unless `ignore_bom`, invalid sequences become U+FFFD or, when `fatal`, an
/// error.
pub(crate) fn decode_utf8(bytes: &[u8], fatal: bool, ignore_bom: bool) -> Result<std::borrow::Cow<'_, str>, ()> {
    let bytes = match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] if !ignore_bom => rest,
        _ => bytes,
    };
    if fatal {
        std::str::from_utf8(bytes).map(std::borrow::Cow::Borrowed).map_err(|_| ())
    } else {
        Ok(crate::utf8::lossy(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::decode_utf8;

    #[test]
    fn bom_is_dropped_unless_asked_to_keep_it() {
        assert_eq!(decode_utf8(b"\xEF\xBB\xBFhi", false, false).unwrap(), "hi");
        assert_eq!(decode_utf8(b"\xEF\xBB\xBFhi", false, true).unwrap(), "\u{FEFF}hi");
    }

    #[test]
    fn invalid_bytes_are_replaced_or_rejected() {
        assert_eq!(decode_utf8(b"a\xFFb", false, false).unwrap(), "a\u{FFFD}b");
        assert!(decode_utf8(b"a\xFFb", true, false).is_err());
    }
}
