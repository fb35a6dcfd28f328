use super::*;
use oxc_sourcemap::Token;

/// A map from `(generated line, generated column)` to `(original line,
/// original column)`, 0-based, all in source 0 unless `None`.
fn map(tokens: &[(u32, u32, u32, u32, Option<u32>)]) -> SourceMap<'static> {
    let tokens: Vec<Token> = tokens.iter().map(|&(dl, dc, sl, sc, source)| Token::new(dl, dc, sl, sc, source, None)).collect();
    SourceMap::new(None, vec![], None, vec!["a.ts".into(), "b.ts".into()], vec![None, None], tokens.into_boxed_slice(), None)
}

#[test]
fn round_trips_the_nearest_preceding_segment() {
    let generated = "function f() {\n  return g(1);\n}\n";
    let m = map(&[(0, 0, 2, 0, Some(0)), (0, 9, 2, 9, Some(0)), (1, 2, 4, 4, Some(0)), (1, 9, 4, 11, Some(0)), (2, 0, 5, 0, Some(0))]);
    let table = encode(&m, generated, "src/a.ts");
    let text = String::from_utf8(table.clone()).unwrap();
    assert!(text.starts_with("src/a.ts\n"), "{text}");
    let t = Table::new(table.clone()).unwrap();
    assert_eq!(t.file(), "src/a.ts");
    // QuickJS positions are 1-based.
    assert_eq!(t.original(1, 1), Some((3, 1)));
    assert_eq!(t.original(1, 10), Some((3, 10)));
    assert_eq!(t.original(1, 14), Some((3, 10)), "between segments: the one before");
    assert_eq!(t.original(2, 3), Some((5, 5)));
    assert_eq!(t.original(2, 12), Some((5, 12)));
    assert_eq!(t.original(2, 1), Some((3, 10)), "before a line's first segment: the previous line's last");
    assert_eq!(t.original(9, 1), Some((6, 1)), "past the last line");
    assert_eq!(t.original(0, 1), None);
}

#[test]
fn nothing_before_the_first_segment_is_unmapped() {
    let m = map(&[(1, 4, 0, 0, Some(0))]);
    let t = Table::new(encode(&m, "x\n    y\n", "a.ts")).unwrap();
    assert_eq!(t.original(1, 1), None);
    assert_eq!(t.original(2, 4), None);
    assert_eq!(t.original(2, 5), Some((1, 1)));
}

#[test]
fn generated_columns_become_utf8_bytes() {
    // "é" is 2 bytes and 1 UTF-16 unit; "𝒳" 4 bytes and 2 units.
    let generated = "'é𝒳'; f();\n";
    let m = map(&[(0, 0, 0, 0, Some(0)), (0, 6, 0, 20, Some(0))]);
    let t = Table::new(encode(&m, generated, "a.ts")).unwrap();
    // `f` is UTF-16 column 6, byte column 9.
    assert_eq!(t.original(1, 9), Some((1, 1)));
    assert_eq!(t.original(1, 10), Some((1, 21)));
}

#[test]
fn drops_tokens_of_no_or_other_sources_and_redundant_ones() {
    let m = map(&[(0, 0, 0, 0, Some(0)), (0, 2, 0, 0, Some(0)), (0, 4, 7, 7, None), (0, 6, 8, 8, Some(1)), (0, 8, 0, 5, Some(0))]);
    let table = encode(&m, "0123456789\n", "a.ts");
    let t = Table::new(table.clone()).unwrap();
    assert_eq!(t.segments()[0].len(), 2, "{:?}", String::from_utf8_lossy(&table));
    assert_eq!(t.original(1, 7), Some((1, 1)));
    assert_eq!(t.original(1, 9), Some((1, 6)));
}

#[test]
fn vlq_round_trips_large_and_negative_numbers() {
    for value in [0, 1, -1, 15, 16, -16, 1000, -1000, 1 << 20, -(1 << 30)] {
        let mut out = Vec::new();
        vlq(&mut out, value);
        assert_eq!(unvlq(&mut out.into_iter()), Some(value));
    }
    assert_eq!(Table::new(b"a.ts\nA!".to_vec()).unwrap().original(1, 1), None, "damaged");
    assert!(Table::new(b"no newline".to_vec()).is_none());
}

#[test]
fn a_newline_in_the_name_cannot_end_the_name_early() {
    let m = map(&[(0, 0, 0, 0, Some(0))]);
    assert_eq!(Table::new(encode(&m, "x\n", "a\nb.ts")).unwrap().file(), "a b.ts");
}

#[test]
fn map_stack_rewrites_only_frames_of_tabled_modules() {
    let m = map(&[(0, 0, 4, 0, Some(0)), (1, 0, 7, 2, Some(0))]);
    let table = Table::new(encode(&m, "x\ny\n", "src/a.ts")).unwrap();
    let table_of = |name: &str| (name == "a.js").then_some(&table);
    let stack = "Error: x\n    at f (main.js:1:2)\n    at g (native)\n    at h (a.js)\n    at odd (name (a.js:2:3)\n    at a.js:1:1\n  at a.js:2:3\n    at k (a.js:x:3)\n";
    let expected = "Error: x\n    at f (main.js:1:2)\n    at g (native)\n    at h (a.js)\n    at odd (name (src/a.ts:8:3)\n    at src/a.ts:5:1\n  at a.js:2:3\n    at k (a.js:x:3)\n";
    assert_eq!(map_stack(stack, table_of).as_deref(), Some(expected));
    assert_eq!(map_stack("    at f (main.js:1:2)\n", table_of), None, "nothing to map");
    assert_eq!(map_stack("    at f (a.js:0:2)\n", table_of), None, "no line 0");
}
