//! The reference engine: plain, readable Rust loops, the oracle for the GPU kernels.

pub mod matmul;
