//! JSON text to QuickJS values, directly.
//!
//! Accepts exactly the documents QuickJS's own parser accepts and builds the
//! same values: the first object of each key sequence through
//! `JS_DefinePropertyValue` (so `__proto__` is an own key and a repeated key
//! keeps its first position with its last value, as `JSON.parse` does), the
//! next ones with the shape that gave (see [`Parser::build_object`]), arrays in one `JS_NewArrayFrom`, numbers as
//! QuickJS's `strtod` reads them (correctly rounded; small integers stored
//! as integers, which no program can tell apart). Anything else — every
//! syntax error, a lone surrogate, bytes that are not UTF-8, nesting deeper
//! than [`MAX_DEPTH`] — is [`Stop::Fallback`]: QuickJS then parses the text
//! itself and reports the error its own way.

use super::{ByteCache, Stop};
use crate::internals::{self, Factory, Object, Shape};
use rquickjs::qjs;

/// Deeper documents go to QuickJS's parser, which checks the native stack
/// as it recurses; this one recurses too, and must never overflow it.
const MAX_DEPTH: u32 = 200;

/// Strings up to this long are cached: a document repeats its short values
/// ("USD", "ProductVariant") and one immutable JS string can serve them all.
const CACHED_STRING_MAX: usize = 32;
const CACHED_STRINGS_MAX: usize = 4096;

/// Objects with up to this many keys get their shapes shared (see
/// [`Parser::prime`]), within this many property definitions per parse.
const PRIMED_KEYS_MAX: usize = 24;
const PRIMING_BUDGET: usize = 8192;

/// Key sequences of up to this many keys get a template shape (see
/// [`Parser::build_object`]), up to this many sequences per parse.
const TEMPLATE_KEYS_MAX: usize = 64;
const TEMPLATES_MAX: usize = 1024;

/// Parses all of `src` into a new value.
///
/// # Safety
///
/// `ctx` is a live context.
pub(super) unsafe fn fast(ctx: *mut qjs::JSContext, src: &[u8]) -> Result<qjs::JSValue, Stop> {
    // No collection while the document is built: it would find nothing of
    // it to free (every value made is held until the end) and walk all of
    // it each time, the cost growing with the document (on a 10 MB one,
    // seven collections cost ~14 fuel per input byte). Afterwards the
    // threshold moves up as a collection at the end would have moved it,
    // by half again what the document added (estimated), so that the
    // next allocation does not start that collection either.
    // SAFETY: `ctx` is live.
    let rt = unsafe { qjs::JS_GetRuntime(ctx) };
    let threshold = unsafe { qjs::JS_GetGCThreshold(rt) };
    unsafe { qjs::JS_SetGCThreshold(rt, qjs::size_t::MAX) };
    // SAFETY: per this function's contract.
    let result = unsafe { parse_all(ctx, src) };
    // A document's values take about twice its text (the cart documents:
    // 1.5 to 2.5 times; counting them as they are made costs more than
    // the guess).
    let made = src.len().saturating_mul(2);
    let grown = qjs::size_t::try_from(made.saturating_add(made / 2)).unwrap_or(qjs::size_t::MAX);
    let after = if result.is_ok() { threshold.saturating_add(grown) } else { threshold };
    unsafe { qjs::JS_SetGCThreshold(rt, after) };
    result
}

/// [`fast`] with collections off.
///
/// # Safety
///
/// `ctx` is a live context.
unsafe fn parse_all(ctx: *mut qjs::JSContext, src: &[u8]) -> Result<qjs::JSValue, Stop> {
    let mut parser = Parser {
        ctx,
        src,
        pos: 0,
        depth: 0,
        atoms: ByteCache::new(),
        strings: ByteCache::new(),
        scratch: Vec::new(),
        elements: Vec::new(),
        keys: Vec::new(),
        primed: ByteCache::new(),
        helpers: Vec::new(),
        priming_budget: PRIMING_BUDGET,
        // SAFETY: `ctx` is live.
        direct: unsafe { internals::available(ctx) },
        templates: ByteCache::new(),
        key_info: Vec::new(),
        quoted: Vec::new(),
        first_key: Vec::new(),
        parent_key: 0,
        string_info: Vec::new(),
        factory: None,
        ascii: false,
        units: Vec::new(),
    };
    if parser.direct {
        // An empty object held for the parse: the shape every new object
        // starts with then always has another holder (see
        // `internals::adopt_shape`).
        // SAFETY: `ctx` is live; freed with the helpers.
        let anchor = unsafe { qjs::JS_NewObject(ctx) };
        if unsafe { qjs::JS_IsException(anchor) } {
            return Err(Stop::Exception);
        }
        parser.helpers.push(anchor);
        // SAFETY: `anchor` was just made by JS_NewObject and lives as long
        // as the parser.
        parser.factory = unsafe { Factory::new(anchor) };
    }
    let value = parser.value()?;
    parser.skip_whitespace();
    if parser.pos != src.len() {
        // SAFETY: `value` is ours.
        unsafe { qjs::JS_FreeValue(ctx, value) };
        return Err(Stop::Fallback);
    }
    Ok(value)
}

