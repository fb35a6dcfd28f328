//! Kiln's integration tests: one binary, one module per area.

mod cli;
mod differential;
mod examples;
mod function_mode;
mod limits;
mod module_shape;
mod sandbox;
mod streams;
mod util;
