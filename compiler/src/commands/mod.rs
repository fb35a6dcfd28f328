//! The subcommands, and the one place that turns errors into messages and
//! exit statuses.

pub(crate) mod build;
pub(crate) mod cache;
pub(crate) mod engine;
pub(crate) mod inspect;

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
    eprintln!("error: {}", describe(error));
}

/// An error and its causes, `: `-separated, each cause once: an error whose
/// message already ends with its cause's (`reading a.js: No such file or
/// directory`) does not repeat it.
fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.ends_with(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_cause_is_told_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory (os error 2)");
        let error = anyhow::Error::new(kiln::Error::Io { action: "reading", path: "nope.js".into(), source: io });
        assert_eq!(super::describe(&error), "reading nope.js: No such file or directory (os error 2)");
        let wrapped = anyhow::anyhow!("disk full").context("writing out.wasm");
        assert_eq!(super::describe(&wrapped), "writing out.wasm: disk full");
    }
}

/// Picks the exit status for an error.
pub(crate) fn exit_status(error: &anyhow::Error) -> u8 {
    match error.downcast_ref::<kiln::Error>() {
        Some(e) if e.is_javascript_error() => EXIT_JAVASCRIPT,
        _ => EXIT_USAGE,
    }
}