struct Parser<'a> {
    ctx: *mut qjs::JSContext,
    src: &'a [u8],
    pos: usize,
    depth: u32,
    /// Keys seen so far (their UTF-8 text) and their atoms, one reference
    /// each, released on drop. Documents repeat a few keys many times.
    atoms: ByteCache<qjs::JSAtom>,
    /// Short string values seen so far, one reference each.
    strings: ByteCache<qjs::JSValue>,
    /// A string's text with its escapes decoded.
    scratch: Vec<u8>,
    /// The elements of the arrays being parsed, innermost last.
    elements: Vec<qjs::JSValue>,
    /// The keys of the objects being parsed, innermost last.
    keys: Vec<qjs::JSAtom>,
    /// Key sequences whose shapes are kept alive by `helpers`.
    primed: ByteCache<()>,
    helpers: Vec<qjs::JSValue>,
    priming_budget: usize,
    /// QuickJS's layouts are known ([`internals`]): objects whose key
    /// sequence was seen before take its shape whole.
    direct: bool,
    /// Key sequences (their atoms' bytes) and the shape an object with
    /// those keys ends with, kept alive by a helper object in `helpers`.
    templates: ByteCache<*mut Shape>,
    /// By key (entry of `atoms`): what the parse learned of it.
    key_info: Vec<KeyInfo>,
    /// The texts of plain keys and strings followed by their closing
    /// quote (see [`Quoted`]).
    quoted: Vec<u8>,
    /// By depth: the first key of the last object there, plus one (for
    /// the objects of an array).
    first_key: Vec<u32>,
    /// The key whose value is being parsed (entry plus one; 0 for an array
    /// element or the document).
    parent_key: u32,
    /// By entry of `strings`: its value and its text as the source has
    /// it.
    string_info: Vec<(qjs::JSValue, Quoted)>,
    /// Makes objects of template shapes and ASCII strings in place.
    factory: Option<Factory>,
    /// Whether the last string read had only ASCII bytes in the source.
    ascii: bool,
    /// A non-ASCII string value's UTF-16 units.
    units: Vec<u16>,
}

/// What a parse learned of a key.
#[derive(Clone, Copy)]
struct KeyInfo {
    atom: qjs::JSAtom,
    /// Its text as the source has it, if it can be read there.
    quoted: Quoted,
    /// The entry of the key that followed it last time, plus one (0:
    /// none). Documents repeat their key sequences, so the next key is
    /// usually that one, and checking the text for it costs less than
    /// hashing and looking it up.
    next: u32,
    /// The one that followed it before, when that differs: a key can
    /// appear in two kinds of objects ("id" of a line, then of its
    /// product), each with its own next key.
    other: u32,
    /// For a first key: the template last used for an object starting with
    /// it, plus one (0: none).
    template: u32,
    /// The first key of the last object that was its value, plus one.
    first: u32,
    /// The entry of `strings` last met as its value, plus one.
    string: u32,
    /// How many of its string values were not in the cache. Keys whose
    /// values are all different ("id") stop filling it.
    misses: u8,
}

/// Where in `Parser::quoted` a text is, followed by its closing quote:
/// when the source has exactly those bytes at a string's start, they are
/// that string (a text with escapes reads differently in the source and
/// gets `len` 0, which no string matches: each has its quote).
#[derive(Clone, Copy)]
struct Quoted {
    start: u32,
    len: u32,
}

impl Quoted {
    const NONE: Quoted = Quoted { start: 0, len: 0 };

    fn new(quoted: &mut Vec<u8>, text: &[u8]) -> Quoted {
        let start = quoted.len() as u32;
        quoted.extend_from_slice(text);
        quoted.push(b'"');
        Quoted { start, len: text.len() as u32 + 1 }
    }

    /// Whether `src` has this text and quote at `at`.
    #[inline(always)]
    fn at(self, quoted: &[u8], src: &[u8], at: usize) -> bool {
        let (start, len) = (self.start as usize, self.len as usize);
        if len == 0 {
            return false;
        }
        match (src.get(at..at + len), quoted.get(start..start + len)) {
            (Some(here), Some(text)) => super::same(here, text),
            _ => false,
        }
    }
}

