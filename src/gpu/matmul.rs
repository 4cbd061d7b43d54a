//! Launcher for `shaders/matmul.wgsl`: C[M, N] (+)= op(A) · op(B) (+ bias).

use super::context::Binding::{Read, ReadWrite};
use super::context::GpuContext;
use super::kernel::{submit, Kernel, Launch, View};
use super::shaders::Shader;
use crate::contract::matmul::MatmulSpec;

/// The shader's two entry points (see its layout comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulTile {
    /// `matmul`: 256 invocations, a 128×128 tile of C.
    Large,
    /// `matmul_small`: 64 invocations, a 64×64 tile of C.
    Small,
}

impl MatmulTile {
    /// The tile for an output of `m`×`n`: the large one where it pads C no more than the small
    /// one and still makes at least 16 workgroups, else the small one (a d_model of 64 would
    /// waste half of each 128-wide tile, and few workgroups leave a GPU idle).
    pub fn for_shape(m: usize, n: usize) -> MatmulTile {
        let padded = |tile: usize| m.div_ceil(tile) * tile * n.div_ceil(tile) * tile;
        let groups = m.div_ceil(128) * n.div_ceil(128);
        if padded(128) <= padded(64) && groups >= 16 {
            MatmulTile::Large
        } else {
            MatmulTile::Small
        }
    }

    fn entry(self) -> &'static str {
        match self {
            MatmulTile::Large => "matmul",
            MatmulTile::Small => "matmul_small",
        }
    }

    /// The output tile edge of one workgroup.
    pub fn edge(self) -> u32 {
        match self {
            MatmulTile::Large => 128,
            MatmulTile::Small => 64,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    m: u32,
    n: u32,
    k: u32,
}

/// Binds `a`, `b`, the optional `bias` [N] and the output `c` [M, N] to one matmul kernel, with
/// the tile `MatmulTile::for_shape` picks.
pub fn matmul(
    ctx: &GpuContext,
    label: &str,
    spec: MatmulSpec,
    a: View,
    b: View,
    bias: Option<View>,
    c: View,
) -> Kernel {
    let tile = MatmulTile::for_shape(spec.m, spec.n);
    matmul_tiled(ctx, label, spec, [a, b], bias, c, tile)
}

/// `matmul` with a chosen tile (`[a, b]`: the two factors), so checks can run both entry
/// points on any shape.
pub fn matmul_tiled(
    ctx: &GpuContext,
    label: &str,
    spec: MatmulSpec,
    [a, b]: [View; 2],
    bias: Option<View>,
    c: View,
    tile: MatmulTile,
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
            entry: tile.entry(),
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
                dims.n.div_ceil(tile.edge()),
                dims.m.div_ceil(tile.edge()),
                1,
            ],
        },
    )
}

/// Runs one product on fresh buffers and reads C back: for checks and benchmarks, not for
/// training (which binds its own buffers once). `tile`: the entry point, `None` for the one
/// training would use. C is bound with a guard of N + 64 floats after it, inside the binding (as
/// a view to the end of a larger buffer would be), so a store past C's last row is not simply
/// dropped by bounds checks: the second value is how many guard floats changed.
pub async fn matmul_once(
    ctx: &GpuContext,
    spec: MatmulSpec,
    tile: Option<MatmulTile>,
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    c_initial: &[f32],
) -> Result<(Vec<f32>, usize), super::GpuError> {
    const GUARD: f32 = 12345.0;
    let a_buf = ctx.storage_buffer("check.a", a);
    let b_buf = ctx.storage_buffer("check.b", b);
    let bias_buf = bias.map(|bias| ctx.storage_buffer("check.bias", bias));
    let mut c_guarded = c_initial.to_vec();
    c_guarded.resize(c_initial.len() + spec.n + 64, GUARD);
    let c_buf = ctx.storage_buffer("check.c", &c_guarded);
    let kernel = matmul_tiled(
        ctx,
        "check.matmul",
        spec,
        [(&a_buf).into(), (&b_buf).into()],
        bias_buf.as_ref().map(View::from),
        (&c_buf).into(),
        tile.unwrap_or(MatmulTile::for_shape(spec.m, spec.n)),
    );
    submit(ctx, "check.matmul", &[&kernel]);
    let mut c = ctx.read_f32(&c_buf).await?;
    let outside = c.split_off(c_initial.len());
    let changed = outside.iter().filter(|&&value| value != GUARD).count();
    Ok((c, changed))
}
