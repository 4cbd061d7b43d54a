//! The integration tests, one module per file, in one test binary: one link instead of one per
//! file (each links wgpu and naga), and the tests of every file share the machine's cores
//! instead of each file's waiting for the last. `cargo test --test integration gpu_attention`
//! runs one file's tests. tests/lab_memory.rs stays a binary of its own: it counts every
//! allocation in its process.

// Native only, as the modules that use it (the GPU context, the command line).
#[cfg(not(target_arch = "wasm32"))]
#[path = "../common/mod.rs"]
mod common;

mod checkpoint;
mod cli;
mod fuzz;
mod gpu_activation;
mod gpu_attention;
mod gpu_device_loss;
mod gpu_dropout;
mod gpu_embedding;
mod gpu_engine;
mod gpu_loss;
mod gpu_matmul;
mod gpu_memory;
mod gpu_norm;
mod gpu_optim;
mod gpu_page;
mod gpu_sum;
mod hf_tokenizer;
mod kv_cache;
mod layers;
mod learning;
mod shaders;
mod trajectory;
