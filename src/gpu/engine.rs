//! The GPU engine, llm.c style: parameters, gradients and AdamW moments in four GPU buffers laid
//! out by `ParamLayout`; a **plan** per batch shape (activation buffers, pipelines, bind groups,
//! dispatch sizes) built once; a training step replayed from it as one command encoder and one
//! submit; statistics reduced on the GPU and read back asynchronously.
//!
//! `Builder` mirrors `cpu::model` call for call: `forward` is a list of kernel launches with the
//! toggles as `match` arms, `backward` the same launches in exact reverse. Gradient convention as
//! on the CPU: parameter gradients accumulate (`+=`) into the gradient buffer (cleared at the
//! start of each step); activation gradients are fresh buffers (`=`), or accumulate where the
//! CPU calls `add_into`.
//!
//! The `Engine` trait is synchronous. Natively this engine implements it by waiting for each
//! result. In a browser nothing may wait, so the engine's own async methods are the API there:
//! `submit_step` never waits, `poll_stats` collects finished statistics without waiting, and
//! `finish`, `eval_async` and `read_params` are awaited.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use futures_channel::oneshot;

use super::activation::{activation_backward, activation_forward};
use super::adamw::{adamw_update, decay_mask, AdamWParams};
use super::attention::{self as attn, AttentionShape};
use super::context::take_mapped;
use super::dropout::{dropout_backward, dropout_forward, DropoutKey, DropoutParams};
use super::embedding::{
    embedding_backward_positions, embedding_backward_tokens, embedding_forward, EmbeddingShape,
};
use super::grad_norm::{clip_gradients, grad_norm_final, grad_norm_partial, max_all, PARTIALS};
use super::kernel::{Kernel, View};
use super::loss::{
    cross_entropy_backward, cross_entropy_forward, cross_entropy_reduce, LossShape, STATS_LEN,
};
use super::matmul::matmul;
use super::norm::{norm_backward_input, norm_backward_params, norm_forward, NormShape};
use super::position::{rope, rope_table, sinusoidal_table, Direction, RopeShape};
use super::sum::{add, add_into, column_sum};
use super::{GpuContext, GpuError, PendingRead};
use crate::cpu::matmul::MatmulSpec;
use crate::engine::{LayerNorms, StepStats, ViewStats};
use crate::model::layout::{LinearParams, NormParams};
use crate::model::{
    BlockLayout, ConfigError, ModelConfig, NormType, ParamLayout, Position, QkNormScope,
};
use crate::train::optim::OptimizerState;
use crate::train::schedule::learning_rate;
use crate::train::{Batch, TrainConfig, IGNORE};

/// Dropout site of the embedding; per layer l: `1 + 3l` probabilities, `2 + 3l` the attention
/// branch, `3 + 3l` the MLP branch (as `cpu::model`).
const EMBEDDING_SITE: u32 = 0;

fn attn_probs_site(layer: usize) -> u32 {
    1 + 3 * layer as u32
}

fn attn_branch_site(layer: usize) -> u32 {
    2 + 3 * layer as u32
}

fn mlp_branch_site(layer: usize) -> u32 {
    3 + 3 * layer as u32
}

/// A norm site's output `[rows, dim]` and statistics `[rows, 2]`.
struct NormBufs {
    out: wgpu::Buffer,
    stats: wgpu::Buffer,
}

/// The norm's output, or its input where the site has no norm.
fn site_out(cache: &Option<NormBufs>, inp: &wgpu::Buffer) -> wgpu::Buffer {
    cache.as_ref().map_or(inp, |c| &c.out).clone()
}

/// Activations of one attention sub-layer (shapes as `cpu::model::AttentionActs`).
struct AttentionActs {
    /// `[B, T, H*D]`, `[B, T, K*D]`, `[B, T, K*D]`.
    q_proj: wgpu::Buffer,
    k_proj: wgpu::Buffer,
    v: wgpu::Buffer,
    /// QK-norm over `[B*T*H, D]` and `[B*T*K, D]`.
    q_norm: Option<NormBufs>,
    k_norm: Option<NormBufs>,
    /// After QK-norm and RoPE.
    q: wgpu::Buffer,
    k: wgpu::Buffer,
    /// `[B, H, T, T]`, and the same after attention dropout (the same buffer without it).
    probs: wgpu::Buffer,
    weights: wgpu::Buffer,
    /// Largest raw logit of each row, `[B, H, T]`.
    row_max: wgpu::Buffer,
    /// `[B, T, H*D]` and `[B, T, C]`.
    y: wgpu::Buffer,
    out: wgpu::Buffer,
}

/// Activations of one MLP sub-layer.
struct MlpActs {
    /// `[B*T, F]` each; `gate` for gated activations.
    a: wgpu::Buffer,
    gate: Option<wgpu::Buffer>,
    act: wgpu::Buffer,
    /// `[B*T, C]`.
    out: wgpu::Buffer,
}

/// Activations of one block; field names follow `cpu::model::LayerActs`.
struct LayerActs {
    attn_in: Option<NormBufs>,
    attn: AttentionActs,
    attn_out: Option<NormBufs>,
    attn_added: wgpu::Buffer,
    sum_attn: wgpu::Buffer,
    attn_post: Option<NormBufs>,
    mlp_in: Option<NormBufs>,
    mlp: MlpActs,
    mlp_out: Option<NormBufs>,
    mlp_added: wgpu::Buffer,
    /// Serial only (parallel: `sum_attn` again).
    sum_mlp: wgpu::Buffer,
    mlp_post: Option<NormBufs>,
}

impl LayerActs {
    fn mid(&self) -> wgpu::Buffer {
        site_out(&self.attn_post, &self.sum_attn)
    }

    fn output(&self, block: BlockLayout) -> wgpu::Buffer {
        match block {
            BlockLayout::Serial => site_out(&self.mlp_post, &self.sum_mlp),
            BlockLayout::Parallel => self.mid(),
        }
    }
}

/// A dropout kernel whose uniform block is rewritten every run (the step, or p = 0 to evaluate).
struct DropoutSite {
    /// Index in `Plan::kernels`.
    kernel: usize,
    n: usize,
    p: f32,
    site: u32,
}

/// Records the launches of one plan, mirroring `cpu::model`.
struct Builder<'a> {
    ctx: &'a GpuContext,
    config: &'a ModelConfig,
    layout: &'a ParamLayout,
    params: &'a wgpu::Buffer,
    grads: &'a wgpu::Buffer,
    /// B*T.
    rows: usize,
    shape: AttentionShape,
    /// RoPE's cos/sin table `[T, D/2, 2]`.
    rope_table: Option<wgpu::Buffer>,
    kernels: Vec<Kernel>,
    dropouts: Vec<DropoutSite>,
}

impl<'a> Builder<'a> {
    fn buffer(&self, label: &str, len: usize) -> wgpu::Buffer {
        self.ctx.zeros(label, len)
    }

    /// The per-step views of the forward, reduced on the GPU so that a step's statistics stay
    /// a few floats: `[4 L]` as `Plan::view_stats` describes.
    fn view_stats(&mut self, layers: &[LayerActs]) -> wgpu::Buffer {
        let n_layers = layers.len();
        let stats = self.buffer("view stats", 4 * n_layers);
        let partials = self.buffer("view stats partials", PARTIALS);
        let (stream_len, rows_of_logits) = (
            self.rows * self.config.d_model,
            self.shape.batch * self.shape.n_heads * self.shape.seq,
        );
        for (l, acts) in layers.iter().enumerate() {
            let streams = [
                acts.output(self.config.block),
                acts.attn_added.clone(),
                acts.mlp_added.clone(),
            ];
            for (i, stream) in streams.iter().enumerate() {
                let label = format!("layer{l}.view_stats.{i}");
                self.kernels.extend([
                    grad_norm_partial(
                        self.ctx,
                        &label,
                        stream_len,
                        stream.into(),
                        (&partials).into(),
                    ),
                    grad_norm_final(
                        self.ctx,
                        &label,
                        (&partials).into(),
                        (&stats).into(),
                        3 * l + i,
                    ),
                ]);
            }
            self.kernels.push(max_all(
                self.ctx,
                &format!("layer{l}.view_stats.max_logit"),
                rows_of_logits,
                (&acts.attn.row_max).into(),
                (&stats).into(),
                3 * n_layers + l,
            ));
        }
        stats
    }

