//! Kiln's integration tests: one binary, one module per area.

mod cli;
mod examples;
mod module_shape;
mod util;
