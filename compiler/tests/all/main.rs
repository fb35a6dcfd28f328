//! Kiln's integration tests: one binary, one module per area.

mod cli;
mod differential;
mod examples;
mod function_mode;
mod fuzz_corpus;
mod hostile;
mod module_shape;
mod test262;
mod util;
