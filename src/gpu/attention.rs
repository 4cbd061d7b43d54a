//! Launchers for `shaders/attention.wgsl`: masked softmax attention with GQA/MQA head mapping,
//! ALiBi and logit soft-capping: fused (one pass per row, online softmax, no probability
//! matrix), or in two products (probabilities, then values) so dropout can sit between them.
//! Decoding runs the fused forward over a KV cache: `cache_append` writes the new tokens' keys
//! and values into it, and `set_start` moves both to the position after those cached.

use super::context::Binding::{Read, ReadWrite};
use super::context::GpuContext;
use super::kernel::{per_element, Kernel, Launch, View};
use super::shaders::Shader;
pub use crate::contract::ops::AttentionShape;
use crate::model::AttentionPattern;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    batch: u32,
    seq: u32,
    heads: u32,
    kv_heads: u32,
    d_head: u32,
    scale: f32,
    /// Position of the first query: 0, or the positions a KV cache holds when decoding.
    start: u32,
}

fn dims(s: AttentionShape, start: usize) -> Dims {
    Dims {
        batch: s.batch as u32,
        seq: s.seq as u32,
        heads: s.n_heads as u32,
        kv_heads: s.n_kv_heads as u32,
        d_head: s.d_head as u32,
        scale: (1.0 / (s.d_head as f64).sqrt()) as f32,
        start: start as u32,
    }
}

/// One invocation per row or element in workgroups of this many.
const WG: u32 = 64;

/// SOFTCAP of the shader: the cap, or 0 for none.
fn softcap_constant(softcap: Option<f32>) -> (&'static str, f64) {
    ("SOFTCAP", softcap.map_or(0.0, f64::from))
}

/// PATTERN, WINDOW, STRIDE, ALIBI and SOFTCAP of the shader.
fn logit_constants(logits: Logits) -> [(&'static str, f64); 5] {
    let Logits {
        pattern,
        alibi,
        softcap,
    } = logits;
    let (code, window, stride) = match pattern {
        AttentionPattern::Full => (0, 1, 1),
        AttentionPattern::SlidingWindow { window } => (1, window, 1),
        AttentionPattern::Sparse { local, stride } => (2, local, stride),
    };
    [
        ("PATTERN", f64::from(code)),
        ("WINDOW", window as f64),
        ("STRIDE", stride as f64),
        ("ALIBI", f64::from(u8::from(alibi))),
        softcap_constant(softcap),
    ]
}

/// What shapes the logits: the mask, ALiBi and the soft-cap.
#[derive(Clone, Copy, Debug)]
pub struct Logits {
    pub pattern: AttentionPattern,
    pub alibi: bool,
    pub softcap: Option<f32>,
}

/// Binds one attention entry point over `n` rows or elements.
fn launch(
    ctx: &GpuContext,
    label: &str,
    entry: &'static str,
    s: AttentionShape,
    constants: &[(&'static str, f64)],
    storage: &[(super::Binding, View)],
    n: usize,
) -> Kernel {
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::Attention,
            entry,
            constants,
            uniform: bytemuck::bytes_of(&dims(s, 0)),
            storage,
            workgroups: per_element(n, WG),
        },
    )
}

/// Fused forward: `out` `[B, T, H, D]` = softmax(logits) `v` without the probabilities;
/// `lse` `[B, H, T]` gets each row's logsumexp (for the backward), `row_max` as `probs_forward`.
/// Decoding (`B` 1, `set_start`): `k` and `v` are a layer's cache, `[context_len, K, D]`.
#[allow(clippy::too_many_arguments)] // one per tensor the kernel binds
pub fn fused_forward(
    ctx: &GpuContext,
    label: &str,
    s: AttentionShape,
    logits: Logits,
    q: View,
    k: View,
    v: View,
    out: View,
    lse: View,
    row_max: View,
) -> Kernel {
    let storage = [
        (Read, q),
        (Read, k),
        (Read, v),
        (ReadWrite, out),
        (ReadWrite, lse),
        (ReadWrite, row_max),
    ];
    let rows = s.batch * s.n_heads * s.seq;
    let constants = logit_constants(logits);
    let entry = "attention_fused_forward";
    launch(ctx, label, entry, s, &constants, &storage, rows)
}

/// The keys and values `[T, K, D]` of the `T = s.seq` new tokens (`s.batch` 1) into the rows
/// from the kernel's start on (`set_start`) of one layer's cache, `k_cache` and `v_cache`
/// `[context_len, K, D]`.
pub fn cache_append(
    ctx: &GpuContext,
    label: &str,
    s: AttentionShape,
    k: View,
    v: View,
    k_cache: View,
    v_cache: View,
) -> Kernel {
    let storage = [
        (Read, k),
        (Read, v),
        (ReadWrite, k_cache),
        (ReadWrite, v_cache),
    ];
    let n = s.seq * s.n_kv_heads * s.d_head;
    launch(ctx, label, "attention_cache_append", s, &[], &storage, n)
}

/// Places a `cache_append` or a decode's `fused_forward` (`s` as built) at `start`: its new
/// tokens at positions `start..`, after the `start` positions the cache holds.
pub fn set_start(ctx: &GpuContext, kernel: &Kernel, s: AttentionShape, start: usize) {
    kernel.set_uniform(ctx, bytemuck::bytes_of(&dims(s, start)));
}

/// The tensors the fused backward reads: the forward's inputs, its output and logsumexp, and
/// the output's gradient.
#[derive(Clone, Copy)]
pub struct FusedSaved<'a> {
    pub q: View<'a>,
    pub k: View<'a>,
    pub v: View<'a>,
    pub out: View<'a>,
    pub lse: View<'a>,
    pub dout: View<'a>,
}