    fn param(&self, index: usize) -> View<'a> {
        View::tensor(self.params, &self.layout.tensors[index])
    }

    fn grad(&self, index: usize) -> View<'a> {
        View::tensor(self.grads, &self.layout.tensors[index])
    }

    fn matrix_shape(&self, p: LinearParams) -> (usize, usize) {
        let [n_out, n_in] = self.layout.tensors[p.weight].shape[..] else {
            unreachable!("a matrix")
        };
        (n_out, n_in)
    }

    /// `inp` `[rows, in]` through a linear layer: `out = inp W^T + b`, `[rows, out]`.
    fn linear(&mut self, label: &str, p: LinearParams, inp: &wgpu::Buffer) -> wgpu::Buffer {
        let (n_out, n_in) = self.matrix_shape(p);
        let out = self.buffer(label, self.rows * n_out);
        let spec = MatmulSpec {
            m: self.rows,
            n: n_out,
            k: n_in,
            trans_a: false,
            trans_b: true,
            accumulate: false,
        };
        let bias = p.bias.map(|b| self.param(b));
        let kernel = matmul(
            self.ctx,
            label,
            spec,
            inp.into(),
            self.param(p.weight),
            bias,
            (&out).into(),
        );
        self.kernels.push(kernel);
        out
    }

    /// A norm of type `kind` over `[rows, dim]` when the site exists.
    fn norm(
        &mut self,
        label: &str,
        kind: NormType,
        site: Option<NormParams>,
        inp: &wgpu::Buffer,
        rows: usize,
        dim: usize,
    ) -> Option<NormBufs> {
        let p = site?;
        let cache = NormBufs {
            out: self.buffer(label, rows * dim),
            stats: self.buffer(&format!("{label}.stats"), rows * 2),
        };
        let s = NormShape {
            rows,
            dim,
            eps: self.config.norm_eps,
        };
        let kernel = norm_forward(
            self.ctx,
            label,
            kind,
            s,
            inp.into(),
            self.param(p.weight),
            p.bias.map(|b| self.param(b)),
            (&cache.out).into(),
            (&cache.stats).into(),
        );
        self.kernels.push(kernel);
        Some(cache)
    }

    /// A norm of the residual stream `[B*T, C]`, of the model's norm type, when the site exists.
    fn stream_norm(
        &mut self,
        label: &str,
        site: Option<NormParams>,
        inp: &wgpu::Buffer,
    ) -> Option<NormBufs> {
        let (kind, rows, c) = (self.config.norm, self.rows, self.config.d_model);
        self.norm(label, kind, site, inp, rows, c)
    }

    /// QK-norm's (rows, width) over a projection of `heads` heads: one row per head of D
    /// values, or one row per token over the whole projection.
    fn qk_norm_rows(&self, heads: usize) -> (usize, usize) {
        let d = self.shape.d_head;
        match self.config.qk_norm_scope {
            QkNormScope::Head => (self.rows * heads, d),
            QkNormScope::Projection => (self.rows, heads * d),
        }
    }

    /// `x` after dropout with probability `p` at `site`: a new buffer, or `x` itself when the
    /// config never drops here. The same call on a gradient is its backward.
    fn dropout(
        &mut self,
        label: &str,
        x: &wgpu::Buffer,
        n: usize,
        p: f32,
        site: u32,
    ) -> wgpu::Buffer {
        if p == 0.0 {
            return x.clone();
        }
        let out = self.buffer(label, n);
        let params = DropoutParams::new(
            n,
            p,
            DropoutKey {
                seed: 0,
                step: 0,
                site,
            },
        );
        let kernel = dropout_forward(self.ctx, label, params, x.into(), (&out).into());
        self.push_dropout(kernel, n, p, site);
        out
    }

    /// Dropout's backward in place on `grad`.
    fn dropout_in_place(&mut self, label: &str, grad: &wgpu::Buffer, n: usize, p: f32, site: u32) {
        if p == 0.0 {
            return;
        }
        let params = DropoutParams::new(
            n,
            p,
            DropoutKey {
                seed: 0,
                step: 0,
                site,
            },
        );
        let kernel = dropout_backward(self.ctx, label, params, grad.into());
        self.push_dropout(kernel, n, p, site);
    }

    fn push_dropout(&mut self, kernel: Kernel, n: usize, p: f32, site: u32) {
        self.dropouts.push(DropoutSite {
            kernel: self.kernels.len(),
            n,
            p,
            site,
        });
        self.kernels.push(kernel);
    }

    /// RoPE of `inp` `[rows, heads, D]`, out of place.
    fn rope(
        &mut self,
        label: &str,
        inp: &wgpu::Buffer,
        heads: usize,
        direction: Direction,
    ) -> wgpu::Buffer {
        let d = self.shape.d_head;
        let out = self.buffer(label, self.rows * heads * d);
        let s = RopeShape {
            rows: self.rows,
            seq: self.shape.seq,
            heads,
            d_head: d,
        };
        let table = self.rope_table.as_ref().expect("a RoPE table with RoPE");
        let kernel = rope(
            self.ctx,
            label,
            s,
            direction,
            table.into(),
            inp.into(),
            (&out).into(),
        );
        self.kernels.push(kernel);
        out
    }

    fn attention(&mut self, l: usize, h: &wgpu::Buffer) -> AttentionActs {
        let c = self.config;
        let p = self.layout.layers[l].attn;
        let s = self.shape;
        let name = format!("L{l}.attn");
        let q_proj = self.linear(&format!("{name}.wq"), p.wq, h);
        let k_proj = self.linear(&format!("{name}.wk"), p.wk, h);
        let v = self.linear(&format!("{name}.wv"), p.wv, h);
        let qk = c.qk_norm_type();
        let (q_rows, q_dim) = self.qk_norm_rows(s.n_heads);
        let (k_rows, k_dim) = self.qk_norm_rows(s.n_kv_heads);
        let q_norm = self.norm(
            &format!("{name}.q_norm"),
            qk,
            p.q_norm,
            &q_proj,
            q_rows,
            q_dim,
        );
        let k_norm = self.norm(
            &format!("{name}.k_norm"),
            qk,
            p.k_norm,
            &k_proj,
            k_rows,
            k_dim,
        );
        let (q, k) = (site_out(&q_norm, &q_proj), site_out(&k_norm, &k_proj));
        let (q, k) = match c.position {
            Position::Rope => (
                self.rope(&format!("{name}.rope_q"), &q, s.n_heads, Direction::Forward),
                self.rope(
                    &format!("{name}.rope_k"),
                    &k,
                    s.n_kv_heads,
                    Direction::Forward,
                ),
            ),
            Position::Learned | Position::Sinusoidal | Position::Alibi | Position::None => (q, k),
        };
        let n_probs = s.batch * s.n_heads * s.seq * s.seq;
        let probs = self.buffer(&format!("{name}.probs"), n_probs);
        let row_max = self.buffer(&format!("{name}.row_max"), s.batch * s.n_heads * s.seq);
        let alibi = c.position == Position::Alibi;
        let kernel = attn::probs_forward(
            self.ctx,
            &format!("{name}.softmax"),
            s,
            c.pattern_for_layer(l),
            alibi,
            (&q).into(),
            (&k).into(),
            (&probs).into(),
            (&row_max).into(),
        );
        self.kernels.push(kernel);
        let label = format!("{name}.probs_dropout");
        let weights = self.dropout(&label, &probs, n_probs, c.dropout.attn, attn_probs_site(l));
        let y = self.buffer(&format!("{name}.y"), self.rows * s.n_heads * s.d_head);
        let kernel = attn::values_forward(
            self.ctx,
            &format!("{name}.values"),
            s,
            (&weights).into(),
            (&v).into(),
            (&y).into(),
        );
        self.kernels.push(kernel);
        let out = self.linear(&format!("{name}.wo"), p.wo, &y);
        AttentionActs {
            q_proj,
            k_proj,
            v,
            q_norm,
            k_norm,
            q,
            k,
            probs,
            weights,
            row_max,
            y,
            out,
        }
    }

    fn mlp(&mut self, l: usize, h: &wgpu::Buffer) -> MlpActs {
        let p = self.layout.layers[l].mlp;
        let name = format!("L{l}.mlp");
        let a = self.linear(&format!("{name}.w1"), p.w1, h);
        let gate = p.v.map(|v| self.linear(&format!("{name}.v"), v, h));
        let n = self.rows * self.config.d_ff();
        let act = self.buffer(&format!("{name}.act"), n);
        let kernel = activation_forward(
            self.ctx,
            &format!("{name}.act"),
            self.config.activation,
            n,
            (&a).into(),
            gate.as_ref().map(Into::into),
            (&act).into(),
        );
        self.kernels.push(kernel);
        let out = self.linear(&format!("{name}.w2"), p.w2, &act);
        MlpActs { a, gate, act, out }
    }

    /// `Drop(Out(f))`: what a branch adds to the residual stream.
    fn branch_output(
        &mut self,
        label: &str,
        out_norm: &Option<NormBufs>,
        f: &wgpu::Buffer,
        site: u32,
    ) -> wgpu::Buffer {
        let x = site_out(out_norm, f);
        let n = self.rows * self.config.d_model;
        self.dropout(label, &x, n, self.config.dropout.resid, site)
    }

    /// `out = a + b` over the stream `[B*T, C]`.
    fn add(&mut self, label: &str, a: &wgpu::Buffer, b: &wgpu::Buffer) -> wgpu::Buffer {
        let n = self.rows * self.config.d_model;
        let out = self.buffer(label, n);
        let kernel = add(self.ctx, label, n, a.into(), b.into(), (&out).into());
        self.kernels.push(kernel);
        out
    }

    /// `dst += src`, both `[n]`.
    fn add_into(&mut self, label: &str, n: usize, src: &wgpu::Buffer, dst: &wgpu::Buffer) {
        let kernel = add_into(self.ctx, label, n, src.into(), dst.into());
        self.kernels.push(kernel);
    }

    fn layer(&mut self, l: usize, x: &wgpu::Buffer) -> LayerActs {
        let p = self.layout.layers[l];
        let (rows, c) = (self.rows, self.config.d_model);
        let name = format!("L{l}");
        let label = |site: &str| format!("{name}.{site}");
        match self.config.block {
            BlockLayout::Serial => {
                let attn_in = self.stream_norm(&label("attn_in_norm"), p.attn_in_norm, x);
                let attn = self.attention(l, &site_out(&attn_in, x));
                let attn_out =
                    self.stream_norm(&label("attn_out_norm"), p.attn_out_norm, &attn.out);
                let attn_added = self.branch_output(
                    &label("attn_dropout"),
                    &attn_out,
                    &attn.out,
                    attn_branch_site(l),
                );
                let sum_attn = self.add(&label("attn_residual"), x, &attn_added);
                let attn_post =
                    self.stream_norm(&label("attn_post_norm"), p.attn_post_norm, &sum_attn);
                let mid = site_out(&attn_post, &sum_attn);
                let mlp_in = self.stream_norm(&label("mlp_in_norm"), p.mlp_in_norm, &mid);
                let mlp = self.mlp(l, &site_out(&mlp_in, &mid));
                let mlp_out = self.stream_norm(&label("mlp_out_norm"), p.mlp_out_norm, &mlp.out);
                let mlp_added = self.branch_output(
                    &label("mlp_dropout"),
                    &mlp_out,
                    &mlp.out,
                    mlp_branch_site(l),
                );
                let sum_mlp = self.add(&label("mlp_residual"), &mid, &mlp_added);
                let mlp_post = self.stream_norm(&label("mlp_post_norm"), p.mlp_post_norm, &sum_mlp);
                LayerActs {
                    attn_in,
                    attn,
                    attn_out,
                    attn_added,
                    sum_attn,
                    attn_post,
                    mlp_in,
                    mlp,
                    mlp_out,
                    mlp_added,
                    sum_mlp,
                    mlp_post,
                }
            }
            BlockLayout::Parallel => {
                let attn_in = self.stream_norm(&label("in_norm"), p.attn_in_norm, x);
                let h = site_out(&attn_in, x);
                // Per-branch norms (GPT-NeoX) give the MLP its own input; shared, it reads h.
                let mlp_in = self.stream_norm(&label("mlp_in_norm"), p.mlp_in_norm, x);
                let attn = self.attention(l, &h);
                let mlp = self.mlp(l, &site_out(&mlp_in, &h));
                let attn_out =
                    self.stream_norm(&label("attn_out_norm"), p.attn_out_norm, &attn.out);
                let attn_added = self.branch_output(
                    &label("attn_dropout"),
                    &attn_out,
                    &attn.out,
                    attn_branch_site(l),
                );
                let mlp_out = self.stream_norm(&label("mlp_out_norm"), p.mlp_out_norm, &mlp.out);
                let mlp_added = self.branch_output(
                    &label("mlp_dropout"),
                    &mlp_out,
                    &mlp.out,
                    mlp_branch_site(l),
                );
                let sum_attn = self.add(&label("residual"), x, &attn_added);
                self.add_into(&label("residual_mlp"), rows * c, &mlp_added, &sum_attn);
                let attn_post = self.stream_norm(&label("post_norm"), p.attn_post_norm, &sum_attn);
                LayerActs {
                    attn_in,
                    attn,
                    attn_out,
                    attn_added,
                    sum_mlp: sum_attn.clone(),
                    sum_attn,
                    attn_post,
                    mlp_in,
                    mlp,
                    mlp_out,
                    mlp_added,
                    mlp_post: None,
                }
            }
        }
    }

    // ---- backward: the forward's calls in reverse ----

    /// Backward of `linear`: `dW += dout^T inp`, `db += column sums of dout`, and returns
    /// `dinp = dout W`, written fresh or, given `into`, added to it.
    fn linear_back(
        &mut self,
        label: &str,
        p: LinearParams,
        dout: &wgpu::Buffer,
        inp: &wgpu::Buffer,
        into: Option<&wgpu::Buffer>,
    ) -> wgpu::Buffer {
        let (n_out, n_in) = self.matrix_shape(p);
        let rows = self.rows;
        let dinp = into
            .cloned()
            .unwrap_or_else(|| self.buffer(&format!("{label}.dinp"), rows * n_in));
        let data = MatmulSpec {
            m: rows,
            n: n_in,
            k: n_out,
            trans_a: false,
            trans_b: false,
            accumulate: into.is_some(),
        };
        let kernel = matmul(
            self.ctx,
            &format!("{label}.dinp"),
            data,
            dout.into(),
            self.param(p.weight),
            None,
            (&dinp).into(),
        );
        self.kernels.push(kernel);
        let weight = MatmulSpec {
            m: n_out,
            n: n_in,
            k: rows,
            trans_a: true,
            trans_b: false,
            accumulate: true,
        };
        let kernel = matmul(
            self.ctx,
            &format!("{label}.dweight"),
            weight,
            dout.into(),
            inp.into(),
            None,
            self.grad(p.weight),
        );
        self.kernels.push(kernel);
        if let Some(bias) = p.bias {
            let kernel = column_sum(
                self.ctx,
                &format!("{label}.dbias"),
                rows,
                n_out,
                dout.into(),
                self.grad(bias),
            );
            self.kernels.push(kernel);
        }
        dinp
    }

    /// Backward of `norm`; returns `dinp`, which is `dout` itself without a norm.
    #[allow(clippy::too_many_arguments)] // the forward's arguments and its cache
    fn norm_back(
        &mut self,
        label: &str,
        kind: NormType,
        site: Option<NormParams>,
        cache: &Option<NormBufs>,
        dout: wgpu::Buffer,
        inp: &wgpu::Buffer,
        rows: usize,
        dim: usize,
    ) -> wgpu::Buffer {
        let (Some(p), Some(cache)) = (site, cache) else {
            return dout;
        };
        let dinp = self.buffer(&format!("{label}.dinp"), rows * dim);
        let s = NormShape {
            rows,
            dim,
            eps: self.config.norm_eps,
        };
        let kernel = norm_backward_input(
            self.ctx,
            &format!("{label}.dinp"),
            kind,
            s,
            (&dout).into(),
            inp.into(),
            self.param(p.weight),
            (&cache.stats).into(),
            (&dinp).into(),
        );
        self.kernels.push(kernel);
        let kernel = norm_backward_params(
            self.ctx,
            &format!("{label}.dparams"),
            kind,
            s,
            (&dout).into(),
            inp.into(),
            (&cache.stats).into(),
            self.grad(p.weight),
            p.bias.map(|b| self.grad(b)),
        );
        self.kernels.push(kernel);
        dinp
    }

    /// Backward of `stream_norm`.
    fn stream_norm_back(
        &mut self,
        label: &str,
        site: Option<NormParams>,
        cache: &Option<NormBufs>,
        dout: wgpu::Buffer,
        inp: &wgpu::Buffer,
    ) -> wgpu::Buffer {
        let (kind, rows, c) = (self.config.norm, self.rows, self.config.d_model);
        self.norm_back(label, kind, site, cache, dout, inp, rows, c)
    }

    /// Backward of `branch_output`; returns the gradient of the branch's `F` output.
    fn branch_output_back(
        &mut self,
        label: &str,
        site: Option<NormParams>,
        out_norm: &Option<NormBufs>,
        dsum: &wgpu::Buffer,
        f: &wgpu::Buffer,
        dropout_site: u32,
    ) -> wgpu::Buffer {
        let (rows, c) = (self.rows, self.config.d_model);
        let p = self.config.dropout.resid;
        let dadded = self.dropout(&format!("{label}.dropout"), dsum, rows * c, p, dropout_site);
        self.stream_norm_back(label, site, out_norm, dadded, f)
    }

    /// Backward of `attention`; returns `dh`.
    fn attention_back(
        &mut self,
        l: usize,
        acts: &AttentionActs,
        dout: &wgpu::Buffer,
        h: &wgpu::Buffer,
    ) -> wgpu::Buffer {
        let c = self.config;
        let p = self.layout.layers[l].attn;
        let s = self.shape;
        let name = format!("L{l}.attn");
        let label = |op: &str| format!("{name}.{op}");
        let dy = self.linear_back(&label("wo"), p.wo, dout, &acts.y, None);
        let n_probs = s.batch * s.n_heads * s.seq * s.seq;
        let dweights = self.buffer(&label("dweights"), n_probs);
        let dv = self.buffer(&label("dv"), acts.v.size() as usize / 4);
        let kernels = [
            attn::values_backward_weights(
                self.ctx,
                &label("values.dweights"),
                s,
                (&dy).into(),
                (&acts.v).into(),
                (&dweights).into(),
            ),
            attn::values_backward_v(
                self.ctx,
                &label("values.dv"),
                s,
                (&dy).into(),
                (&acts.weights).into(),
                (&dv).into(),
            ),
        ];
        self.kernels.extend(kernels);
        self.dropout_in_place(
            &label("probs_dropout.back"),
            &dweights,
            n_probs,
            c.dropout.attn,
            attn_probs_site(l),
        );
        let dq = self.buffer(&label("dq"), acts.q.size() as usize / 4);
        let dk = self.buffer(&label("dk"), acts.k.size() as usize / 4);
        let kernels = [
            attn::softmax_backward(
                self.ctx,
                &label("softmax.back"),
                s,
                (&acts.probs).into(),
                (&dweights).into(),
            ),
            attn::probs_backward_q(
                self.ctx,
                &label("softmax.dq"),
                s,
                (&dweights).into(),
                (&acts.k).into(),
                (&dq).into(),
            ),
            attn::probs_backward_k(
                self.ctx,
                &label("softmax.dk"),
                s,
                (&dweights).into(),
                (&acts.q).into(),
                (&dk).into(),
            ),
        ];
        self.kernels.extend(kernels);
        let (dk, dq) = match c.position {
            Position::Rope => (
                self.rope(
                    &label("rope_k.back"),
                    &dk,
                    s.n_kv_heads,
                    Direction::Backward,
                ),
                self.rope(&label("rope_q.back"), &dq, s.n_heads, Direction::Backward),
            ),
            Position::Learned | Position::Sinusoidal | Position::Alibi | Position::None => (dk, dq),
        };
        let qk = c.qk_norm_type();
        let (q_rows, q_dim) = self.qk_norm_rows(s.n_heads);
        let (k_rows, k_dim) = self.qk_norm_rows(s.n_kv_heads);
        let dk_proj = self.norm_back(
            &label("k_norm"),
            qk,
            p.k_norm,
            &acts.k_norm,
            dk,
            &acts.k_proj,
            k_rows,
            k_dim,
        );
        let dq_proj = self.norm_back(
            &label("q_norm"),
            qk,
            p.q_norm,
            &acts.q_norm,
            dq,
            &acts.q_proj,
            q_rows,
            q_dim,
        );
        let dh = self.linear_back(&label("wv"), p.wv, &dv, h, None);
        self.linear_back(&label("wk"), p.wk, &dk_proj, h, Some(&dh));
        self.linear_back(&label("wq"), p.wq, &dq_proj, h, Some(&dh));
        dh
    }

    /// Backward of `mlp`; returns `dh`.
    fn mlp_back(
        &mut self,
        l: usize,
        acts: &MlpActs,
        dout: &wgpu::Buffer,
        h: &wgpu::Buffer,
    ) -> wgpu::Buffer {
        let p = self.layout.layers[l].mlp;
        let name = format!("L{l}.mlp");
        let label = |op: &str| format!("{name}.{op}");
        let dact = self.linear_back(&label("w2"), p.w2, dout, &acts.act, None);
        let n = self.rows * self.config.d_ff();
        let da = self.buffer(&label("da"), n);
        let dgate = acts.gate.as_ref().map(|_| self.buffer(&label("dgate"), n));
        let kernel = activation_backward(
            self.ctx,
            &label("act.back"),
            self.config.activation,
            n,
            (&dact).into(),
            (&acts.a).into(),
            acts.gate.as_ref().map(Into::into),
            (&da).into(),
            dgate.as_ref().map(Into::into),
        );
        self.kernels.push(kernel);
        match (p.v, dgate) {
            (Some(v), Some(dgate)) => {
                let dh = self.linear_back(&label("v"), v, &dgate, h, None);
                self.linear_back(&label("w1"), p.w1, &da, h, Some(&dh))
            }
            _ => self.linear_back(&label("w1"), p.w1, &da, h, None),
        }
    }

    /// Backward of `layer`; returns `dx`.
    fn layer_back(
        &mut self,
        l: usize,
        acts: &LayerActs,
        dout: wgpu::Buffer,
        x: &wgpu::Buffer,
    ) -> wgpu::Buffer {
        let p = self.layout.layers[l];
        let (rows, c) = (self.rows, self.config.d_model);
        let name = format!("L{l}");
        let label = |site: &str| format!("{name}.{site}");
        match self.config.block {
            BlockLayout::Serial => {
                let mid = acts.mid();
                let dsum_mlp = self.stream_norm_back(
                    &label("mlp_post_norm"),
                    p.mlp_post_norm,
                    &acts.mlp_post,
                    dout,
                    &acts.sum_mlp,
                );
                let dmlp = self.branch_output_back(
                    &label("mlp_out_norm"),
                    p.mlp_out_norm,
                    &acts.mlp_out,
                    &dsum_mlp,
                    &acts.mlp.out,
                    mlp_branch_site(l),
                );
                let dh = self.mlp_back(l, &acts.mlp, &dmlp, &site_out(&acts.mlp_in, &mid));
                let dmid = self.stream_norm_back(
                    &label("mlp_in_norm"),
                    p.mlp_in_norm,
                    &acts.mlp_in,
                    dh,
                    &mid,
                );
                self.add_into(&label("mlp_residual.back"), rows * c, &dsum_mlp, &dmid);
                let dsum_attn = self.stream_norm_back(
                    &label("attn_post_norm"),
                    p.attn_post_norm,
                    &acts.attn_post,
                    dmid,
                    &acts.sum_attn,
                );
                let dattn = self.branch_output_back(
                    &label("attn_out_norm"),
                    p.attn_out_norm,
                    &acts.attn_out,
                    &dsum_attn,
                    &acts.attn.out,
                    attn_branch_site(l),
                );
                let dh = self.attention_back(l, &acts.attn, &dattn, &site_out(&acts.attn_in, x));
                let dx = self.stream_norm_back(
                    &label("attn_in_norm"),
                    p.attn_in_norm,
                    &acts.attn_in,
                    dh,
                    x,
                );
                self.add_into(&label("attn_residual.back"), rows * c, &dsum_attn, &dx);
                dx
            }
            BlockLayout::Parallel => {
                let dsum = self.stream_norm_back(
                    &label("post_norm"),
                    p.attn_post_norm,
                    &acts.attn_post,
                    dout,
                    &acts.sum_attn,
                );
                let dmlp = self.branch_output_back(
                    &label("mlp_out_norm"),
                    p.mlp_out_norm,
                    &acts.mlp_out,
                    &dsum,
                    &acts.mlp.out,
                    mlp_branch_site(l),
                );
                let dattn = self.branch_output_back(
                    &label("attn_out_norm"),
                    p.attn_out_norm,
                    &acts.attn_out,
                    &dsum,
                    &acts.attn.out,
                    attn_branch_site(l),
                );
                let h = site_out(&acts.attn_in, x);
                let dh_mlp = self.mlp_back(l, &acts.mlp, &dmlp, &site_out(&acts.mlp_in, &h));
                let dh = self.attention_back(l, &acts.attn, &dattn, &h);
                if p.mlp_in_norm.is_none() {
                    // One shared norm: both branches' gradients meet at its output.
                    self.add_into(&label("branches.back"), rows * c, &dh_mlp, &dh);
                }
                let dx =
                    self.stream_norm_back(&label("in_norm"), p.attn_in_norm, &acts.attn_in, dh, x);
                if p.mlp_in_norm.is_some() {
                    // Per-branch norms: the MLP's gradient reaches x through its own norm.
                    let dx_mlp = self.stream_norm_back(
                        &label("mlp_in_norm"),
                        p.mlp_in_norm,
                        &acts.mlp_in,
                        dh_mlp,
                        x,
                    );
                    self.add_into(&label("mlp_in_norm.residual"), rows * c, &dx_mlp, &dx);
                }
                self.add_into(&label("residual.back"), rows * c, &dsum, &dx);
                dx
            }
        }
    }
}

