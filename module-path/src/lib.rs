//! How Kiln names an imported file.
//!
//! The compiler collects the module graph and keys each file by this name
//! in the init input; the engine resolves imports at build time to the same
//! names. Both call [`join`], so they cannot disagree.

/// The name of the file `specifier` (a relative path: `./a.js`, `../b.mjs`)
/// names when imported from `importer` (itself such a name): `specifier`
/// appended to `importer`'s directory, `.` dropped and `..` folded where a
/// directory precedes it (a leading `..` is kept).
pub fn join(importer: &str, specifier: &str) -> String {
    let mut parts: Vec<&str> = importer.split('/').collect();
    parts.pop(); // the importer's own file name
    for part in specifier.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn folds_dots_relative_to_the_importer() {
        assert_eq!(join("main.js", "./lib/a.js"), "lib/a.js");
        assert_eq!(join("lib/a.js", "../b.mjs"), "b.mjs");
        assert_eq!(join("lib/a.js", "./c/../d.js"), "lib/d.js");
        assert_eq!(join("main.js", "../up.js"), "../up.js");
    }
}