/// JSON's whitespace (space, tab, line feed, carriage return) from `i`;
/// where it ends. Most calls find none, or one space: decided on the first
/// byte.
#[inline(always)]
fn skip_whitespace(src: &[u8], mut i: usize) -> usize {
    while let Some(&b) = src.get(i) {
        if b > b' ' || !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            break;
        }
        i += 1;
    }
    i
}

/// A key's string values stop being cached after this many misses.
const KEY_MISSES_MAX: u8 = 8;

impl Drop for Parser<'_> {
    fn drop(&mut self) {
        // SAFETY: the elements and atoms are references this parser owns.
        unsafe {
            for &value in self.elements.iter().chain(&self.helpers) {
                qjs::JS_FreeValue(self.ctx, value);
            }
            for value in self.strings.values() {
                qjs::JS_FreeValue(self.ctx, value);
            }
            for atom in self.atoms.values() {
                qjs::JS_FreeAtom(self.ctx, atom);
            }
        }
    }
}

/// A value being built, freed unless handed on.
struct Building {
    ctx: *mut qjs::JSContext,
    value: qjs::JSValue,
}

impl Building {
    fn new(ctx: *mut qjs::JSContext, value: qjs::JSValue) -> Result<Self, Stop> {
        // SAFETY: inspecting the tag only.
        if unsafe { qjs::JS_IsException(value) } {
            return Err(Stop::Exception);
        }
        Ok(Building { ctx, value })
    }

    fn finish(self) -> qjs::JSValue {
        let value = self.value;
        std::mem::forget(self);
        value
    }
}

impl Drop for Building {
    fn drop(&mut self) {
        // SAFETY: the value is ours.
        unsafe { qjs::JS_FreeValue(self.ctx, self.value) };
    }
}