/// Per-step read-back: loss terms, the gradient norm, then the plan's view statistics:
/// `[ce, z, count, 0, norm, view stats...]`.
const VIEW_STATS_AT: usize = STATS_LEN + 1;

/// Everything a batch shape needs, built once: buffers, bound kernels, and where the
/// statistics are.
struct Plan {
    /// `[B*T]` u32 and i32, written before each run.
    tokens: wgpu::Buffer,
    targets: wgpu::Buffer,
    /// Every launch of a step in order: forward (with the loss) up to `forward_len`, then
    /// backward, clipping and AdamW (`adamw`, the last).
    kernels: Vec<Kernel>,
    forward_len: usize,
    /// End of the backward launches (the gradients are complete, before clipping).
    backward_len: usize,
    adamw: usize,
    dropouts: Vec<DropoutSite>,
    /// z-loss coefficient and clipping norm the loss and clip kernels were built with.
    z_loss: f32,
    grad_clip: f32,
    /// `[STATS_LEN]`: mean cross-entropy, mean z-loss, count.
    loss_stats: wgpu::Buffer,
    /// `[4]`: the gradient norm before clipping.
    grad_norm: wgpu::Buffer,
    /// `[4 L]`, from the forward: per layer the root sum of squares of the output stream and
    /// the attention and MLP branch outputs (`[B*T, C]` each), then per layer the largest
    /// attention logit. See [`ViewStats`].
    view_stats: wgpu::Buffer,
    /// `[B, T, V]`.
    logits: wgpu::Buffer,
    /// Per layer: probabilities `[B, H, T, T]`.
    probs: Vec<wgpu::Buffer>,
    /// Elements of each stream the view statistics sum over: `B*T*C`.
    stream_len: usize,
}

