//! Position tables: where each piece of a transformed module's code came
//! from, in the form its stack traces are mapped with.
//!
//! A module the front end rewrote (TypeScript with its types removed, JSX,
//! a CommonJS file wrapped as a module) runs as generated code, so QuickJS
//! numbers its frames in that code. The front end's source map says where
//! each generated position came from; [`encode`] reduces it, at build time,
//! to a table that travels in the init input and lives in the module's
//! snapshot. The engine decodes it only when a stack is read ([`map_stack`],
//! called by the `stack` accessor of `js-runtime/src/js/positions.js`): a
//! run that reads no stack pays nothing.
//!
//! With the default feature `encode` the crate also makes tables (and
//! depends on `oxc_sourcemap`); the engine uses it without, to decode only.
//!
//! # Format
//!
//! ASCII text: the name stack frames show for the module, a newline, then
//! one group per generated line, separated by `;` (as a source map's
//! `mappings`). A group lists segments separated by `,`; a segment is three
//! base64 VLQ numbers:
//!
//! 1. the generated column, in UTF-8 bytes from the start of the line (what
//!    QuickJS counts), absolute in a line's first segment and relative to the
//!    previous segment after that;
//! 2. the original line: in the first segment relative to the generated line,
//!    after that relative to the previous segment;
//! 3. the original column, in UTF-16 units (what source maps and V8 count):
//!    absolute in the first segment, relative after that.
//!
//! Each line starts afresh, so a lookup decodes one line, never the whole
//! table. All numbers are 0-based; stack frames print them 1-based.
//!
//! Segments that would not change a lookup's answer (the same original
//! position as the segment before on the line) are left out, and so is any
//! token of the map that names no source or a source other than the first:
//! the module is one original file.

#[cfg(feature = "encode")]
use oxc_sourcemap::SourceMap;

/// The position table of one module: its generated code `generated`, the
/// source `map` from that code to the original file, and `file`, the name its
/// stack frames should show (`src/cart.ts`). A newline in `file` becomes a
/// space (the name ends at the first newline).
#[cfg(feature = "encode")]
pub fn encode(map: &SourceMap<'_>, generated: &str, file: &str) -> Vec<u8> {
    let lines = LineIndex::new(generated);
    let mut segments: Vec<Segment> = map
        .get_tokens()
        .filter(|t| t.get_source_id() == Some(0))
        .map(|t| Segment {
            gen_line: t.get_dst_line(),
            gen_col: lines.utf16_to_byte_column(t.get_dst_line(), t.get_dst_col()),
            src_line: t.get_src_line(),
            src_col: t.get_src_col(),
        })
        .collect();
    segments.sort_by_key(|s| (s.gen_line, s.gen_col));

    let mut out = file.replace('\n', " ").into_bytes();
    out.push(b'\n');
    let mut line = 0;
    let mut previous: Option<Segment> = None;
    for segment in segments {
        while line < segment.gen_line {
            out.push(b';');
            line += 1;
            previous = None;
        }
        match previous {
            None => {
                vlq(&mut out, i64::from(segment.gen_col));
                vlq(&mut out, i64::from(segment.src_line) - i64::from(segment.gen_line));
                vlq(&mut out, i64::from(segment.src_col));
            }
            Some(p) if (p.src_line, p.src_col) == (segment.src_line, segment.src_col) || p.gen_col == segment.gen_col => continue,
            Some(p) => {
                out.push(b',');
                vlq(&mut out, i64::from(segment.gen_col) - i64::from(p.gen_col));
                vlq(&mut out, i64::from(segment.src_line) - i64::from(p.src_line));
                vlq(&mut out, i64::from(segment.src_col) - i64::from(p.src_col));
            }
        }
        previous = Some(segment);
    }
    out
}

/// A table, decoded lazily: where its lines start is found on the first
/// lookup, and a lookup decodes only the lines it reads.
pub struct Table {
    bytes: Vec<u8>,
    /// Where the mappings start (after the name's newline).
    body: usize,
    /// Where each line's group starts, once a lookup needed it.
    starts: std::cell::OnceCell<Vec<u32>>,
}

