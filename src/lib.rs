//! archlab: train a small decoder-only transformer on your own GPU, live, while flipping the
//! architecture choices of a lecture. See ARCHITECTURE.md for the layers and how data flows.

pub mod cpu;
pub mod gpu;

#[cfg(target_arch = "wasm32")]
mod ui;
