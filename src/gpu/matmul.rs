//! Launcher for `shaders/matmul.wgsl`: C[M, N] (+)= op(A) · op(B) (+ bias).

use super::context::{Binding, GpuContext};
use super::shaders::Shader;
use crate::cpu::matmul::MatmulSpec;

/// Output tile edge of one workgroup (see the shader's layout comment).
const TILE: u32 = 64;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    m: u32,
    n: u32,
    k: u32,
    /// Uniform blocks are 16-byte aligned.
    _pad: u32,
}

const BINDINGS: [Binding; 5] = [
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
];

/// One matmul bound to its buffers, built once and recorded into any number of passes.
pub struct Matmul {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    workgroups: (u32, u32),
}

impl Matmul {
    /// Binds `a`, `b`, the optional `bias` [N] and the output `c` [M, N].
    pub fn new(
        ctx: &GpuContext,
        label: &str,
        spec: MatmulSpec,
        a: &wgpu::Buffer,
        b: &wgpu::Buffer,
        bias: Option<&wgpu::Buffer>,
        c: &wgpu::Buffer,
    ) -> Self {
        let flag = |on: bool| if on { 1.0 } else { 0.0 };
        let pipeline = ctx.pipeline(
            Shader::Matmul,
            "matmul",
            &BINDINGS,
            &[
                ("TRANS_A", flag(spec.trans_a)),
                ("TRANS_B", flag(spec.trans_b)),
                ("HAS_BIAS", flag(bias.is_some())),
                ("ACCUMULATE", flag(spec.accumulate)),
            ],
        );
        let dims = ctx.uniform_buffer(
            &format!("{label}.dims"),
            &Dims {
                m: spec.m as u32,
                n: spec.n as u32,
                k: spec.k as u32,
                _pad: 0,
            },
        );
        // Without a bias the shader never reads binding 3; A stands in to fill the slot.
        let bind_group = ctx.bind_group(label, &BINDINGS, &[&dims, a, b, bias.unwrap_or(a), c]);
        Self {
            pipeline,
            bind_group,
            workgroups: (
                (spec.n as u32).div_ceil(TILE),
                (spec.m as u32).div_ceil(TILE),
            ),
        }
    }

    /// Records the product into `pass`.
    pub fn encode(&self, pass: &mut wgpu::ComputePass) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(self.workgroups.0, self.workgroups.1, 1);
    }
}

/// Runs one product on fresh buffers and reads C back: for checks and benchmarks, not for
/// training (which binds its own buffers once).
pub async fn matmul_once(
    ctx: &GpuContext,
    spec: MatmulSpec,
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    c_initial: &[f32],
) -> Result<Vec<f32>, super::GpuError> {
    let a_buf = ctx.storage_buffer("check.a", a);
    let b_buf = ctx.storage_buffer("check.b", b);
    let bias_buf = bias.map(|bias| ctx.storage_buffer("check.bias", bias));
    let c_buf = ctx.storage_buffer("check.c", c_initial);
    let matmul = Matmul::new(
        ctx,
        "check.matmul",
        spec,
        &a_buf,
        &b_buf,
        bias_buf.as_ref(),
        &c_buf,
    );
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("check.matmul"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("check.matmul"),
            timestamp_writes: None,
        });
        matmul.encode(&mut pass);
    }
    ctx.queue.submit([encoder.finish()]);
    ctx.read_f32(&c_buf).await
}