impl Plan {
    #[allow(clippy::too_many_arguments)] // the engine's buffers and the run's sizes
    fn build(
        ctx: &GpuContext,
        config: &ModelConfig,
        layout: &ParamLayout,
        bufs: &ParamBuffers,
        batch: usize,
        seq: usize,
        train: &TrainConfig,
    ) -> Self {
        let rows = batch * seq;
        let (c, v) = (config.d_model, config.vocab_size);
        let shape = AttentionShape {
            batch,
            seq,
            n_heads: config.n_heads,
            n_kv_heads: config.n_kv_heads,
            d_head: config.d_head(),
        };
        let rope_table = (config.position == Position::Rope).then(|| {
            let table = rope_table(seq, config.d_head(), f64::from(config.rope_theta));
            ctx.storage_buffer("rope table", &table)
        });
        let mut b = Builder {
            ctx,
            config,
            layout,
            params: &bufs.params,
            grads: &bufs.grads,
            rows,
            shape,
            rope_table,
            kernels: Vec::new(),
            dropouts: Vec::new(),
        };
        let tokens = ctx.storage_buffer("tokens", &vec![0u32; rows]);
        let targets = ctx.storage_buffer("targets", &vec![IGNORE; rows]);

        // Forward: embedding, layers, final norm, head, loss.
        let emb_shape = EmbeddingShape {
            rows,
            seq,
            c,
            vocab: v,
        };
        let sinusoidal = (config.position == Position::Sinusoidal)
            .then(|| ctx.storage_buffer("sinusoidal table", &sinusoidal_table(seq, c)));
        let pos = match config.position {
            Position::Learned => layout.pos_emb.map(|p| b.param(p)),
            Position::Sinusoidal => sinusoidal.as_ref().map(View::from),
            Position::Rope | Position::Alibi | Position::None => None,
        };
        let embedded_raw = b.buffer("embedding", rows * c);
        let kernel = embedding_forward(
            ctx,
            "embedding",
            emb_shape,
            (&tokens).into(),
            b.param(layout.tok_emb),
            pos,
            (&embedded_raw).into(),
        );
        b.kernels.push(kernel);
        let embedded = b.dropout(
            "embedding.dropout",
            &embedded_raw,
            rows * c,
            config.dropout.embd,
            EMBEDDING_SITE,
        );
        let mut layers: Vec<LayerActs> = Vec::with_capacity(config.n_layers);
        for l in 0..config.n_layers {
            let x = layers
                .last()
                .map_or(embedded.clone(), |prev| prev.output(config.block));
            let acts = b.layer(l, &x);
            layers.push(acts);
        }
        let x = layers
            .last()
            .map_or(embedded.clone(), |last| last.output(config.block));
        let final_norm = b.stream_norm("final_norm", layout.final_norm, &x);
        let head = LinearParams {
            weight: layout.head(),
            bias: None,
        };
        let logits = b.linear("head", head, &site_out(&final_norm, &x));
        let loss_shape = LossShape {
            rows,
            vocab: v,
            z_coef: train.z_loss,
        };
        let lse = b.buffer("lse", rows);
        let row_loss = b.buffer("row_loss", rows * 2);
        let loss_stats = b.buffer("loss stats", STATS_LEN);
        let kernels = [
            cross_entropy_forward(
                ctx,
                "loss",
                loss_shape,
                (&logits).into(),
                (&targets).into(),
                (&lse).into(),
                (&row_loss).into(),
            ),
            cross_entropy_reduce(
                ctx,
                "loss.reduce",
                loss_shape,
                (&targets).into(),
                (&row_loss).into(),
                (&loss_stats).into(),
            ),
        ];
        b.kernels.extend(kernels);
        let view_stats = b.view_stats(&layers);
        let forward_len = b.kernels.len();

        // Backward, in exact reverse.
        let dlogits = b.buffer("dlogits", rows * v);
        let kernel = cross_entropy_backward(
            ctx,
            "loss.back",
            loss_shape,
            (&logits).into(),
            (&targets).into(),
            (&lse).into(),
            (&loss_stats).into(),
            (&dlogits).into(),
        );
        b.kernels.push(kernel);
        let dfinal = b.linear_back("head", head, &dlogits, &site_out(&final_norm, &x), None);
        let mut dx = b.stream_norm_back("final_norm", layout.final_norm, &final_norm, dfinal, &x);
        for l in (0..config.n_layers).rev() {
            let x = if l == 0 {
                embedded.clone()
            } else {
                layers[l - 1].output(config.block)
            };
            dx = b.layer_back(l, &layers[l], dx, &x);
        }
        b.dropout_in_place(
            "embedding.dropout.back",
            &dx,
            rows * c,
            config.dropout.embd,
            EMBEDDING_SITE,
        );
        let kernel = embedding_backward_tokens(
            ctx,
            "embedding.back",
            emb_shape,
            (&tokens).into(),
            (&dx).into(),
            b.grad(layout.tok_emb),
            config.padding_token,
        );
        b.kernels.push(kernel);
        if let Some(pos) = layout.pos_emb {
            let kernel = embedding_backward_positions(
                ctx,
                "embedding.back_pos",
                emb_shape,
                (&dx).into(),
                b.grad(pos),
            );
            b.kernels.push(kernel);
        }

        // Gradient norm, clipping, AdamW.
        let backward_len = b.kernels.len();
        let n = layout.total_len;
        let partials = b.buffer("grad norm partials", PARTIALS);
        let grad_norm = b.buffer("grad norm", 4);
        let hyper = AdamWParams::new(n, train, train.lr, 1);
        let kernels = [
            grad_norm_partial(
                ctx,
                "grad_norm.partial",
                n,
                (&bufs.grads).into(),
                (&partials).into(),
            ),
            grad_norm_final(
                ctx,
                "grad_norm.final",
                (&partials).into(),
                (&grad_norm).into(),
                0,
            ),
            clip_gradients(
                ctx,
                "clip",
                n,
                train.grad_clip,
                (&grad_norm).into(),
                (&bufs.grads).into(),
            ),
            adamw_update(
                ctx,
                "adamw",
                hyper,
                (&bufs.grads).into(),
                (&bufs.decay_mask).into(),
                (&bufs.params).into(),
                (&bufs.m).into(),
                (&bufs.v).into(),
            ),
        ];
        b.kernels.extend(kernels);

        let probs = layers.iter().map(|l| l.attn.probs.clone()).collect();
        Self {
            tokens,
            targets,
            adamw: b.kernels.len() - 1,
            forward_len,
            backward_len,
            dropouts: b.dropouts,
            kernels: b.kernels,
            z_loss: train.z_loss,
            grad_clip: train.grad_clip,
            loss_stats,
            grad_norm,
            view_stats,
            logits,
            probs,
            stream_len: rows * c,
        }
    }
}

