//! Launchers for `shaders/sum.wgsl`: the residual add, gradient accumulation and column sums
//! (bias gradients).

use super::context::Binding::{Read, ReadWrite};
use super::context::GpuContext;
use super::kernel::{grid, per_element, Kernel, Launch, View};
use super::shaders::Shader;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    n: u32,
    rows: u32,
    cols: u32,
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
            shader: Shader::Sum,
            entry,
            constants: &[],
            uniform: bytemuck::bytes_of(&dims),
            storage,
            workgroups,
        },
    )
}

fn flat(n: usize) -> Dims {
    Dims {
        n: n as u32,
        rows: 0,
        cols: 0,
    }
}

/// `out = a + b` over `n` elements.
pub fn add(ctx: &GpuContext, label: &str, n: usize, a: View, b: View, out: View) -> Kernel {
    let storage = [(Read, a), (Read, b), (ReadWrite, out)];
    launch(ctx, label, "add", flat(n), &storage, per_element(n, 256))
}

/// `dst += src` over `n` elements.
pub fn add_into(ctx: &GpuContext, label: &str, n: usize, src: View, dst: View) -> Kernel {
    let storage = [(Read, src), (ReadWrite, dst)];
    launch(
        ctx,
        label,
        "add_into",
        flat(n),
        &storage,
        per_element(n, 256),
    )
}

/// `dst[c] += sum_r src[r, c]`, `src` `[rows, cols]`.
pub fn column_sum(
    ctx: &GpuContext,
    label: &str,
    rows: usize,
    cols: usize,
    src: View,
    dst: View,
) -> Kernel {
    let dims = Dims {
        n: (rows * cols) as u32,
        rows: rows as u32,
        cols: cols as u32,
    };
    let storage = [(Read, src), (ReadWrite, dst)];
    launch(ctx, label, "column_sum", dims, &storage, grid(cols as u32))
}
