//! Launcher for `shaders/matmul.wgsl`: C[M, N] (+)= op(A) · op(B) (+ bias).

use super::context::Binding::{Read, ReadWrite};
use super::context::GpuContext;
use super::kernel::{submit, Kernel, Launch, View};
use super::shaders::Shader;
use crate::contract::matmul::MatmulSpec;

/// Output tile edge of one workgroup (see the shader's layout comment).
const TILE: u32 = 64;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    m: u32,
    n: u32,
    k: u32,
}

/// Binds `a`, `b`, the optional `bias` [N] and the output `c` [M, N] to one matmul kernel.
pub fn matmul(
    ctx: &GpuContext,
    label: &str,
    spec: MatmulSpec,
    a: View,
    b: View,
    bias: Option<View>,
    c: View,
) -> Kernel {
    let flag = |on: bool| if on { 1.0 } else { 0.0 };
    let dims = Dims {
        m: spec.m as u32,
        n: spec.n as u32,
        k: spec.k as u32,
    };
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::Matmul,
            entry: "matmul",
            constants: &[
                ("TRANS_A", flag(spec.trans_a)),
                ("TRANS_B", flag(spec.trans_b)),
                ("HAS_BIAS", flag(bias.is_some())),
                ("ACCUMULATE", flag(spec.accumulate)),
            ],
            uniform: bytemuck::bytes_of(&dims),
            storage: &[
                (Read, a),
                (Read, b),
                (Read, bias.unwrap_or(ctx.placeholder(Read))),
                (ReadWrite, c),
            ],
            workgroups: [
                (spec.n as u32).div_ceil(TILE),
                (spec.m as u32).div_ceil(TILE),
                1,
            ],
        },
    )
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
    let kernel = matmul(
        ctx,
        "check.matmul",
        spec,
        (&a_buf).into(),
        (&b_buf).into(),
        bias_buf.as_ref().map(View::from),
        (&c_buf).into(),
    );
    submit(ctx, "check.matmul", &[&kernel]);
    ctx.read_f32(&c_buf).await
}