/// Fused backward, two launches: `dq` (=) with each row's `delta = dout . out` `[B, H, T]`
/// written on the way, then `dk` and `dv` (=) from it; probabilities recomputed from `lse`.
pub fn fused_backward(
    ctx: &GpuContext,
    label: &str,
    s: AttentionShape,
    logits: Logits,
    saved: FusedSaved,
    delta: View,
    [dq, dk, dv]: [View; 3],
) -> [Kernel; 2] {
    let constants = logit_constants(logits);
    let FusedSaved {
        q,
        k,
        v,
        out,
        lse,
        dout,
    } = saved;
    let rows = s.batch * s.n_heads * s.seq;
    let storage = [
        (Read, q),
        (Read, k),
        (Read, v),
        (Read, dout),
        (Read, lse),
        (Read, out),
        (ReadWrite, delta),
        (ReadWrite, dq),
    ];
    let entry = "attention_fused_backward_q";
    let dq_kernel = launch(
        ctx,
        &format!("{label}.dq"),
        entry,
        s,
        &constants,
        &storage,
        rows,
    );
    let kv_rows = s.batch * s.seq * s.n_kv_heads;
    let storage = [
        (Read, q),
        (Read, k),
        (Read, v),
        (Read, dout),
        (Read, lse),
        (Read, delta),
        (ReadWrite, dk),
        (ReadWrite, dv),
    ];
    let entry = "attention_fused_backward_kv";
    let label = format!("{label}.dkv");
    let dkv_kernel = launch(ctx, &label, entry, s, &constants, &storage, kv_rows);
    [dq_kernel, dkv_kernel]
}

/// `probs` `[B, H, T, T]` from `q` `[B, T, H, D]` and `k` `[B, T, K, D]`; `row_max` `[B, H, T]`
/// gets each row's largest visible logit `q.k / sqrt(D)`, soft-capped by the logits' cap if
/// they have one (before ALiBi).
#[allow(clippy::too_many_arguments)] // one per tensor the kernel binds, and the logits
pub fn probs_forward(
    ctx: &GpuContext,
    label: &str,
    s: AttentionShape,
    logits: Logits,
    q: View,
    k: View,
    probs: View,
    row_max: View,
) -> Kernel {
    let storage = [
        (Read, q),
        (Read, k),
        (ReadWrite, probs),
        (ReadWrite, row_max),
    ];
    let rows = s.batch * s.n_heads * s.seq;
    let constants = logit_constants(logits);
    launch(
        ctx,
        label,
        "attention_probs_forward",
        s,
        &constants,
        &storage,
        rows,
    )
}

/// `out` `[B, T, H, D]` = `weights x` over the visible keys, `x` `[B, T, K, D]` read at each
/// query head's KV head: the values (`weights` the probabilities, `x` v) and the backward's
/// `dq` (`weights` ds, `x` k) (=).
pub fn weighted_sum(
    ctx: &GpuContext,
    label: &str,
    s: AttentionShape,
    weights: View,
    x: View,
    out: View,
) -> Kernel {
    let storage = [(Read, weights), (Read, x), (ReadWrite, out)];
    let n = s.batch * s.seq * s.n_heads * s.d_head;
    launch(ctx, label, "attention_weighted_sum", s, &[], &storage, n)
}

/// `out` `[B, T, K, D]` = `weights^T y`, `y` `[B, T, H, D]`, summed over the query heads of
/// each KV head: `dv` (`weights` the probabilities, `y` dout) and `dk` (`weights` ds, `y` q) (=).
pub fn weighted_sum_transposed(
    ctx: &GpuContext,
    label: &str,
    s: AttentionShape,
    weights: View,
    y: View,
    out: View,
) -> Kernel {
    let storage = [(Read, weights), (Read, y), (ReadWrite, out)];
    let n = s.batch * s.seq * s.n_kv_heads * s.d_head;
    let entry = "attention_weighted_sum_transposed";
    launch(ctx, label, entry, s, &[], &storage, n)
}

/// `dweights = dout v^T` (=, zero above the diagonal).
pub fn values_backward_weights(
    ctx: &GpuContext,
    label: &str,
    s: AttentionShape,
    dout: View,
    v: View,
    dweights: View,
) -> Kernel {
    let storage = [(Read, dout), (Read, v), (ReadWrite, dweights)];
    let n = s.batch * s.n_heads * s.seq * s.seq;
    let entry = "attention_values_backward_weights";
    launch(ctx, label, entry, s, &[], &storage, n)
}

/// In place on `grad` `[B, H, T, T]`: `dprobs` becomes `ds = p (dp - p.dp) cap' / sqrt(D)`,
/// `cap'` the slope of the soft-cap at the logit recomputed from `q` and `k` (1 without a cap).
#[allow(clippy::too_many_arguments)] // one per tensor the kernel binds, and the cap
pub fn softmax_backward(
    ctx: &GpuContext,
    label: &str,
    s: AttentionShape,
    softcap: Option<f32>,
    probs: View,
    grad: View,
    q: View,
    k: View,
) -> Kernel {
    // q and k at 1 and 2, where every logit kernel binds them.
    let storage = [(Read, q), (Read, k), (Read, probs), (ReadWrite, grad)];
    let rows = s.batch * s.n_heads * s.seq;
    launch(
        ctx,
        label,
        "attention_softmax_backward",
        s,
        &[softcap_constant(softcap)],
        &storage,
        rows,
    )
}