impl Table {
    /// Takes a table made by [`encode`]; `None` if it has no name line or
    /// the name is not UTF-8.
    pub fn new(bytes: Vec<u8>) -> Option<Table> {
        let newline = bytes.iter().position(|&b| b == b'\n')?;
        std::str::from_utf8(&bytes[..newline]).ok()?;
        Some(Table { bytes, body: newline + 1, starts: std::cell::OnceCell::new() })
    }

    /// The name the module's frames show.
    pub fn file(&self) -> &str {
        // Checked to be UTF-8 by `new`.
        std::str::from_utf8(&self.bytes[..self.body - 1]).unwrap_or("")
    }

    /// The original (line, column) of the generated position QuickJS reports
    /// as `line:column` (1-based, column in UTF-8 bytes); 1-based, column in
    /// UTF-16 units. The nearest segment at or before the position answers,
    /// looking back over earlier lines if its own has none; `None` if no
    /// segment precedes it (or the table is damaged).
    pub fn original(&self, line: u32, column: u32) -> Option<(u32, u32)> {
        let starts = self.starts.get_or_init(|| {
            let mut starts = vec![self.body as u32];
            starts.extend(self.bytes[self.body..].iter().enumerate().filter(|(_, b)| **b == b';').map(|(i, _)| (self.body + i + 1) as u32));
            starts
        });
        let line = line.checked_sub(1)? as usize;
        let last = line.min(starts.len() - 1);
        for l in (0..=last).rev() {
            // 0-based columns below the 1-based one: at or before it.
            let end = if l == line { u64::from(column) } else { u64::MAX };
            let group_end = starts.get(l + 1).map_or(self.bytes.len(), |next| *next as usize - 1);
            let group = &self.bytes[starts[l] as usize..group_end];
            match last_segment_before(group, l as u32, end) {
                Ok(Some(found)) => return Some((found.src_line + 1, found.src_col + 1)),
                Ok(None) => continue,
                Err(()) => return None,
            }
        }
        None
    }

    /// Every segment, line by line (for tests).
    #[cfg(test)]
    fn segments(&self) -> Vec<Vec<Segment>> {
        let mut lines = Vec::new();
        for (l, group) in self.bytes[self.body..].split(|&b| b == b';').enumerate() {
            let mut segments = Vec::new();
            let mut bytes = group.iter().copied().peekable();
            let mut previous = None;
            while bytes.peek().is_some() {
                let segment = next_segment(&mut bytes, l as u32, previous).unwrap();
                segments.push(segment);
                previous = Some(segment);
            }
            lines.push(segments);
        }
        lines
    }
}

/// The last segment of `group` (the segments of generated line `line`)
/// whose column is below `end`; `Err` if the group does not decode.
fn last_segment_before(group: &[u8], line: u32, end: u64) -> Result<Option<Segment>, ()> {
    let mut bytes = group.iter().copied().peekable();
    let mut found = None;
    while bytes.peek().is_some() {
        let segment = next_segment(&mut bytes, line, found).ok_or(())?;
        if u64::from(segment.gen_col) >= end {
            break;
        }
        found = Some(segment);
    }
    Ok(found)
}

/// Decodes the segment at the front of `bytes` (and the `,` after it):
/// absolute if it is its line's first (`previous` is `None`), else relative
/// to `previous`.
fn next_segment(bytes: &mut std::iter::Peekable<impl Iterator<Item = u8>>, line: u32, previous: Option<Segment>) -> Option<Segment> {
    let (col, src_line, src_col) = (unvlq(bytes)?, unvlq(bytes)?, unvlq(bytes)?);
    let segment = match previous {
        None => Segment { gen_line: line, gen_col: to_u32(col)?, src_line: to_u32(i64::from(line) + src_line)?, src_col: to_u32(src_col)? },
        Some(p) => Segment {
            gen_line: line,
            gen_col: to_u32(i64::from(p.gen_col) + col)?,
            src_line: to_u32(i64::from(p.src_line) + src_line)?,
            src_col: to_u32(i64::from(p.src_col) + src_col)?,
        },
    };
    match bytes.next() {
        None | Some(b',') => Some(segment),
        Some(_) => None,
    }
}

