//! Shared by the integration tests: the GPU context, or a skip that CI turns into a failure.

use archlab::gpu::GpuContext;

/// The GPU context for a test, or `None` to skip it when this machine has no adapter. With
/// `REQUIRE_GPU=1` (set by `cargo xtask test`) a missing adapter fails the test instead, so that
/// CI cannot pass by skipping every GPU test.
pub fn gpu() -> Option<GpuContext> {
    match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => Some(ctx),
        Err(error) if std::env::var("REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("REQUIRE_GPU=1 but {error}; install mesa-vulkan-drivers for lavapipe")
        }
        Err(error) => {
            eprintln!("skipping: {error}");
            None
        }
    }
}
