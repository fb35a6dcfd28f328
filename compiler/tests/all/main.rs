//! Kiln's integration tests: one binary, one module per area.

mod atomics;
mod cli;
mod conformance;
mod differential;
mod examples;
mod fuel;
mod function_mode;
mod fuzz_corpus;
mod hostile;
mod imports;
mod limits;
mod module_shape;
mod projects;
mod sandbox;
mod size;
mod skeleton;
mod streams;
mod test262;
mod util;
