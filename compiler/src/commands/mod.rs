//! The subcommands, and the one place that turns errors into messages and
//! exit statuses.

pub(crate) mod build;
mod cache;

pub(crate) use cache::module_cache;
pub(crate) mod run;

/// Exit status for a usage or I/O error (clap uses 2 for usage errors too).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit status when the user's JavaScript failed.
pub(crate) const EXIT_JAVASCRIPT: u8 = 1;

/// Prints an error and its causes to stderr, prefixed like every Kiln
/// diagnostic.
pub(crate) fn report(error: &anyhow::Error) {
    if let Some(kiln::Error::JsSyntax { frame, name, message, location }) = error.downcast_ref::<kiln::Error>() {
        if !frame.is_empty() {
            eprint!("{frame}");
            return;
        }
        match location {
            Some(loc) => eprintln!("error: {name}: {message}\n  --> {}:{}:{}", loc.file, loc.line, loc.column),
            None => eprintln!("error: {name}: {message}"),
        }
        return;
    }
    if let Some(kiln::Error::Import { frame, message, location }) = error.downcast_ref::<kiln::Error>() {
        match (frame.is_empty(), location) {
            (false, _) => eprint!("{frame}"),
            (true, Some(loc)) => eprintln!("error: {message}\n  --> {}:{}:{}", loc.file, loc.line, loc.column),
            (true, None) => eprintln!("error: {message}"),
        }
        return;
    }
    if let Some(e @ kiln::Error::JsException { stack, .. }) = error.downcast_ref::<kiln::Error>() {
        eprintln!("error: the program failed while it was evaluated at build time:\n{e}");
        for line in stack.lines() {
            eprintln!("{line}");
        }
        return;
    }
    eprintln!("error: {error:#}");
}

/// Picks the exit status for an error.
pub(crate) fn exit_status(error: &anyhow::Error) -> u8 {
    match error.downcast_ref::<kiln::Error>() {
        Some(e) if e.is_javascript_error() => EXIT_JAVASCRIPT,
        _ => EXIT_USAGE,
    }
}