/// The bytes that end a run of plain string characters: a quote, a
/// backslash, a control character, the start of a non-ASCII sequence.
pub(super) static SPECIAL: [bool; 256] = {
    let mut table = [true; 256];
    let mut b = 0x20;
    while b < 0x80 {
        table[b] = false;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// The high bit of each byte of `word` (read little-endian) that may end a
/// run of plain string characters ([`SPECIAL`]). The lowest one set is
/// exactly the first such byte: the subtractions borrow only upwards, and
/// only from such bytes (a byte >= 0x80 is caught by its own high bit,
/// which also covers the others' false positives there).
#[inline]
pub(super) fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let below_space = word.wrapping_sub(ONES * 0x20);
    let quote = (word ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES);
    let backslash = (word ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
    (word | below_space | quote | backslash) & (ONES * 0x80)
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    #[inline(always)]
    fn skip_whitespace(&mut self) {
        self.pos = skip_whitespace(self.src, self.pos);
    }

    fn value(&mut self) -> Result<qjs::JSValue, Stop> {
        self.skip_whitespace();
        match self.peek().ok_or(Stop::Fallback)? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => {
                self.pos += 1;
                self.string()
            }
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal(b"true", qjs::JS_TRUE),
            b'f' => self.literal(b"false", qjs::JS_FALSE),
            b'n' => self.literal(b"null", qjs::JS_NULL),
            _ => Err(Stop::Fallback),
        }
    }

    fn literal(&mut self, word: &[u8], value: qjs::JSValue) -> Result<qjs::JSValue, Stop> {
        // What follows is checked by the caller ("truex" fails there).
        if !self.src[self.pos..].starts_with(word) {
            return Err(Stop::Fallback);
        }
        self.pos += word.len();
        Ok(value)
    }

    fn enter(&mut self) -> Result<(), Stop> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Stop::Fallback);
        }
        self.pos += 1;
        self.skip_whitespace();
        Ok(())
    }

    fn object(&mut self) -> Result<qjs::JSValue, Stop> {
        self.enter()?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            // SAFETY: `ctx` is live.
            return Building::new(self.ctx, unsafe { qjs::JS_NewObject(self.ctx) }).map(Building::finish);
        }
        // The keys and values wait on the stacks (freed by drop on an
        // error) until the object is built from all of them.
        let base = self.keys.len();
        let values = self.elements.len();
        let depth = self.depth as usize;
        if self.first_key.len() <= depth {
            self.first_key.resize(depth + 1, 0);
        }
        let parent = std::mem::take(&mut self.parent_key);
        let mut predicted = if parent == 0 { self.first_key[depth] } else { self.key_info[parent as usize - 1].first };
        let mut other = 0u32;
        let mut previous = 0u32;
        let mut first = 0u32;
        // The position in a local between the calls that read it.
        let src = self.src;
        let mut i = self.pos;
        loop {
            i = skip_whitespace(src, i);
            if src.get(i) != Some(&b'"') {
                return Err(Stop::Fallback);
            }
            i += 1;
            // The predicted key, read in place, or any other.
            let (key, entry) = match predicted.checked_sub(1).map(|p| self.key_info[p as usize]) {
                Some(info) if info.quoted.at(&self.quoted, src, i) => {
                    i += info.quoted.len as usize;
                    (info.atom, predicted)
                }
                _ => match other.checked_sub(1).map(|p| self.key_info[p as usize]) {
                    Some(info) if info.quoted.at(&self.quoted, src, i) => {
                        i += info.quoted.len as usize;
                        (info.atom, other)
                    }
                    _ => {
                        self.pos = i;
                        let found = self.key()?;
                        i = self.pos;
                        found
                    }
                },
            };
            if previous == 0 {
                first = entry;
            } else {
                let info = &mut self.key_info[previous as usize - 1];
                if info.next != entry && info.other != entry {
                    info.other = info.next;
                    info.next = entry;
                }
            }
            previous = entry;
            let info = self.key_info[entry as usize - 1];
            (predicted, other) = (info.next, info.other);
            self.keys.push(key);
            i = skip_whitespace(src, i);
            if src.get(i) != Some(&b':') {
                return Err(Stop::Fallback);
            }
            // Read by the value (a string or object takes it; any other
            // leaves it to be replaced before the next value is read).
            self.parent_key = entry;
            self.pos = i + 1;
            let value = self.value()?;
            i = self.pos;
            self.elements.push(value);
            i = skip_whitespace(src, i);
            match src.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => break,
                _ => return Err(Stop::Fallback),
            }
        }
        self.pos = i + 1;
        self.depth -= 1;
        if parent == 0 {
            self.first_key[depth] = first;
        } else {
            self.key_info[parent as usize - 1].first = first;
        }
        let object = self.build_object(base, values, first)?;
        if !self.direct {
            self.prime(base)?;
        }
        self.keys.truncate(base);
        Ok(object)
    }

    /// The object of `keys[base..]` and `elements[values..]` (which it
    /// takes). The first object of a key sequence is built property by
    /// property with `JS_DefinePropertyValue`, which is what makes
    /// `__proto__` an own key and a repeated key keep its first place and
    /// last value; when that gives a plain shape with exactly those keys
    /// in that order, the shape is kept, and the next objects with the
    /// same keys take it whole ([`internals::adopt_shape`]).
    fn build_object(&mut self, base: usize, values: usize, first: u32) -> Result<qjs::JSValue, Stop> {
        let count = self.keys.len() - base;
        let templated = self.direct && count <= TEMPLATE_KEYS_MAX;
        let keys = &self.keys[base..];
        // SAFETY: the atoms' bytes, read as bytes.
        let text = unsafe { std::slice::from_raw_parts(keys.as_ptr().cast::<u8>(), std::mem::size_of_val(keys)) };
        let template = if !templated {
            None
        } else {
            // The template last used after this first key, if it fits.
            match self.key_info[first as usize - 1].template {
                0 => None,
                hint => Some(self.templates.entry(hint as usize - 1)).filter(|(keys, _)| super::same(keys, text)).map(|(_, shape)| shape),
            }
            .or_else(|| {
                let hash = ByteCache::<*mut Shape>::hash(text);
                let index = self.templates.find(text, hash)?;
                self.key_info[first as usize - 1].template = index as u32 + 1;
                Some(self.templates.entry(index).1)
            })
        };
        if let Some(shape) = template
            && let Some(factory) = &self.factory
        {
            // SAFETY: the template shape has these keys, is hashed and is
            // kept alive by a helper, its prototype Object.prototype.
            return match unsafe { factory.object(self.ctx, shape, &self.elements[values..]) } {
                Some(object) => {
                    // SAFETY: shortening over values now owned by the object.
                    unsafe { self.elements.set_len(values) };
                    Ok(object)
                }
                None => Err(Stop::Exception),
            };
        }
        // SAFETY: `ctx` is live.
        let object = Building::new(self.ctx, unsafe { qjs::JS_NewObject(self.ctx) })?;
        if let Some(shape) = template {
            // SAFETY: the template shape has these keys, is hashed and is
            // kept alive by a helper; the object is new and plain.
            match unsafe { internals::adopt_shape(self.ctx, object.value, shape, &self.elements[values..]) } {
                Ok(true) => {
                    // Taken by the object.
                    // SAFETY: shortening over values now owned elsewhere.
                    unsafe { self.elements.set_len(values) };
                    return Ok(object.finish());
                }
                Ok(false) => {}
                Err(()) => return Err(Stop::Exception),
            }
        }
        for i in 0..count {
            let (key, value) = (self.keys[base + i], self.elements[values + i]);
            // The call takes the value, whatever happens.
            self.elements[values + i] = qjs::JS_UNDEFINED;
            // SAFETY: `object` is an object of `ctx`; `key` is kept alive
            // by the cache.
            if unsafe { qjs::JS_DefinePropertyValue(self.ctx, object.value, key, value, qjs::JS_PROP_C_W_E as i32) } < 0 {
                return Err(Stop::Exception);
            }
        }
        self.elements.truncate(values);
        if templated && self.templates.len() < TEMPLATES_MAX {
            let text = text.to_vec();
            let hash = ByteCache::<*mut Shape>::hash(&text);
            // SAFETY: reading the new object's shape; `remember` checks it.
            if let Some(index) = unsafe { self.remember(object.value, base, &text, hash)? } {
                self.key_info[first as usize - 1].template = index as u32 + 1;
            }
        }
        Ok(object.finish())
    }

    /// Keeps `object`'s shape as the template of its key sequence if it
    /// has exactly `keys[base..]`, in order, as plain enumerable,
    /// writable, configurable data properties, and is hashed (shareable).
    ///
    /// # Safety
    ///
    /// `object` is a live plain object; the layouts are known.
    unsafe fn remember(&mut self, object: qjs::JSValue, base: usize, text: &[u8], hash: u64) -> Result<Option<usize>, Stop> {
        // SAFETY: per this function's contract.
        unsafe {
            let shape = (*Object::of(object)).shape;
            let props = Shape::properties(shape);
            let keys = &self.keys[base..];
            let exact = (*shape).is_hashed == 1
                && props.len() == keys.len()
                && props.iter().zip(keys).all(|(prop, &key)| prop.atom == key && prop.flags() == qjs::JS_PROP_C_W_E);
            if !exact || self.templates.find(text, hash).is_some() {
                return Ok(None);
            }
            // A helper holding the shape for the rest of the parse.
            let helper = Building::new(self.ctx, qjs::JS_NewObject(self.ctx))?;
            let nulls = vec![qjs::JS_NULL; keys.len()];
            match internals::adopt_shape(self.ctx, helper.value, shape, &nulls) {
                Ok(true) => {
                    self.helpers.push(helper.finish());
                    Ok(Some(self.templates.insert(text, hash, shape)))
                }
                Ok(false) => Ok(None),
                Err(()) => Err(Stop::Exception),
            }
        }
    }

    /// Keeps the shapes of an object's key sequence (`keys[base..]`) alive
    /// for the rest of the parse, so that the next object with the same keys
    /// finds each of its shapes and shares them.
    ///
    /// QuickJS changes an object's shape in place while no one else holds
    /// it, so the intermediate shapes of the first object ({a}, {a,b}, ...)
    /// are gone by the time the second one is built: each object of a
    /// document would otherwise clone and grow its own copy, property by
    /// property. One helper object per prefix keeps every shape of the
    /// chain (built once per distinct key sequence, within a budget).
    fn prime(&mut self, base: usize) -> Result<(), Stop> {
        let keys = &self.keys[base..];
        if keys.len() < 2 || keys.len() > PRIMED_KEYS_MAX {
            return Ok(());
        }
        // SAFETY: the atoms' bytes, read as bytes.
        let text = unsafe { std::slice::from_raw_parts(keys.as_ptr().cast::<u8>(), std::mem::size_of_val(keys)) };
        let hash = ByteCache::<()>::hash(text);
        if self.primed.get(text, hash).is_some() {
            return Ok(());
        }
        let cost = keys.len() * (keys.len() - 1) / 2;
        if cost > self.priming_budget {
            return Ok(());
        }
        self.priming_budget -= cost;
        self.primed.insert(text, hash, ());
        for prefix in 1..keys.len() {
            // SAFETY: `ctx` is live; the helper is kept in `helpers` and
            // freed on drop; the atoms are alive in the cache.
            unsafe {
                let helper = qjs::JS_NewObject(self.ctx);
                if qjs::JS_IsException(helper) {
                    return Err(Stop::Exception);
                }
                self.helpers.push(helper);
                for &atom in &self.keys[base..base + prefix] {
                    if qjs::JS_DefinePropertyValue(self.ctx, helper, atom, qjs::JS_NULL, qjs::JS_PROP_C_W_E as i32) < 0 {
                        return Err(Stop::Exception);
                    }
                }
            }
        }
        Ok(())
    }

    fn array(&mut self) -> Result<qjs::JSValue, Stop> {
        self.enter()?;
        let base = self.elements.len();
        if self.peek() != Some(b']') {
            loop {
                self.parent_key = 0;
                let element = self.value()?;
                self.elements.push(element);
                self.skip_whitespace();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => break,
                    _ => return Err(Stop::Fallback),
                }
            }
        }
        self.pos += 1;
        self.depth -= 1;
        let count = self.elements.len() - base;
        let count_c = i32::try_from(count).map_err(|_| Stop::Fallback)?;
        // SAFETY: JS_NewArrayFrom takes the `count` elements (even when it
        // fails); they leave `elements` without being freed.
        let array = unsafe {
            let array = qjs::JS_NewArrayFrom(self.ctx, count_c, self.elements.as_ptr().add(base));
            self.elements.set_len(base);
            array
        };
        Building::new(self.ctx, array).map(Building::finish)
    }

    fn number(&mut self) -> Result<qjs::JSValue, Stop> {
        let src = self.src;
        let start = self.pos;
        let digits = |mut i: usize| {
            while src.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let negative = src[start] == b'-';
        let int_start = start + usize::from(negative);
        let int_end = match src.get(int_start) {
            Some(b'0') if src.get(int_start + 1).is_some_and(u8::is_ascii_digit) => return Err(Stop::Fallback),
            Some(b'0') => int_start + 1,
            Some(b'1'..=b'9') => digits(int_start + 1),
            _ => return Err(Stop::Fallback),
        };
        let mut end = int_end;
        if src.get(end) == Some(&b'.') {
            let after = digits(end + 1);
            if after == end + 1 {
                return Err(Stop::Fallback);
            }
            end = after;
        }
        if let Some(b'e' | b'E') = src.get(end) {
            let mut i = end + 1;
            if let Some(b'+' | b'-') = src.get(i) {
                i += 1;
            }
            let after = digits(i);
            if after == i {
                return Err(Stop::Fallback);
            }
            end = after;
        }
        self.pos = end;
        if end == int_end && int_end - int_start <= 9 {
            let magnitude = src[int_start..int_end].iter().fold(0i32, |n, d| n * 10 + i32::from(d - b'0'));
            return Ok(match (negative, magnitude) {
                (true, 0) => qjs::JS_NewFloat64(-0.0),
                (true, n) => qjs::JS_MKVAL(qjs::JS_TAG_INT, -n),
                (false, n) => qjs::JS_MKVAL(qjs::JS_TAG_INT, n),
            });
        }
        // ASCII by construction; Rust's parse rounds correctly, as strtod.
        let text = std::str::from_utf8(&src[start..end]).map_err(|_| Stop::Fallback)?;
        let number: f64 = text.parse().map_err(|_| Stop::Fallback)?;
        Ok(qjs::JS_NewFloat64(number))
    }

    /// A string value; the opening quote is consumed.
    fn string(&mut self) -> Result<qjs::JSValue, Stop> {
        // The string last met under the same key, if it is this one.
        let parent = std::mem::take(&mut self.parent_key);
        if parent != 0 {
            let predicted = self.key_info[parent as usize - 1].string;
            if predicted != 0 {
                let (value, quoted) = self.string_info[predicted as usize - 1];
                if quoted.at(&self.quoted, self.src, self.pos) {
                    self.pos += quoted.len as usize;
                    // SAFETY: a live string the cache holds a reference to.
                    return Ok(unsafe { qjs::JS_DupValue(self.ctx, value) });
                }
            }
        }
        // Strings made in place are validated as they are decoded.
        let in_place = self.factory.as_ref().is_some_and(Factory::makes_strings);
        let text = self.string_text(!in_place)?;
        let bytes = text.bytes(self.src, &self.scratch);
        let cached = bytes.len() <= CACHED_STRING_MAX && (parent == 0 || self.key_info[parent as usize - 1].misses < KEY_MISSES_MAX);
        let hash = if cached { ByteCache::<qjs::JSValue>::hash(bytes) } else { 0 };
        if cached && let Some(index) = self.strings.find(bytes, hash) {
            if parent != 0 {
                self.key_info[parent as usize - 1].string = index as u32 + 1;
            }
            // SAFETY: a live string the cache holds a reference to.
            return Ok(unsafe { qjs::JS_DupValue(self.ctx, self.strings.entry(index).1) });
        }
        // Made in place when it can be: an ASCII string without escapes
        // as it is, any other decoded to UTF-16 first (which is where its
        // bytes are checked to be UTF-8: a cached string's are).
        let made = match (&self.factory, &text) {
            // SAFETY: `ctx` is live; the bytes are ASCII.
            (Some(factory), Text::Source(..)) if self.ascii => unsafe { factory.ascii_string(self.ctx, bytes) },
            (Some(factory), _) if in_place => {
                let wide = utf8_to_utf16(bytes, &mut self.units).ok_or(Stop::Fallback)?;
                // SAFETY: `ctx` is live; `wide` is as the decoding found.
                unsafe { factory.utf16_string(self.ctx, &self.units, wide) }
            }
            _ => None,
        };
        let value = match made {
            Some(value) => value,
            // SAFETY: `bytes` is UTF-8, unchanged until the call returns.
            None => Building::new(self.ctx, unsafe { qjs::JS_NewStringLen(self.ctx, bytes.as_ptr().cast(), bytes.len() as _) })?.finish(),
        };
        if cached && parent != 0 {
            self.key_info[parent as usize - 1].misses += 1;
        }
        if cached && self.strings.len() < CACHED_STRINGS_MAX {
            // SAFETY: the cache's own reference.
            let index = self.strings.insert(bytes, hash, unsafe { qjs::JS_DupValue(self.ctx, value) });
            let quoted = if matches!(text, Text::Source(..)) { Quoted::new(&mut self.quoted, bytes) } else { Quoted::NONE };
            self.string_info.push((value, quoted));
            if parent != 0 {
                self.key_info[parent as usize - 1].string = index as u32 + 1;
            }
        }
        Ok(value)
    }

    /// A property key's atom (kept alive by the cache) and its entry in
    /// the cache plus one; the opening quote is consumed.
    fn key(&mut self) -> Result<(qjs::JSAtom, u32), Stop> {
        let text = self.string_text(true)?;
        let bytes = text.bytes(self.src, &self.scratch);
        let hash = ByteCache::<qjs::JSAtom>::hash(bytes);
        if let Some(index) = self.atoms.find(bytes, hash) {
            return Ok((self.atoms.entry(index).1, index as u32 + 1));
        }
        // SAFETY: `ctx` is live; `bytes` is UTF-8.
        let atom = unsafe { new_atom(self.ctx, bytes) };
        if atom == qjs::JS_ATOM_NULL {
            return Err(Stop::Exception);
        }
        let plain = matches!(text, Text::Source(..)) && !bytes.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20);
        let index = self.atoms.insert(bytes, hash, atom);
        let quoted = if plain { Quoted::new(&mut self.quoted, bytes) } else { Quoted::NONE };
        self.key_info.push(KeyInfo { atom, quoted, next: 0, other: 0, template: 0, first: 0, string: 0, misses: 0 });
        Ok((atom, index as u32 + 1))
    }

    /// Reads a string's text up to and past its closing quote (the opening
    /// one is consumed): a slice of the source when it has no escapes, else
    /// decoded into `scratch`. With `validate`, non-ASCII text that is not
    /// UTF-8 is [`Stop::Fallback`]; without, the caller checks it.
    /// Inlined in its two callers: its result returned from a call goes
    /// through memory, and the call costs about a sixth of a string.
    #[inline(always)]
    fn string_text(&mut self, validate: bool) -> Result<Text, Stop> {
        let src = self.src;
        let start = self.pos;
        let mut i = start;
        let mut ascii = true;
        let mut escaped = false;
        // Start of the bytes not yet copied to `scratch` (once escaped).
        let mut run = start;
        loop {
            // Eight bytes a step while eight are left, then byte by byte.
            let b = loop {
                match src.get(i..i + 8) {
                    Some(chunk) => {
                        let special = special_bytes(u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]));
                        if special != 0 {
                            i += (special.trailing_zeros() / 8) as usize;
                            break src[i];
                        }
                        i += 8;
                    }
                    None => {
                        while i < src.len() && !SPECIAL[usize::from(src[i])] {
                            i += 1;
                        }
                        break *src.get(i).ok_or(Stop::Fallback)?;
                    }
                }
            };
            match b {
                b'"' => break,
                b'\\' => {
                    if !escaped {
                        self.scratch.clear();
                        escaped = true;
                    }
                    self.scratch.extend_from_slice(&src[run..i]);
                    i = self.escape(i + 1)?;
                    run = i;
                }
                0x80.. => {
                    // The whole non-ASCII sequence (and any next to it).
                    ascii = false;
                    i += 1;
                    while src.get(i).is_some_and(|&b| b >= 0x80) {
                        i += 1;
                    }
                }
                _ => return Err(Stop::Fallback), // a control character
            }
        }
        self.pos = i + 1;
        if validate && !ascii && std::str::from_utf8(&src[start..i]).is_err() {
            // Not UTF-8 (lone surrogates from a JS string included):
            // QuickJS decodes such bytes its own way.
            return Err(Stop::Fallback);
        }
        self.ascii = ascii;
        if escaped {
            self.scratch.extend_from_slice(&src[run..i]);
            Ok(Text::Scratch)
        } else {
            Ok(Text::Source(start, i))
        }
    }

    /// Decodes the escape whose letter is at `i` into `scratch`; returns
    /// where the text continues.
    fn escape(&mut self, i: usize) -> Result<usize, Stop> {
        let src = self.src;
        let simple = match *src.get(i).ok_or(Stop::Fallback)? {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0C,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let unit = hex4(src, i + 1)?;
                let (c, next) = match unit {
                    0xD800..=0xDBFF if src.get(i + 5..i + 7) == Some(b"\\u") => {
                        let low = hex4(src, i + 7)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(Stop::Fallback);
                        }
                        (0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), i + 11)
                    }
                    // A lone surrogate: UTF-8 cannot hold it.
                    0xD800..=0xDFFF => return Err(Stop::Fallback),
                    _ => (unit, i + 5),
                };
                let c = char::from_u32(c).ok_or(Stop::Fallback)?;
                let mut buf = [0u8; 4];
                self.scratch.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                return Ok(next);
            }
            _ => return Err(Stop::Fallback),
        };
        self.scratch.push(simple);
        Ok(i + 1)
    }
}

