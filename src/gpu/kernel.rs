//! The one launcher every kernel family shares: a pipeline, a bind group and a dispatch size,
//! built once and recorded into any number of passes ("bind these buffers and dispatch N").

use super::context::{Binding, GpuContext};
use super::shaders::Shader;
use crate::model::layout::TensorSpec;

/// WebGPU's default `maxComputeWorkgroupsPerDimension`.
pub const MAX_WORKGROUPS_PER_DIM: u32 = 65_535;

/// A range of f32s of a buffer, bound to one kernel binding: a whole activation buffer, or one
/// tensor of the flat parameter buffer (whose offsets are 256-byte aligned, as WebGPU's
/// `minStorageBufferOffsetAlignment` requires).
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// The buffer.
    pub buffer: &'a wgpu::Buffer,
    /// First float.
    pub offset: usize,
    /// Number of floats; None to the end of the buffer.
    pub len: Option<usize>,
}

impl<'a> From<&'a wgpu::Buffer> for View<'a> {
    fn from(buffer: &'a wgpu::Buffer) -> Self {
        Self {
            buffer,
            offset: 0,
            len: None,
        }
    }
}

impl<'a> View<'a> {
    /// The floats of `tensor` in a buffer laid out by `ParamLayout` (parameters, gradients,
    /// moments).
    pub fn tensor(buffer: &'a wgpu::Buffer, tensor: &TensorSpec) -> Self {
        Self {
            buffer,
            offset: tensor.offset,
            len: Some(tensor.len()),
        }
    }

    /// The binding wgpu takes.
    pub fn binding(&self) -> wgpu::BufferBinding<'a> {
        let float = std::mem::size_of::<f32>() as u64;
        wgpu::BufferBinding {
            buffer: self.buffer,
            offset: self.offset as u64 * float,
            size: self
                .len
                .map(|len| wgpu::BufferSize::new(len as u64 * float).expect("a non-empty view")),
        }
    }
}

/// Workgroup counts for `n` workgroups within the per-dimension limit: `[n, 1, 1]`, or a
/// `[65535, ceil(n / 65535), 1]` grid for larger `n`. Shaders flatten it back with
/// `workgroup_id.x + workgroup_id.y * num_workgroups.x` and skip ids past their work.
pub fn grid(n: u32) -> [u32; 3] {
    if n <= MAX_WORKGROUPS_PER_DIM {
        [n.max(1), 1, 1]
    } else {
        [
            MAX_WORKGROUPS_PER_DIM,
            n.div_ceil(MAX_WORKGROUPS_PER_DIM),
            1,
        ]
    }
}

/// What a kernel launch is made of, before it is bound. Every kernel's binding 0 is a small
/// uniform block of sizes and flags; its storage buffers follow in binding order.
pub struct Launch<'a> {
    /// The kernel family.
    pub shader: Shader,
    /// Its entry point.
    pub entry: &'static str,
    /// Override constants of the pipeline.
    pub constants: &'a [(&'static str, f64)],
    /// The uniform block's bytes (`bytemuck::bytes_of` of the shader's struct).
    pub uniform: &'a [u8],
    /// The storage bindings 1, 2, ...: how the kernel uses each, and what is bound there.
    pub storage: &'a [(Binding, View<'a>)],
    /// Workgroup counts (see `grid`).
    pub workgroups: [u32; 3],
}

/// One kernel bound to its buffers, recorded into any number of passes.
pub struct Kernel {
    /// The kernel family, for per-family timings.
    pub family: Shader,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    workgroups: [u32; 3],
    /// Binding 0, rewritable for per-step values (`set_uniform`).
    uniform: wgpu::Buffer,
}

impl Kernel {
    /// Builds (or takes from the cache) the pipeline and binds the uniform block and the
    /// storage views; `label` names the bind group, e.g. `"L3.attn.softmax"`.
    pub fn new(ctx: &GpuContext, label: &str, launch: Launch) -> Self {
        let mut bindings = vec![Binding::Uniform];
        bindings.extend(launch.storage.iter().map(|(binding, _)| *binding));
        let pipeline = ctx.pipeline(launch.shader, launch.entry, &bindings, launch.constants);
        let uniform = ctx.uniform_bytes(&format!("{label}.uniform"), launch.uniform);
        let mut views = vec![View::from(&uniform)];
        views.extend(launch.storage.iter().map(|(_, view)| *view));
        let bind_group = ctx.bind_group(label, &bindings, &views);
        Self {
            family: launch.shader,
            pipeline,
            bind_group,
            workgroups: launch.workgroups,
            uniform,
        }
    }

    /// Rewrites the uniform block (same struct as at creation) before the next submit.
    pub fn set_uniform(&self, ctx: &GpuContext, bytes: &[u8]) {
        ctx.queue.write_buffer(&self.uniform, 0, bytes);
    }

    /// Records the dispatch into `pass`.
    pub fn encode(&self, pass: &mut wgpu::ComputePass) {
        let [x, y, z] = self.workgroups;
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(x, y, z);
    }
}

/// Workgroups for one invocation per element of `n` elements, `per_group` per workgroup.
pub fn per_element(n: usize, per_group: u32) -> [u32; 3] {
    grid((n as u32).div_ceil(per_group))
}

/// Records `kernels` in order into one pass of a fresh encoder and submits it: for checks and
/// tests (training records its whole step itself).
pub fn submit(ctx: &GpuContext, label: &str, kernels: &[&Kernel]) {
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(label),
            timestamp_writes: None,
        });
        for kernel in kernels {
            kernel.encode(&mut pass);
        }
    }
    ctx.queue.submit([encoder.finish()]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_stays_within_the_per_dimension_limit() {
        assert_eq!(grid(0), [1, 1, 1], "at least one workgroup");
        assert_eq!(grid(65_535), [65_535, 1, 1]);
        // One past the limit: two rows of 65535, the shader skips the ids past its work.
        assert_eq!(grid(65_536), [65_535, 2, 1]);
        assert_eq!(per_element(256 * 65_535 + 1, 256), [65_535, 2, 1]);
    }
}
