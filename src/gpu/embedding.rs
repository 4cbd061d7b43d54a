//! Launchers for `shaders/embedding.wgsl`: token embedding plus a position table (learned, or
//! the constant sinusoidal one), and its backward without atomics.

use super::context::Binding::{Read, ReadWrite};
use super::context::GpuContext;
use super::kernel::{per_element, Kernel, Launch, View};
use super::shaders::Shader;

/// Sizes of an embedding call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbeddingShape {
    /// N = B*T token rows.
    pub rows: usize,
    /// T: row n is at position n % T.
    pub seq: usize,
    /// C.
    pub c: usize,
    /// V.
    pub vocab: usize,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    rows: u32,
    seq: u32,
    c: u32,
    vocab: u32,
}

fn dims(s: EmbeddingShape) -> Dims {
    Dims {
        rows: s.rows as u32,
        seq: s.seq as u32,
        c: s.c as u32,
        vocab: s.vocab as u32,
    }
}

const WG: u32 = 256;

/// `out[n] = scale * tok_emb[tokens[n]] (+ pos[n % T])`: `tokens` `[N]` u32, `tok_emb`
/// `[V, C]`, `pos` `[T, C]`, `out` `[N, C]`.
#[allow(clippy::too_many_arguments)] // one per tensor the kernel binds, and the scale
pub fn embedding_forward(
    ctx: &GpuContext,
    label: &str,
    s: EmbeddingShape,
    scale: f32,
    tokens: View,
    tok_emb: View,
    pos: Option<View>,
    out: View,
) -> Kernel {
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::Embedding,
            entry: "embedding_forward",
            constants: &[
                ("HAS_POS", f64::from(u8::from(pos.is_some()))),
                ("SCALE", f64::from(scale)),
            ],
            uniform: bytemuck::bytes_of(&dims(s)),
            storage: &[
                (Read, tokens),
                (Read, tok_emb),
                (Read, pos.unwrap_or(ctx.placeholder(Read))),
                (ReadWrite, out),
            ],
            workgroups: per_element(s.rows * s.c, WG),
        },
    )
}

/// `dtok[v] += scale * sum of dout[n] over the rows n holding token v` (`dtok` `[V, C]`),
/// except the `padding` token's row.
#[allow(clippy::too_many_arguments)] // one per tensor the kernel binds, the scale and padding
pub fn embedding_backward_tokens(
    ctx: &GpuContext,
    label: &str,
    s: EmbeddingShape,
    scale: f32,
    tokens: View,
    dout: View,
    dtok: View,
    padding: Option<u32>,
) -> Kernel {
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::Embedding,
            entry: "embedding_backward_tokens",
            constants: &[
                ("PADDING", f64::from(padding.unwrap_or(u32::MAX))),
                ("SCALE", f64::from(scale)),
            ],
            uniform: bytemuck::bytes_of(&dims(s)),
            storage: &[(Read, tokens), (Read, dout), (ReadWrite, dtok)],
            workgroups: per_element(s.vocab * s.c, WG),
        },
    )
}

/// `dpos[t] += sum over b of dout[b*T + t]` (`dpos` `[T, C]`, the learned table).
pub fn embedding_backward_positions(
    ctx: &GpuContext,
    label: &str,
    s: EmbeddingShape,
    dout: View,
    dpos: View,
) -> Kernel {
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::Embedding,
            entry: "embedding_backward_positions",
            constants: &[],
            uniform: bytemuck::bytes_of(&dims(s)),
            storage: &[(Read, dout), (ReadWrite, dpos)],
            workgroups: per_element(s.seq * s.c, WG),
        },
    )
}