/// `stack` with every frame of a module that has a table (`table_of` its
/// module name) in original positions: `    at name (file:line:column)` or
/// `    at file:line:column` (a SyntaxError's position), as QuickJS writes
/// them. Other lines stay as they are. `None` when no frame changed.
pub fn map_stack<'t>(stack: &str, table_of: impl Fn(&str) -> Option<&'t Table>) -> Option<String> {
    let mut out = String::new();
    let mut changed = false;
    for (i, frame) in stack.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match map_frame(frame, &table_of) {
            Some(mapped) => {
                out.push_str(&mapped);
                changed = true;
            }
            None => out.push_str(frame),
        }
    }
    changed.then_some(out)
}

fn map_frame<'t>(frame: &str, table_of: &impl Fn(&str) -> Option<&'t Table>) -> Option<String> {
    const AT: &str = "    at ";
    if !frame.starts_with(AT) {
        return None;
    }
    let parens = frame.ends_with(')');
    let body = if parens { &frame[..frame.len() - 1] } else { frame };
    let (rest, column) = body.rsplit_once(':')?;
    let (place, line) = rest.rsplit_once(':')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(line) || !digits(column) {
        return None;
    }
    let (head, table) = if parens {
        // A function's name may hold " (": try each from the right.
        place.rmatch_indices(" (").find_map(|(i, _)| Some((&place[..i + 2], table_of(&place[i + 2..])?)))?
    } else {
        (AT, table_of(&place[AT.len()..])?)
    };
    let (line, column) = table.original(line.parse().ok()?, column.parse().ok()?)?;
    Some(format!("{head}{}:{line}:{column}{}", table.file(), if parens { ")" } else { "" }))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    gen_line: u32,
    gen_col: u32,
    src_line: u32,
    src_col: u32,
}

#[cfg(feature = "encode")]
/// Where each line of the generated code starts, to turn a source map's
/// UTF-16 columns into the UTF-8 byte columns QuickJS counts.
struct LineIndex<'a> {
    code: &'a str,
    starts: Vec<usize>,
}

#[cfg(feature = "encode")]
impl<'a> LineIndex<'a> {
    fn new(code: &'a str) -> Self {
        let starts = std::iter::once(0).chain(code.match_indices('\n').map(|(i, _)| i + 1)).collect();
        LineIndex { code, starts }
    }

    /// The byte column of UTF-16 column `col` on `line` (0-based both). Past
    /// the line's end (or a line that does not exist) the column is kept:
    /// such a token points at nothing QuickJS can report anyway.
    fn utf16_to_byte_column(&self, line: u32, col: u32) -> u32 {
        let Some(&start) = self.starts.get(line as usize) else { return col };
        let end = self.starts.get(line as usize + 1).map_or(self.code.len(), |next| next - 1);
        let mut units = 0;
        for (offset, c) in self.code[start..end].char_indices() {
            if units >= col {
                return u32::try_from(offset).unwrap_or(u32::MAX);
            }
            units += c.len_utf16() as u32;
        }
        // At or past the end of the line: count the rest as one byte a unit.
        let line_bytes = u32::try_from(end - start).unwrap_or(u32::MAX);
        line_bytes.saturating_add(col.saturating_sub(units))
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#[cfg(any(feature = "encode", test))]
/// Appends `value` as a source-map base64 VLQ (sign in the lowest bit).
fn vlq(out: &mut Vec<u8>, value: i64) {
    let mut rest = if value < 0 { ((-value) << 1) | 1 } else { value << 1 } as u64;
    loop {
        let digit = (rest & 31) as usize;
        rest >>= 5;
        if rest == 0 {
            out.push(BASE64[digit]);
            return;
        }
        out.push(BASE64[digit | 32]);
    }
}

fn unvlq(bytes: &mut impl Iterator<Item = u8>) -> Option<i64> {
    let mut value: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = bytes.next()?;
        let digit = BASE64.iter().position(|&b| b == byte)? as u64;
        value |= (digit & 31).checked_shl(shift)?;
        shift += 5;
        if shift > 60 {
            return None;
        }
        if digit & 32 == 0 {
            let magnitude = (value >> 1) as i64;
            return Some(if value & 1 == 1 { -magnitude } else { magnitude });
        }
    }
}

fn to_u32(value: i64) -> Option<u32> {
    u32::try_from(value).ok()
}

#[cfg(test)]
mod tests;
