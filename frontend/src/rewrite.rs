//! Source rewrites that keep positions: a rewritten text is the original
//! with some byte ranges replaced, and [`Remap`] maps every offset of the
//! rewritten text back to the original (generated text maps to the offset
//! it stands for). The rewrites before oxc's transform ([`crate::decorators`],
//! [`crate::namespaces`]) share this, so diagnostics and source maps name
//! what the user wrote.

/// A piece of rewritten text.
pub(crate) enum Piece {
    /// Original bytes `start..end`.
    Orig(u32, u32),
    /// Generated text, standing for original offset `anchor`.
    New(String, u32),
}

/// A replacement of original bytes `start..end`.
pub(crate) struct Edit {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) pieces: Vec<Piece>,
}

impl Edit {
    /// Generated `text` inserted at `at`, standing for `at`.
    pub(crate) fn insert(at: u32, text: impl Into<String>) -> Self {
        Edit { start: at, end: at, pieces: vec![Piece::New(text.into(), at)] }
    }
}

/// From offsets in a rewritten text back to the text it was made from.
#[derive(Debug, Clone)]
pub(crate) struct Remap {
    /// (start in the rewritten text, original start, copied): sorted.
    segments: Vec<(u32, u32, bool)>,
}

impl Remap {
    /// The original offset of rewritten offset `at`.
    pub(crate) fn original(&self, at: u32) -> u32 {
        let i = self.segments.partition_point(|s| s.0 <= at).saturating_sub(1);
        match self.segments.get(i) {
            Some(&(start, original, true)) => original + (at - start),
            Some(&(_, anchor, false)) => anchor,
            None => at,
        }
    }
}

/// `source` with `edits` applied, and the way back. `edits` are sorted by
/// (start, end); an edit that starts inside an earlier one's range keeps
/// only the part after it.
pub(crate) fn assemble(source: &str, edits: Vec<Edit>) -> (String, Remap) {
    let mut out = String::with_capacity(source.len() + 1024);
    let mut segments: Vec<(u32, u32, bool)> = Vec::new();
    let mut push = |out: &mut String, piece: &Piece| {
        let at = out.len() as u32;
        match piece {
            Piece::Orig(start, end) => {
                if start < end {
                    segments.push((at, *start, true));
                    out.push_str(&source[*start as usize..*end as usize]);
                }
            }
            Piece::New(text, anchor) => {
                if !text.is_empty() {
                    segments.push((at, *anchor, false));
                    out.push_str(text);
                }
            }
        }
    };
    let mut cursor = 0u32;
    for edit in &edits {
        push(&mut out, &Piece::Orig(cursor, edit.start.max(cursor)));
        for piece in &edit.pieces {
            push(&mut out, piece);
        }
        cursor = cursor.max(edit.end);
    }
    push(&mut out, &Piece::Orig(cursor, source.len() as u32));
    (out, Remap { segments })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_back_through_insertions_and_replacements() {
        let source = "let a = b + c;";
        let edits = vec![Edit::insert(8, "N."), Edit { start: 12, end: 13, pieces: vec![Piece::New("d".into(), 12)] }];
        let (text, remap) = assemble(source, edits);
        assert_eq!(text, "let a = N.b + d;");
        // `b` keeps its original offset, the inserted qualifier stands for it.
        assert_eq!(remap.original(10), 8);
        assert_eq!(remap.original(8), 8);
        assert_eq!(remap.original(14), 12);
        assert_eq!(remap.original(15), 13);
    }
}
