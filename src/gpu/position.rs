//! Launchers for `shaders/position.wgsl` (RoPE), and the constant position tables the GPU
//! engine uploads once per plan: RoPE's cos/sin table and the 2017 sinusoidal table, both
//! computed in f64 exactly as the CPU engine computes them, then rounded to f32.

use super::context::Binding::{Read, ReadWrite};
use super::context::GpuContext;
use super::kernel::{per_element, Kernel, Launch, View};
use super::shaders::Shader;
use crate::contract::ops::sinusoid;

/// Sizes of a RoPE call on `[rows, heads, D]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RopeShape {
    /// N = B*T rows; row n is at position n % T.
    pub rows: usize,
    /// T.
    pub seq: usize,
    /// Heads per row (H for queries, K for keys).
    pub heads: usize,
    /// D, even.
    pub d_head: usize,
}

/// Which way RoPE turns: the forward rotation, or its transpose applied to a gradient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    rows: u32,
    seq: u32,
    heads: u32,
    d_head: u32,
}

const WG: u32 = 256;

/// `[T, D/2, 2]`: (cos, sin) of `t * theta^(-2i/D)`, as `cpu::position::rope_forward` turns pair i.
pub fn rope_table(seq: usize, d_head: usize, theta: f64) -> Vec<f32> {
    let half = d_head / 2;
    let mut table = Vec::with_capacity(seq * d_head);
    for t in 0..seq {
        for i in 0..half {
            let angle = t as f64 * theta.powf(-2.0 * i as f64 / d_head as f64);
            table.extend([angle.cos() as f32, angle.sin() as f32]);
        }
    }
    table
}

/// `[T, C]`: the 2017 table (`contract::ops::sinusoid`), which the embedding kernel adds as a
/// position table.
pub fn sinusoidal_table(seq: usize, c: usize) -> Vec<f32> {
    (0..seq)
        .flat_map(|t| (0..c).map(move |i| sinusoid(t, i, c) as f32))
        .collect()
}

/// `out` = `inp` `[rows, heads, D]` rotated by the angles of `table` (`rope_table`).
pub fn rope(
    ctx: &GpuContext,
    label: &str,
    s: RopeShape,
    direction: Direction,
    table: View,
    inp: View,
    out: View,
) -> Kernel {
    let entry = match direction {
        Direction::Forward => "rope_forward",
        Direction::Backward => "rope_backward",
    };
    let dims = Dims {
        rows: s.rows as u32,
        seq: s.seq as u32,
        heads: s.heads as u32,
        d_head: s.d_head as u32,
    };
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::Position,
            entry,
            constants: &[],
            uniform: bytemuck::bytes_of(&dims),
            storage: &[(Read, table), (Read, inp), (ReadWrite, out)],
            workgroups: per_element(s.rows * s.heads * s.d_head / 2, WG),
        },
    )
}
