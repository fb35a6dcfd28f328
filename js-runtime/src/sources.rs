//! The runtime API's JavaScript text, kept in writable memory so that it can
//! be wiped once compiled (see [`crate::wipe_sources`]).

use std::cell::UnsafeCell;

/// A source text that can be zeroed in place.
pub(crate) trait WipeableText: Sync {
    /// The text. Must not be called after [`WipeableText::wipe`].
    fn bytes(&self) -> &[u8];

    /// Zeroes the text.
    ///
    /// # Safety
    ///
    /// No slice returned by [`WipeableText::bytes`] may be alive, and no
    /// other thread may read the text.
    unsafe fn wipe(&self);
}

/// `N` bytes of text in a mutable static.
pub(crate) struct Wipeable<const N: usize>(UnsafeCell<[u8; N]>);

impl<const N: usize> Wipeable<N> {
    pub(crate) const fn new(text: [u8; N]) -> Self {
        Wipeable(UnsafeCell::new(text))
    }
}

// SAFETY: the text is only written by `wipe`, whose contract excludes any
// concurrent reader.
unsafe impl<const N: usize> Sync for Wipeable<N> {}

impl<const N: usize> WipeableText for Wipeable<N> {
    fn bytes(&self) -> &[u8] {
        // SAFETY: no `&mut` to the text exists outside `wipe`.
        unsafe { &*self.0.get() }
    }

    unsafe fn wipe(&self) {
        // SAFETY: forwarded to the caller.
        unsafe { (*self.0.get()).fill(0) }
    }
}

/// `&'static dyn WipeableText` holding the file's bytes.
macro_rules! js_source {
    ($file:literal) => {{
        const TEXT: &[u8] = include_bytes!($file);
        static SOURCE: $crate::sources::Wipeable<{ TEXT.len() }> = $crate::sources::Wipeable::new(*include_bytes!($file));
        &SOURCE as &'static dyn $crate::sources::WipeableText
    }};
}
