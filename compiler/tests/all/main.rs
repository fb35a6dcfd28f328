//! Kiln's integration tests: one binary, one module per area.

mod atomics;
mod cli;
mod conformance;
mod differential;
mod examples;
mod fixtures;
mod fuel;
mod function_mode;
mod fuzz_corpus;
mod hosts;
mod hostile;
mod imports;
mod json_suite;
mod limits;
mod module_shape;
mod npm;
mod positions;
mod projects;
mod sandbox;
mod shopify;
mod shared_code;
mod size;
mod skeleton;
mod streams;
mod test262;
mod util;