/// The four layout-shaped buffers and the decay mask.
struct ParamBuffers {
    /// `[total_len]` each, in `ParamLayout` order.
    params: wgpu::Buffer,
    grads: wgpu::Buffer,
    m: wgpu::Buffer,
    v: wgpu::Buffer,
    /// `adamw::decay_mask` for `decay_embeddings`.
    decay_mask: wgpu::Buffer,
    decay_embeddings: bool,
}

/// Where a step's read-back mapping stands: its result once the callback ran, and the page's
/// loop if it waits for it. Shared with the callback, which natively must be `Send`.
#[derive(Default)]
struct Mapping {
    result: Option<Result<(), wgpu::BufferAsyncError>>,
    waiter: Option<oneshot::Sender<()>>,
}

/// A step whose statistics are on their way back.
struct InFlight {
    step: usize,
    lr: f32,
    /// Elements of each stream the step's view statistics summed over.
    stream_len: usize,
    staging: wgpu::Buffer,
    mapping: Arc<Mutex<Mapping>>,
}

/// The views of a forward from `Plan::view_stats`' floats: roots of sums of squares over
/// `stream_len` elements, then maxima.
fn view_stats_from_floats(values: &[f32], stream_len: usize) -> ViewStats {
    let n_layers = values.len() / 4;
    let rms =
        |root_sum_squares: f32| (f64::from(root_sum_squares) / (stream_len as f64).sqrt()) as f32;
    let norms = values[..3 * n_layers]
        .chunks_exact(3)
        .map(|layer| LayerNorms {
            residual: rms(layer[0]),
            attn: rms(layer[1]),
            mlp: rms(layer[2]),
        })
        .collect();
    ViewStats {
        max_attention_logits: values[3 * n_layers..4 * n_layers].to_vec(),
        norms,
    }
}