/// Where a string's text is.
enum Text {
    Source(usize, usize),
    Scratch,
}

impl Text {
    fn bytes<'a>(&self, src: &'a [u8], scratch: &'a [u8]) -> &'a [u8] {
        match *self {
            Text::Source(start, end) => &src[start..end],
            Text::Scratch => scratch,
        }
    }
}

/// Decodes `text` into `units` (cleared first); whether some unit is above
/// 0xFF, `None` if `text` is not UTF-8 (exactly what `str::from_utf8`
/// refuses: overlong forms, surrogates, code points above U+10FFFF,
/// truncated sequences).
pub(super) fn utf8_to_utf16(text: &[u8], units: &mut Vec<u16>) -> Option<bool> {
    units.clear();
    // A byte gives at most one unit (four give two).
    units.reserve(text.len());
    let out = units.as_mut_ptr();
    let mut n = 0;
    let mut high = 0u32;
    let mut i = 0;
    while let Some(&lead) = text.get(i) {
        let lead = u32::from(lead);
        let c = if lead < 0x80 {
            i += 1;
            lead
        } else {
            let next = |k: usize| text.get(i + k).map(|&b| u32::from(b)).filter(|b| b & 0xC0 == 0x80).map(|b| b & 0x3F);
            let (c, len) = match lead {
                0xC2..=0xDF => ((lead & 0x1F) << 6 | next(1)?, 2),
                0xE0..=0xEF => {
                    let c = (lead & 0x0F) << 12 | next(1)? << 6 | next(2)?;
                    if c < 0x800 || (0xD800..=0xDFFF).contains(&c) {
                        return None;
                    }
                    (c, 3)
                }
                0xF0..=0xF4 => {
                    let c = (lead & 0x07) << 18 | next(1)? << 12 | next(2)? << 6 | next(3)?;
                    if !(0x10000..=0x10FFFF).contains(&c) {
                        return None;
                    }
                    (c, 4)
                }
                _ => return None,
            };
            i += len;
            c
        };
        high |= c;
        // SAFETY: no sequence gives more units than it has bytes, so `n`
        // stays within `i`, within the capacity reserved.
        unsafe {
            if c < 0x10000 {
                out.add(n).write(c as u16);
                n += 1;
            } else {
                let c = c - 0x10000;
                out.add(n).write(0xD800 | (c >> 10) as u16);
                out.add(n + 1).write(0xDC00 | (c & 0x3FF) as u16);
                n += 2;
            }
        }
    }
    // SAFETY: `n` units written.
    unsafe { units.set_len(n) };
    Some(high > 0xFF)
}

