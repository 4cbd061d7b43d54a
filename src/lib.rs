//! archlab: train a small decoder-only transformer on your own GPU, live, while flipping the
//! architecture choices of a lecture. See ARCHITECTURE.md for the layers and how data flows.

pub mod charts;
pub mod checkpoint;
pub mod contract;
pub mod cpu;
pub mod gpu;
pub mod lab;
pub mod model;
pub mod train;

#[cfg(target_arch = "wasm32")]
mod ui;