/// A forward's view statistics on their way back.
pub struct PendingViews {
    read: PendingRead,
    stream_len: usize,
}

impl PendingViews {
    pub async fn wait(self) -> Result<ViewStats, GpuError> {
        Ok(view_stats_from_floats(
            &self.read.wait().await?,
            self.stream_len,
        ))
    }
}

/// One training step as the GPU reports it: the statistics and the views of its forward.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    pub stats: StepStats,
    pub views: ViewStats,
}

/// The GPU engine: the model's buffers, one plan per batch shape, and the read-back queue.
pub struct GpuEngine {
    ctx: Rc<GpuContext>,
    config: ModelConfig,
    layout: ParamLayout,
    bufs: ParamBuffers,
    plans: HashMap<(usize, usize), Plan>,
    /// Shape of the last training step, whose plan is kept.
    train_shape: Option<(usize, usize)>,
    /// Shape of the last run, whose activations the views show.
    last: Option<(usize, usize)>,
    /// Steps submitted so far.
    step: usize,
    /// Run seed folded to 32 bits, as the CPU engine folds it.
    dropout_seed: u32,
    /// Statistics not yet read back, oldest first.
    in_flight: VecDeque<InFlight>,
    /// Staging buffers whose statistics were read: reused before any new one is made.
    free_staging: Vec<wgpu::Buffer>,
    /// Staging buffers made so far: 2 when double buffering kept up.
    staging_made: usize,
}

impl GpuEngine {
    /// Validates `config` and uploads the same initial parameters as `CpuEngine::new(config,
    /// seed)`.
    pub fn new(ctx: Rc<GpuContext>, config: &ModelConfig, seed: u64) -> Result<Self, ConfigError> {
        config.validate()?;
        let layout = ParamLayout::new(config);
        let n = layout.total_len;
        let bufs = ParamBuffers {
            params: ctx.storage_buffer("params", &layout.init(seed)),
            grads: ctx.zeros("grads", n),
            m: ctx.zeros("adamw.m", n),
            v: ctx.zeros("adamw.v", n),
            decay_mask: ctx.storage_buffer("decay mask", &decay_mask(&layout, false)),
            decay_embeddings: false,
        };
        Ok(Self {
            ctx,
            config: config.clone(),
            layout,
            bufs,
            plans: HashMap::new(),
            train_shape: None,
            last: None,
            step: 0,
            dropout_seed: (seed as u32) ^ ((seed >> 32) as u32),
            in_flight: VecDeque::new(),
            free_staging: Vec::new(),
            staging_made: 0,
        })
    }

    /// The adapter the engine runs on, as the platform names it.
    pub fn adapter_name(&self) -> &str {
        &self.ctx.adapter.name
    }

    /// The architecture.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The parameter layout of the buffers.
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// Staging buffers made for read-backs so far; 2 means double buffering never had to
    /// grow, i.e. no step found both of its read-back buffers still in flight.
    pub fn staging_buffers(&self) -> usize {
        self.staging_made
    }

    /// Makes sure the plan for this shape (with the loss and clipping settings of `train`)
    /// exists, and makes it the one the views read. Plans are kept for the training shape and
    /// the latest other one: generation asks for a new length at every token, and each plan
    /// holds a full set of activation buffers.
    fn ensure_plan(&mut self, batch: usize, seq: usize, train: &TrainConfig) {
        let key = (batch, seq);
        let fits = self
            .plans
            .get(&key)
            .is_some_and(|p| p.z_loss == train.z_loss && p.grad_clip == train.grad_clip);
        if !fits {
            let train_shape = self.train_shape;
            self.plans
                .retain(|k, _| Some(*k) == train_shape && *k != key);
            let plan = Plan::build(
                &self.ctx,
                &self.config,
                &self.layout,
                &self.bufs,
                batch,
                seq,
                train,
            );
            self.plans.insert(key, plan);
        }
        self.last = Some(key);
    }

    /// Writes the inputs and the per-run uniforms (dropout keys, or p = 0 without dropout).
    fn prepare(&self, plan: &Plan, tokens: &[u32], targets: &[i32], dropout_step: Option<u32>) {
        let queue = &self.ctx.queue;
        queue.write_buffer(&plan.tokens, 0, bytemuck::cast_slice(tokens));
        queue.write_buffer(&plan.targets, 0, bytemuck::cast_slice(targets));
        for site in &plan.dropouts {
            let key = DropoutKey {
                seed: self.dropout_seed,
                step: dropout_step.unwrap_or(0),
                site: site.site,
            };
            let p = if dropout_step.is_some() { site.p } else { 0.0 };
            let params = DropoutParams::new(site.n, p, key);
            plan.kernels[site.kernel].set_uniform(&self.ctx, bytemuck::bytes_of(&params));
        }
    }