/// Four hex digits at `i`.
fn hex4(src: &[u8], i: usize) -> Result<u32, Stop> {
    let digits = src.get(i..i + 4).ok_or(Stop::Fallback)?;
    digits.iter().try_fold(0u32, |n, &d| Ok((n << 4) | char::from(d).to_digit(16).ok_or(Stop::Fallback)?))
}

/// The atom of a key, as QuickJS's parser makes it (`JS_ValueToAtom` of the
/// string: "7" is the integer atom 7). `JS_NewAtomLen` is only used for
/// ASCII: it looks non-ASCII UTF-8 up as if it were Latin-1.
///
/// # Safety
///
/// `ctx` is a live context.
unsafe fn new_atom(ctx: *mut qjs::JSContext, text: &[u8]) -> qjs::JSAtom {
    // SAFETY: per this function's contract.
    unsafe {
        if text.is_ascii() {
            return qjs::JS_NewAtomLen(ctx, text.as_ptr().cast(), text.len() as _);
        }
        let string = qjs::JS_NewStringLen(ctx, text.as_ptr().cast(), text.len() as _);
        if qjs::JS_IsException(string) {
            return qjs::JS_ATOM_NULL;
        }
        let atom = qjs::JS_ValueToAtom(ctx, string);
        qjs::JS_FreeValue(ctx, string);
        atom
    }
}
