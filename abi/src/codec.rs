//! The byte-level codec under [`crate::init`] and [`crate::report`]: a magic
//! and a version, then fields in a fixed order. Integers are little-endian
//! `u32`/`u64`; byte strings and lists are a `u32` length then their items;
//! an optional value is a `0`/`1` byte then the value.
//!
//! Both formats are versioned as a whole: a change to what they hold bumps
//! the version, and a decoder meeting another version refuses the input
//! with [`DecodeError::Version`] rather than guess.

use std::fmt;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes do not start with the format's magic.
    Magic {
        /// The format expected (`init input`, `build report`).
        format: &'static str,
    },
    /// The bytes are another version of the format: the compiler and the
    /// engine come from different builds of Kiln.
    Version {
        /// The format.
        format: &'static str,
        /// The version found.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// The bytes end early, hold a bad tag or invalid UTF-8, or go on past
    /// the end.
    Malformed {
        /// The format.
        format: &'static str,
        /// What was wrong, and where.
        what: String,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Magic { format } => write!(f, "this is not a Kiln {format} (its magic bytes are wrong)"),
            DecodeError::Version { format, found, expected } => write!(
                f,
                "the {format} is version {found}, this build of Kiln reads version {expected}: the compiler and the engine come from different builds"
            ),
            DecodeError::Malformed { format, what } => write!(f, "malformed {format}: {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Appends fields to a buffer.
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// A buffer that starts with `magic` and `version`.
    pub(crate) fn new(magic: &[u8], version: u32) -> Self {
        let mut writer = Writer { buf: magic.to_vec() };
        writer.u32(version);
        writer
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.buf.push(value);
    }

    pub(crate) fn bool(&mut self, value: bool) {
        self.u8(u8::from(value));
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    /// A length or count. Nothing Kiln encodes comes near 4 GiB (a wasm32
    /// engine could not hold it); a larger one saturates, and the decoder
    /// then finds the input too short.
    pub(crate) fn len(&mut self, len: usize) {
        self.u32(u32::try_from(len).unwrap_or(u32::MAX));
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.len(bytes.len());
        self.buf.extend_from_slice(bytes);
    }

    pub(crate) fn str(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    pub(crate) fn option<T>(&mut self, value: Option<&T>, write: impl FnOnce(&mut Self, &T)) {
        self.bool(value.is_some());
        if let Some(value) = value {
            write(self, value);
        }
    }

    pub(crate) fn list<T>(&mut self, items: &[T], mut write: impl FnMut(&mut Self, &T)) {
        self.len(items.len());
        for item in items {
            write(self, item);
        }
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads fields back, in the order they were written.
pub(crate) struct Reader<'a> {
    format: &'static str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// Checks `magic` and `version` at the start of `bytes`.
    pub(crate) fn new(format: &'static str, magic: &[u8], version: u32, bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if !bytes.starts_with(magic) {
            return Err(DecodeError::Magic { format });
        }
        let mut reader = Reader { format, bytes, at: magic.len() };
        let found = reader.u32()?;
        if found != version {
            return Err(DecodeError::Version { format, found, expected: version });
        }
        Ok(reader)
    }

    pub(crate) fn malformed(&self, what: impl fmt::Display) -> DecodeError {
        DecodeError::Malformed { format: self.format, what: format!("{what} at byte {}", self.at) }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len()).ok_or_else(|| self.malformed("it ends early"))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.malformed(format_args!("a flag is {other}, not 0 or 1"))),
        }
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        let low = u64::from(self.u32()?);
        let high = u64::from(self.u32()?);
        Ok(low | (high << 32))
    }

    pub(crate) fn len(&mut self) -> Result<usize, DecodeError> {
        usize::try_from(self.u32()?).map_err(|_| self.malformed("a length does not fit this machine"))
    }

    pub(crate) fn bytes(&mut self) -> Result<Vec<u8>, DecodeError> {
        let len = self.len()?;
        Ok(self.take(len)?.to_vec())
    }

    pub(crate) fn string(&mut self) -> Result<String, DecodeError> {
        String::from_utf8(self.bytes()?).map_err(|_| self.malformed("a string is not UTF-8"))
    }

    pub(crate) fn option<T>(&mut self, read: impl FnOnce(&mut Self) -> Result<T, DecodeError>) -> Result<Option<T>, DecodeError> {
        if self.bool()? { read(self).map(Some) } else { Ok(None) }
    }

    pub(crate) fn list<T>(&mut self, mut read: impl FnMut(&mut Self) -> Result<T, DecodeError>) -> Result<Vec<T>, DecodeError> {
        let count = self.len()?;
        // Every item takes at least a byte: a count beyond the bytes left is
        // malformed, and is not allowed to reserve memory.
        if count > self.bytes.len() - self.at {
            return Err(self.malformed(format_args!("a list of {count} items is longer than the input")));
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(read(self)?);
        }
        Ok(items)
    }

    /// Checks that nothing follows the last field.
    pub(crate) fn end(self) -> Result<(), DecodeError> {
        if self.at == self.bytes.len() { Ok(()) } else { Err(self.malformed("unexpected bytes after the end")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_field_type() {
        let mut w = Writer::new(b"MAGIC", 7);
        w.u8(9);
        w.bool(true);
        w.u64(u64::MAX - 1);
        w.str("héllo");
        w.option(Some(&3u32), |w, v| w.u32(*v));
        w.option(None::<&u32>, |w, v| w.u32(*v));
        w.list(&["a", "bc"], |w, s| w.str(s));
        let bytes = w.finish();
        let mut r = Reader::new("test", b"MAGIC", 7, &bytes).unwrap();
        assert_eq!(r.u8().unwrap(), 9);
        assert!(r.bool().unwrap());
        assert_eq!(r.u64().unwrap(), u64::MAX - 1);
        assert_eq!(r.string().unwrap(), "héllo");
        assert_eq!(r.option(Reader::u32).unwrap(), Some(3));
        assert_eq!(r.option(Reader::u32).unwrap(), None);
        assert_eq!(r.list(Reader::string).unwrap(), ["a", "bc"]);
        r.end().unwrap();
    }

    #[test]
    fn refuses_other_formats_versions_and_truncation() {
        let bytes = Writer::new(b"MAGIC", 2).finish();
        assert_eq!(Reader::new("test", b"OTHER", 2, &bytes).err(), Some(DecodeError::Magic { format: "test" }));
        let err = Reader::new("test", b"MAGIC", 1, &bytes).err().unwrap();
        assert_eq!(err, DecodeError::Version { format: "test", found: 2, expected: 1 });
        assert!(err.to_string().contains("version 2, this build of Kiln reads version 1"), "{err}");
        let mut w = Writer::new(b"MAGIC", 1);
        w.str("abc");
        let bytes = w.finish();
        let mut r = Reader::new("test", b"MAGIC", 1, &bytes[..bytes.len() - 1]).unwrap();
        assert!(r.string().unwrap_err().to_string().contains("ends early"));
        let mut w = Writer::new(b"MAGIC", 1);
        w.u32(1_000_000);
        let bytes = w.finish();
        let mut r = Reader::new("test", b"MAGIC", 1, &bytes).unwrap();
        assert!(r.list(Reader::u8).unwrap_err().to_string().contains("longer than the input"));
        let mut w = Writer::new(b"MAGIC", 1);
        w.u8(0);
        let bytes = w.finish();
        assert!(Reader::new("test", b"MAGIC", 1, &bytes).unwrap().end().is_err());
    }
}
