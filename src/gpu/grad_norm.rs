//! Launchers for `shaders/grad_norm.wgsl`: root sums of squares in two passes (partial sums,
//! then their sum) over a table of ranges, so that one pair of dispatches gives the gradient
//! norm and every layer's; clipping against it without a read-back; the same passes and a
//! maximum give the per-step activation statistics.

use super::context::Binding::{Read, ReadWrite};
use super::context::GpuContext;
use super::kernel::{per_element, Kernel, Launch, View};
use super::shaders::Shader;

/// Workgroups of the first pass per range at most, and floats of partial sums per range.
pub const PARTIALS: usize = 256;

/// Invocations per workgroup.
const WORKGROUP: usize = 256;

/// Squares each invocation of the first pass sums (more where a range exceeds `PARTIALS`
/// workgroups of this many each); fewer workgroups for short ranges, since a software adapter
/// pays for every invocation and barrier.
pub const SQUARES_PER_INVOCATION: usize = 8;

/// One root sum of squares: `len` floats from `start` of the input it is taken of, into
/// `out[out_index]`.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SumRange {
    start: u32,
    len: u32,
    out_index: u32,
    _pad: u32,
}

impl SumRange {
    pub fn new(start: usize, len: usize, out_index: usize) -> Self {
        Self {
            start: start as u32,
            len: len as u32,
            out_index: out_index as u32,
            _pad: 0,
        }
    }
}

/// A table of ranges on the device, with room for their partial sums.
pub struct SumTable {
    ranges: wgpu::Buffer,
    partials: wgpu::Buffer,
    /// Each range's length, which sizes the first pass's grid.
    lens: Vec<usize>,
}

impl SumTable {
    pub fn new(ctx: &GpuContext, label: &str, ranges: &[SumRange]) -> Self {
        Self {
            ranges: ctx.storage_buffer(label, ranges),
            partials: ctx.zeros(&format!("{label}.partials"), ranges.len() * PARTIALS),
            lens: ranges.iter().map(|range| range.len as usize).collect(),
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    n: u32,
    max_norm: f32,
    index: u32,
    _pad: u32,
}

impl Dims {
    fn new(n: usize, max_norm: f32, index: usize) -> Self {
        Self {
            n: n as u32,
            max_norm,
            index: index as u32,
            _pad: 0,
        }
    }
}

fn launch(
    ctx: &GpuContext,
    label: &str,
    entry: &'static str,
    dims: Dims,
    storage: &[(super::Binding, View)],
    workgroups: [u32; 3],
) -> Kernel {
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::GradNorm,
            entry,
            constants: &[],
            uniform: bytemuck::bytes_of(&dims),
            storage,
            workgroups,
        },
    )
}

/// First pass over the table's ranges `ranges` (all taken of `input`): their partial sums of
/// squares.
pub fn sum_squares_partial(
    ctx: &GpuContext,
    label: &str,
    table: &SumTable,
    ranges: std::ops::Range<usize>,
    input: View,
) -> Kernel {
    let longest = (table.lens.get(ranges.clone()))
        .unwrap_or_else(|| panic!("{label}: ranges past the table"))
        .iter()
        .max()
        .copied()
        .unwrap_or(0);
    let partials = (longest.div_ceil(WORKGROUP * SQUARES_PER_INVOCATION)).clamp(1, PARTIALS);
    let dims = Dims::new(0, 0.0, ranges.start);
    let storage = [
        (Read, (&table.ranges).into()),
        (Read, input),
        (ReadWrite, (&table.partials).into()),
    ];
    let workgroups = [partials as u32, ranges.len() as u32, 1];
    launch(
        ctx,
        label,
        "sum_squares_partial",
        dims,
        &storage,
        workgroups,
    )
}

/// Second pass over every range of the table: `out[out_index]` = the square root of the sum
/// of its partials.
pub fn sum_squares_final(ctx: &GpuContext, label: &str, table: &SumTable, out: View) -> Kernel {
    let dims = Dims::new(0, 0.0, 0);
    let storage = [
        (Read, (&table.ranges).into()),
        (Read, (&table.partials).into()),
        (ReadWrite, out),
    ];
    let workgroups = [table.lens.len() as u32, 1, 1];
    launch(ctx, label, "sum_squares_final", dims, &storage, workgroups)
}

/// `out[index]` = the maximum of `input` `[n]` (at least `f32::MIN`).
pub fn max_all(
    ctx: &GpuContext,
    label: &str,
    n: usize,
    input: View,
    out: View,
    index: usize,
) -> Kernel {
    let dims = Dims::new(n, 0.0, index);
    let storage = [(Read, input), (ReadWrite, out)];
    launch(ctx, label, "max_all", dims, &storage, [1, 1, 1])
}

/// Rewrites the clipping norm of a `clip_gradients` kernel over `n` floats (a per-step input).
pub fn set_max_norm(ctx: &GpuContext, kernel: &Kernel, n: usize, max_norm: f32) {
    kernel.set_uniform(ctx, bytemuck::bytes_of(&Dims::new(n, max_norm, 0)));
}

/// `grads *= max_norm / norm[0]` when `0 < max_norm < norm[0]` (0 turns clipping off).
pub fn clip_gradients(
    ctx: &GpuContext,
    label: &str,
    n: usize,
    max_norm: f32,
    norm: View,
    grads: View,
) -> Kernel {
    let dims = Dims::new(n, max_norm, 0);
    let storage = [(Read, norm), (ReadWrite, grads)];
    launch(
        ctx,
        label,
        "clip_gradients",
        dims,
        &storage,
        per_element(n, 256),
    )
}