    /// Records `kernels` into one pass of one encoder (after clearing the gradients if asked),
    /// then `after` (copies), and submits once.
    fn submit(
        &self,
        label: &str,
        kernels: &[Kernel],
        clear_grads: bool,
        after: impl FnOnce(&mut wgpu::CommandEncoder),
    ) {
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
        if clear_grads {
            encoder.clear_buffer(&self.bufs.grads, 0, None);
        }
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(label),
                timestamp_writes: None,
            });
            for kernel in kernels {
                kernel.encode(&mut pass);
            }
        }
        after(&mut encoder);
        self.ctx.queue.submit([encoder.finish()]);
    }

    /// Records and submits one optimizer step on `batch`, and starts reading its statistics
    /// back. Never waits: the statistics arrive through `poll_stats` or `finish`.
    pub fn submit_step(&mut self, batch: &Batch, train: &TrainConfig) {
        if train.decay_embeddings != self.bufs.decay_embeddings {
            let mask = decay_mask(&self.layout, train.decay_embeddings);
            self.ctx
                .queue
                .write_buffer(&self.bufs.decay_mask, 0, bytemuck::cast_slice(&mask));
            self.bufs.decay_embeddings = train.decay_embeddings;
        }
        let step = self.step;
        let lr = learning_rate(train, step);
        let readback_floats = VIEW_STATS_AT + 4 * self.config.n_layers;
        let staging = self.free_staging.pop().unwrap_or_else(|| {
            self.staging_made += 1;
            self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("stats read-back"),
                size: (readback_floats * 4) as u64,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        self.train_shape = Some((batch.batch, batch.seq));
        self.ensure_plan(batch.batch, batch.seq, train);
        let plan = &self.plans[&(batch.batch, batch.seq)];
        self.prepare(plan, &batch.inputs, &batch.targets, Some(step as u32));
        let hyper = AdamWParams::new(self.layout.total_len, train, lr, step as i32 + 1);
        plan.kernels[plan.adamw].set_uniform(&self.ctx, bytemuck::bytes_of(&hyper));
        self.submit("step", &plan.kernels, true, |encoder| {
            let stats_bytes = (STATS_LEN * 4) as u64;
            encoder.copy_buffer_to_buffer(&plan.loss_stats, 0, &staging, 0, stats_bytes);
            encoder.copy_buffer_to_buffer(&plan.grad_norm, 0, &staging, stats_bytes, 4);
            let views_bytes = plan.view_stats.size();
            let at = (VIEW_STATS_AT * 4) as u64;
            encoder.copy_buffer_to_buffer(&plan.view_stats, 0, &staging, at, views_bytes);
        });
        let mapping = Arc::new(Mutex::new(Mapping::default()));
        let shared = mapping.clone();
        staging.map_async(wgpu::MapMode::Read, .., move |result| {
            let mut mapping = shared.lock().unwrap_or_else(|e| e.into_inner());
            mapping.result = Some(result);
            if let Some(waiter) = mapping.waiter.take() {
                // The waiter is gone only if the page stopped waiting; nothing to tell.
                let _ = waiter.send(());
            }
        });
        let stream_len = plan.stream_len;
        self.in_flight.push_back(InFlight {
            step,
            lr,
            stream_len,
            staging,
            mapping,
        });
        self.step += 1;
    }

    /// The oldest in-flight step's mapping result, once its callback ran.
    fn front_result(&self) -> Option<Result<(), wgpu::BufferAsyncError>> {
        let flight = self.in_flight.front()?;
        let mapping = flight.mapping.lock().unwrap_or_else(|e| e.into_inner());
        mapping.result.clone()
    }

    /// Reads the report of the oldest in-flight step, whose mapping has resolved.
    fn take_report(
        &mut self,
        result: Result<(), wgpu::BufferAsyncError>,
    ) -> Result<StepReport, GpuError> {
        let flight = self.in_flight.pop_front().expect("a step in flight");
        result.map_err(|e| GpuError::ReadBack(e.to_string()))?;
        let values = take_mapped(&flight.staging)?;
        self.free_staging.push(flight.staging);
        Ok(StepReport {
            stats: StepStats {
                step: flight.step,
                loss: values[0],
                z_loss: values[1],
                grad_norm: values[STATS_LEN],
                lr: flight.lr,
            },
            views: view_stats_from_floats(&values[VIEW_STATS_AT..], flight.stream_len),
        })
    }

    /// Steps submitted whose reports have not been collected.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The report of every step whose read-back has arrived, oldest first, without waiting
    /// (natively the device is polled once; in a browser the event loop delivers).
    pub fn poll_stats(&mut self) -> Result<Vec<StepReport>, GpuError> {
        self.ctx.check_device()?;
        // A poll that finds nothing ready is not an error.
        let _ = self.ctx.device.poll(wgpu::PollType::Poll);
        let mut done = Vec::new();
        while let Some(result) = self.front_result() {
            done.push(self.take_report(result)?);
        }
        Ok(done)
    }

    /// Resolves when the oldest step in flight has its report ready for `poll_stats` (at once
    /// if it has, or if nothing is in flight). Borrows nothing, so the page's loop can await it
    /// and yield to the browser, which delivers the mapping.
    pub fn next_report(&self) -> impl std::future::Future<Output = ()> + 'static {
        let (sender, receiver) = oneshot::channel();
        match self.in_flight.front() {
            Some(flight) => {
                let mut mapping = flight.mapping.lock().unwrap_or_else(|e| e.into_inner());
                if mapping.result.is_some() {
                    let _ = sender.send(());
                } else {
                    mapping.waiter = Some(sender);
                }
            }
            None => {
                let _ = sender.send(());
            }
        }
        async move {
            // A dropped sender (the engine is gone) ends the wait just the same.
            let _ = receiver.await;
        }
    }

    /// Awaits the report of every submitted step not yet collected, oldest first.
    pub async fn finish(&mut self) -> Result<Vec<StepReport>, GpuError> {
        self.ctx.check_device()?;
        let mut done = Vec::new();
        while !self.in_flight.is_empty() {
            let arrived = self.next_report();
            self.ctx
                .device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| GpuError::ReadBack(e.to_string()))?;
            arrived.await;
            let result = self
                .front_result()
                .ok_or_else(|| GpuError::ReadBack("the mapping callback was dropped".into()))?;
            done.push(self.take_report(result)?);
        }
        Ok(done)
    }

    /// Runs the forward (no dropout, no update) on `tokens` with `targets`.
    fn run_forward(&mut self, tokens: &[u32], targets: &[i32], batch: usize, seq: usize) -> &Plan {
        assert!(
            seq <= self.config.context_len,
            "seq {seq} exceeds context_len"
        );
        assert_eq!(tokens.len(), batch * seq, "tokens are [batch, seq]");
        // Evaluation ignores the z-loss and never clips: reuse the shape's plan as it is.
        let train = match self.plans.get(&(batch, seq)) {
            Some(plan) => TrainConfig {
                z_loss: plan.z_loss,
                grad_clip: plan.grad_clip,
                ..TrainConfig::default()
            },
            None => TrainConfig::default(),
        };
        self.ensure_plan(batch, seq, &train);
        let plan = &self.plans[&(batch, seq)];
        self.prepare(plan, tokens, targets, None);
        self.submit("forward", &plan.kernels[..plan.forward_len], false, |_| {});
        plan
    }

    /// Mean cross-entropy on `batch` without dropout and without an update.
    pub async fn eval_async(&mut self, batch: &Batch) -> Result<f32, GpuError> {
        let plan = self.run_forward(&batch.inputs, &batch.targets, batch.batch, batch.seq);
        let stats = plan.loss_stats.clone();
        let read = self.ctx.start_read(&stats, 0..1);
        Ok(read.wait().await?[0])
    }

    /// Submits the forward of `tokens` `[batch, seq]` (no dropout, no update), whose views
    /// (attention, view statistics) the next reads see.
    pub fn forward(&mut self, tokens: &[u32], batch: usize, seq: usize) {
        self.run_forward(tokens, &vec![IGNORE; tokens.len()], batch, seq);
    }

    /// Runs the forward on `tokens` `[batch, seq]` (no dropout) and starts reading the logits
    /// of positions `rows` (flat `b * seq + t`), `[rows, V]`.
    pub fn start_logits(
        &mut self,
        tokens: &[u32],
        batch: usize,
        seq: usize,
        rows: Range<usize>,
    ) -> PendingRead {
        let v = self.config.vocab_size;
        self.forward(tokens, batch, seq);
        self.ctx
            .start_read(&self.last_plan().logits, rows.start * v..rows.end * v)
    }

    /// Logits `[batch, seq, V]` of `tokens`; no dropout.
    pub async fn logits_async(
        &mut self,
        tokens: &[u32],
        batch: usize,
        seq: usize,
    ) -> Result<Vec<f32>, GpuError> {
        self.start_logits(tokens, batch, seq, 0..batch * seq)
            .wait()
            .await
    }

    /// The flat parameters, in layout order.
    pub async fn read_params(&self) -> Result<Vec<f32>, GpuError> {
        self.ctx.read_f32(&self.bufs.params).await
    }

    /// Mean cross-entropy of `batch` and its gradient for every parameter (layout order),
    /// without dropout, z-loss, clipping or an update: `CpuEngine::loss_and_gradients`'s twin.
    pub async fn loss_and_gradients_async(
        &mut self,
        batch: &Batch,
    ) -> Result<(f32, Vec<f32>), GpuError> {
        let no_z_loss = TrainConfig {
            z_loss: 0.0,
            ..TrainConfig::default()
        };
        self.ensure_plan(batch.batch, batch.seq, &no_z_loss);
        let plan = &self.plans[&(batch.batch, batch.seq)];
        self.prepare(plan, &batch.inputs, &batch.targets, None);
        self.submit(
            "gradients",
            &plan.kernels[..plan.backward_len],
            true,
            |_| {},
        );
        let loss = self.ctx.read_f32(&plan.loss_stats).await?[0];
        Ok((loss, self.ctx.read_f32(&self.bufs.grads).await?))
    }

    /// Runs one training step with every kernel in its own timed pass and returns the GPU time
    /// of each kernel family (shader file, milliseconds), largest first; `None` where the
    /// device has no timestamp queries. The step is a real one: it updates the parameters.
    pub async fn profile_step_async(
        &mut self,
        batch: &Batch,
        train: &TrainConfig,
    ) -> Result<Option<Vec<(&'static str, f64)>>, GpuError> {
        if !self
            .ctx
            .device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
        {
            return Ok(None);
        }
        self.ensure_plan(batch.batch, batch.seq, train);
        let ctx = &self.ctx;
        let plan = &self.plans[&(batch.batch, batch.seq)];
        self.prepare(plan, &batch.inputs, &batch.targets, Some(self.step as u32));
        let lr = learning_rate(train, self.step);
        let hyper = AdamWParams::new(self.layout.total_len, train, lr, self.step as i32 + 1);
        plan.kernels[plan.adamw].set_uniform(ctx, bytemuck::bytes_of(&hyper));
        // Two timestamps per kernel; a query set holds at most 4096.
        let kernels = &plan.kernels[..plan.kernels.len().min(2048)];
        let count = 2 * kernels.len() as u32;
        let queries = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("kernel timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let resolved = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("kernel timestamps resolved"),
            size: u64::from(count) * 8,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("profiled step"),
            });
        encoder.clear_buffer(&self.bufs.grads, 0, None);
        for (i, kernel) in kernels.iter().enumerate() {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("profiled kernel"),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &queries,
                    beginning_of_pass_write_index: Some(2 * i as u32),
                    end_of_pass_write_index: Some(2 * i as u32 + 1),
                }),
            });
            kernel.encode(&mut pass);
        }
        encoder.resolve_query_set(&queries, 0..count, &resolved, 0);
        ctx.queue.submit([encoder.finish()]);
        let ticks: Vec<u64> = bytemuck::pod_collect_to_vec(&ctx.read_f32(&resolved).await?);
        let ms_per_tick = f64::from(ctx.queue.get_timestamp_period()) / 1e6;
        let mut families: Vec<(&'static str, f64)> = Vec::new();
        for (kernel, pair) in kernels.iter().zip(ticks.chunks_exact(2)) {
            let ms = pair[1].saturating_sub(pair[0]) as f64 * ms_per_tick;
            match families
                .iter_mut()
                .find(|(name, _)| *name == kernel.family.name())
            {
                Some((_, total)) => *total += ms,
                None => families.push((kernel.family.name(), ms)),
            }
        }
        families.sort_by(|a, b| b.1.total_cmp(&a.1));
        self.step += 1;
        Ok(Some(families))
    }

    /// Replaces the parameters (for import); the optimizer state is kept.
    pub fn set_params(&mut self, params: &[f32]) -> Result<(), ConfigError> {
        if params.len() != self.layout.total_len {
            let reason = format!(
                "{} values for a layout of {}",
                params.len(),
                self.layout.total_len
            );
            return Err(ConfigError::new("params", reason));
        }
        self.ctx
            .queue
            .write_buffer(&self.bufs.params, 0, bytemuck::cast_slice(params));
        Ok(())
    }

    /// Starts reading the parameters and AdamW's two moments, for a checkpoint of the steps
    /// submitted so far.
    pub fn start_state_reads(&self) -> [PendingRead; 3] {
        let n = self.layout.total_len;
        [&self.bufs.params, &self.bufs.m, &self.bufs.v].map(|b| self.ctx.start_read(b, 0..n))
    }

    /// AdamW's moments and update count, for a checkpoint.
    pub async fn optimizer_state_async(&self) -> Result<OptimizerState, GpuError> {
        Ok(OptimizerState {
            m: self.ctx.read_f32(&self.bufs.m).await?,
            v: self.ctx.read_f32(&self.bufs.v).await?,
            updates: self.step,
        })
    }

    /// Restores a checkpoint's optimizer state: the next step continues its schedule, dropout
    /// masks and bias correction.
    pub fn set_optimizer_state(&mut self, state: OptimizerState) -> Result<(), ConfigError> {
        let n = self.layout.total_len;
        if state.m.len() != n || state.v.len() != n {
            return Err(ConfigError::new(
                "optimizer",
                "moments do not match the parameter layout",
            ));
        }
        let queue = &self.ctx.queue;
        queue.write_buffer(&self.bufs.m, 0, bytemuck::cast_slice(&state.m));
        queue.write_buffer(&self.bufs.v, 0, bytemuck::cast_slice(&state.v));
        self.step = state.updates;
        Ok(())
    }

    /// The plan of the last run, whose activations the views read.
    fn last_plan(&self) -> &Plan {
        &self.plans[&self.last.expect("a forward has run")]
    }

    /// Starts reading the attention probabilities of example 0 of the last run in `layer`,
    /// `[H, T, T]`.
    pub fn start_attention(&self, layer: usize) -> PendingRead {
        let (seq, heads) = (self.last.expect("a forward has run").1, self.config.n_heads);
        self.ctx
            .start_read(&self.last_plan().probs[layer], 0..heads * seq * seq)
    }

    /// Attention probabilities of example 0 of the last run in `layer`, `[H, T, T]`.
    pub async fn attention_async(&self, layer: usize) -> Result<Vec<f32>, GpuError> {
        self.start_attention(layer).wait().await
    }

    /// Starts reading the views of the last run's forward.
    pub fn start_view_stats(&self) -> PendingViews {
        let plan = self.last_plan();
        let floats = (plan.view_stats.size() / 4) as usize;
        PendingViews {
            read: self.ctx.start_read(&plan.view_stats, 0..floats),
            stream_len: plan.stream_len,
        }
    }

    /// The views of the last run's forward: largest attention logits and activation RMS.
    pub async fn view_stats_async(&self) -> Result<ViewStats, GpuError> {
        self.start_view_stats().wait().await
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod blocking {
    //! The synchronous `Engine` contract, natively: each call waits for its result.

    use super::*;
    use crate::engine::Engine;

    fn wait<T>(future: impl std::future::Future<Output = Result<T, GpuError>>) -> T {
        pollster::block_on(future).unwrap_or_else(|e| panic!("GPU engine: {e}"))
    }

    impl Engine for GpuEngine {
        fn config(&self) -> &ModelConfig {
            &self.config
        }

        fn layout(&self) -> &ParamLayout {
            &self.layout
        }

        /// Submits the step and waits for its statistics (the page uses `submit_step` and
        /// `poll_stats`, which never wait).
        fn step(&mut self, batch: &Batch, train: &TrainConfig) -> StepStats {
            self.submit_step(batch, train);
            let reports = wait(self.finish());
            reports.last().expect("the step just submitted").stats
        }

        fn eval(&mut self, batch: &Batch) -> f32 {
            wait(self.eval_async(batch))
        }

        fn logits(&mut self, tokens: &[u32], batch: usize, seq: usize) -> Vec<f32> {
            wait(self.logits_async(tokens, batch, seq))
        }

        fn attention(&self, layer: usize) -> Vec<f32> {
            wait(self.attention_async(layer))
        }

        fn max_attention_logits(&self) -> Vec<f32> {
            wait(self.view_stats_async()).max_attention_logits
        }

        fn activation_norms(&self) -> Vec<LayerNorms> {
            wait(self.view_stats_async()).norms
        }

        fn params(&self) -> Vec<f32> {
            wait(self.read_params())
        }

        fn set_params(&mut self, params: &[f32]) -> Result<(), ConfigError> {
            GpuEngine::set_params(self, params)
        }
    }
}
