//! The model as a list of kernel launches, llm.c style: `Builder` mirrors `cpu::model` call for
//! call, `forward` is the launches with the toggles as `match` arms, and `backward` (in
//! `graph/backward.rs`) the same launches in exact reverse. Gradient convention as on the CPU:
//! parameter gradients accumulate (`+=`) into the gradient buffer (cleared at the start of each
//! step); activation gradients are fresh buffers (`=`), or accumulate where the CPU calls
//! `add_into`. Buffers are made here, once per plan; nothing is dispatched until a plan runs.
//! A decode's forward (`Builder::decoding`) is the same launches up to the logits, its keys
//! and values appended to a KV cache that its attention reads.

mod backward;

use super::activation::{activation_forward, softcap_forward};
use super::attention::{self as attn, AttentionShape};
use super::decode::KvCache;
use super::dropout::{dropout_backward, dropout_forward, DropoutParams};
use super::embedding::{embedding_forward, EmbeddingShape};
use super::grad_norm::{max_all, sum_squares_final, sum_squares_partial, SumRange, SumTable};
use super::kernel::{Kernel, View};
use super::loss::{cross_entropy_forward, cross_entropy_reduce, LossShape, STATS_LEN};
use super::matmul::matmul;
use super::norm::{norm_forward, NormShape};
use super::position::{rope, rope_table, sinusoidal_table, Direction, RopeShape};
use super::sum::{add, add_into};
use super::GpuContext;
use crate::contract::matmul::MatmulSpec;
use crate::contract::ops::{
    attn_branch_site, attn_probs_site, mlp_branch_site, DropoutKey, EMBEDDING_SITE,
};
use crate::contract::IGNORE;
use crate::model::layout::{LinearParams, NormParams};
use crate::model::{BlockLayout, ModelConfig, NormType, ParamLayout, Position, QkNormScope};

/// A norm site's output `[rows, dim]` and statistics `[rows, 2]`.
pub(super) struct NormBufs {
    pub(super) out: wgpu::Buffer,
    pub(super) stats: wgpu::Buffer,
}

/// The norm's output, or its input where the site has no norm.
pub(super) fn site_out(cache: &Option<NormBufs>, inp: &wgpu::Buffer) -> wgpu::Buffer {
    cache.as_ref().map_or(inp, |c| &c.out).clone()
}

/// Activations of one attention sub-layer (shapes as `cpu::model::AttentionActs`).
pub(super) struct AttentionActs {
    /// `[B, T, H*D]`, `[B, T, K*D]`, `[B, T, K*D]`.
    pub(super) q_proj: wgpu::Buffer,
    pub(super) k_proj: wgpu::Buffer,
    pub(super) v: wgpu::Buffer,
    /// QK-norm over `[B*T*H, D]` and `[B*T*K, D]`.
    pub(super) q_norm: Option<NormBufs>,
    pub(super) k_norm: Option<NormBufs>,
    /// After QK-norm and RoPE.
    pub(super) q: wgpu::Buffer,
    pub(super) k: wgpu::Buffer,
    pub(super) softmax: Softmax,
    /// Largest raw logit of each row, `[B, H, T]`.
    pub(super) row_max: wgpu::Buffer,
    /// `[B, T, H*D]` and `[B, T, C]`.
    pub(super) y: wgpu::Buffer,
    pub(super) out: wgpu::Buffer,
}

/// What an attention sub-layer keeps of its softmax for the backward.
pub(super) enum Softmax {
    /// Without dropout on the probabilities (`attention_fused_*`): each row's logsumexp
    /// `[B, H, T]`, from which the backward recomputes the probabilities.
    Fused { lse: wgpu::Buffer },
    /// With it, in two products: the probabilities `[B, H, T, T]` and the same after dropout.
    Materialised {
        probs: wgpu::Buffer,
        weights: wgpu::Buffer,
    },
}

/// Activations of one MLP sub-layer.
pub(super) struct MlpActs {
    /// `[B*T, F]` each; `gate` for gated activations.
    pub(super) a: wgpu::Buffer,
    pub(super) gate: Option<wgpu::Buffer>,
    pub(super) act: wgpu::Buffer,
    /// `[B*T, C]`.
    pub(super) out: wgpu::Buffer,
}

/// Activations of one block; field names follow `cpu::model::LayerActs`.
pub(super) struct LayerActs {
    pub(super) attn_in: Option<NormBufs>,
    pub(super) attn: AttentionActs,
    pub(super) attn_out: Option<NormBufs>,
    pub(super) attn_added: wgpu::Buffer,
    pub(super) sum_attn: wgpu::Buffer,
    pub(super) attn_post: Option<NormBufs>,
    pub(super) mlp_in: Option<NormBufs>,
    pub(super) mlp: MlpActs,
    pub(super) mlp_out: Option<NormBufs>,
    pub(super) mlp_added: wgpu::Buffer,
    /// Serial only (parallel: `sum_attn` again).
    pub(super) sum_mlp: wgpu::Buffer,
    pub(super) mlp_post: Option<NormBufs>,
}

impl LayerActs {
    pub(super) fn mid(&self) -> wgpu::Buffer {
        site_out(&self.attn_post, &self.sum_attn)
    }

    pub(super) fn output(&self, block: BlockLayout) -> wgpu::Buffer {
        match block {
            BlockLayout::Serial => site_out(&self.mlp_post, &self.sum_mlp),
            BlockLayout::Parallel => self.mid(),
        }
    }
}

/// A dropout kernel whose uniform block is rewritten every run (the step, or p = 0 to evaluate).
pub(super) struct DropoutSite {
    /// Index in `Plan::kernels`.
    pub(super) kernel: usize,
    pub(super) n: usize,
    pub(super) p: f32,
    pub(super) site: u32,
}

/// The attention sizes of `batch` sequences of `seq` tokens.
pub(super) fn attention_shape(config: &ModelConfig, batch: usize, seq: usize) -> AttentionShape {
    AttentionShape {
        batch,
        seq,
        n_heads: config.n_heads,
        n_kv_heads: config.n_kv_heads,
        d_head: config.d_head(),
    }
}

/// The mask, ALiBi and soft-cap of layer `l`'s logits.
pub(super) fn logits(c: &ModelConfig, l: usize) -> attn::Logits {
    attn::Logits {
        pattern: c.pattern_for_layer(l),
        alibi: c.position == Position::Alibi,
        softcap: c.attn_logit_softcap,
    }
}

/// Records the launches of one plan, mirroring `cpu::model`.
pub(super) struct Builder<'a> {
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
    /// The position rows `[T, C]` the embedding adds from a buffer of the plan's own: the
    /// sinusoidal table, or when decoding the learned table's rows at the run's positions.
    embedding_table: Option<wgpu::Buffer>,
    /// When decoding: the cache the new keys and values join and attention reads.
    cache: Option<&'a KvCache>,
    /// Indices in `kernels` of the launches placed at a decode's first position
    /// (`attention::set_start`).
    start_kernels: Vec<usize>,
    kernels: Vec<Kernel>,
    dropouts: Vec<DropoutSite>,
    /// Indices in `kernels` of the loss launches, whose z-loss coefficient is per run.
    loss_kernels: Vec<usize>,
}

/// The head as a linear layer without bias (the tied embedding, or `lm_head`).
fn head_params(layout: &ParamLayout) -> LinearParams {
    LinearParams {
        weight: layout.head(),
        bias: None,
    }
}

impl<'a> Builder<'a> {
    /// A builder for batches of `batch` sequences of `seq` tokens over the engine's buffers.
    pub(super) fn new(
        ctx: &'a GpuContext,
        config: &'a ModelConfig,
        layout: &'a ParamLayout,
        params: &'a wgpu::Buffer,
        grads: &'a wgpu::Buffer,
        batch: usize,
        seq: usize,
    ) -> Self {
        let rope_table = (config.position == Position::Rope).then(|| {
            let table = rope_table(seq, config.d_head(), f64::from(config.rope_theta));
            ctx.storage_buffer("rope table", &table)
        });
        let embedding_table = (config.position == Position::Sinusoidal).then(|| {
            let table = sinusoidal_table(seq, config.d_model);
            ctx.storage_buffer("sinusoidal table", &table)
        });
        Self {
            ctx,
            config,
            layout,
            params,
            grads,
            rows: batch * seq,
            shape: attention_shape(config, batch, seq),
            rope_table,
            embedding_table,
            cache: None,
            start_kernels: Vec::new(),
            kernels: Vec::new(),
            dropouts: Vec::new(),
            loss_kernels: Vec::new(),
        }
    }

    /// A builder for the forward of `seq` new tokens of one sequence after those `cache` holds:
    /// their keys and values join the cache, attention reads it, nothing drops. Each run
    /// writes the position rows (`finish_decoding`) and the start of the launches placed there.
    #[allow(clippy::too_many_arguments)] // the engine's buffers, the size and the cache
    pub(super) fn decoding(
        ctx: &'a GpuContext,
        config: &'a ModelConfig,
        layout: &'a ParamLayout,
        params: &'a wgpu::Buffer,
        grads: &'a wgpu::Buffer,
        seq: usize,
        cache: &'a KvCache,
    ) -> Self {
        let mut b = Self::new(ctx, config, layout, params, grads, 1, seq);
        match config.position {
            Position::Learned => {
                let rows = ctx.zeros("learned position rows", seq * config.d_model);
                b.embedding_table = Some(rows);
            }
            Position::Sinusoidal | Position::Rope | Position::Alibi | Position::None => {}
        }
        b.cache = Some(cache);
        b
    }

    /// A decode's launches, the indices of those placed at its first position, and the rows
    /// each run writes: RoPE's table `[T, D/2, 2]` and the embedding's position rows `[T, C]`.
    pub(super) fn finish_decoding(self) -> DecodeLaunches {
        DecodeLaunches {
            kernels: self.kernels,
            start_kernels: self.start_kernels,
            rope_table: self.rope_table,
            embedding_table: self.embedding_table,
        }
    }

    /// The launches recorded so far, the dropout sites among them, and the loss kernels (whose
    /// z-loss coefficient each run sets).
    pub(super) fn finish(self) -> (Vec<Kernel>, Vec<DropoutSite>, Vec<usize>) {
        (self.kernels, self.dropouts, self.loss_kernels)
    }

    /// Launches recorded so far.
    pub(super) fn len(&self) -> usize {
        self.kernels.len()
    }

    /// Appends launches that are not the model's (gradient norm, clipping, AdamW).
    pub(super) fn push(&mut self, kernel: Kernel) {
        self.kernels.push(kernel);
    }

    /// The forward of the whole model: embedding, layers, final norm, head, loss (with z-loss
    /// `z_coef`, rewritten per run), then the view statistics.
    pub(super) fn forward(&mut self) -> ModelActs {
        let (tokens, emb_shape, embedded, layers, final_norm, logits) = self.logits_forward();
        let (ctx, rows, v) = (self.ctx, self.rows, self.config.vocab_size);
        let targets = ctx.storage_buffer("targets", &vec![IGNORE; rows]);
        let loss_shape = LossShape {
            rows,
            vocab: v,
            z_coef: 0.0,
        };
        let lse = self.buffer("lse", rows);
        let row_loss = self.buffer("row_loss", rows * 2);
        let loss_stats = self.buffer("loss stats", STATS_LEN);
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
                (&lse).into(),
                (&loss_stats).into(),
            ),
        ];
        for kernel in kernels {
            self.loss_kernels.push(self.kernels.len());
            self.kernels.push(kernel);
        }
        let view_stats = self.view_stats(&layers);
        ModelActs {
            tokens,
            targets,
            emb_shape,
            embedded,
            layers,
            final_norm,
            logits,
            loss_shape,
            lse,
            loss_stats,
            view_stats,
        }
    }

    /// The forward through the logits (all a decode runs): tokens `[B*T]` u32 (written before
    /// each run), the embedding's sizes and output, the layers, the final norm and the logits.
    pub(super) fn logits_forward(&mut self) -> LogitsActs {
        let (ctx, config, layout) = (self.ctx, self.config, self.layout);
        let (rows, c, v) = (self.rows, config.d_model, config.vocab_size);
        let tokens = ctx.storage_buffer("tokens", &vec![0u32; rows]);
        let emb_shape = EmbeddingShape {
            rows,
            seq: self.shape.seq,
            c,
            vocab: v,
        };
        // The plan's own rows (sinusoidal, or a decode's learned rows), else the learned table.
        let pos = match (&self.embedding_table, layout.pos_emb) {
            (Some(table), _) => Some(View::from(table)),
            (None, Some(p)) => Some(self.param(p)),
            (None, None) => None,
        };
        let embedded_raw = self.buffer("embedding", rows * c);
        let kernel = embedding_forward(
            ctx,
            "embedding",
            emb_shape,
            config.embedding_scale() as f32,
            (&tokens).into(),
            self.param(layout.tok_emb),
            pos,
            (&embedded_raw).into(),
        );
        self.kernels.push(kernel);
        let embedded = self.dropout(
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
            let acts = self.layer(l, &x);
            layers.push(acts);
        }
        let x = layers
            .last()
            .map_or(embedded.clone(), |last| last.output(config.block));
        let final_norm = self.stream_norm("final_norm", layout.final_norm, &x);
        let logits = self.linear("head", head_params(layout), &site_out(&final_norm, &x));
        match config.final_logit_softcap {
            None => {}
            Some(cap) => {
                let kernel = softcap_forward(ctx, "head.softcap", cap, rows * v, (&logits).into());
                self.kernels.push(kernel);
            }
        }
        (tokens, emb_shape, embedded, layers, final_norm, logits)
    }

    fn buffer(&self, label: &str, len: usize) -> wgpu::Buffer {
        self.ctx.zeros(label, len)
    }

    /// The per-step views of the forward, reduced on the GPU so that a step's statistics stay
    /// a few floats: `[4 L]` as `ModelActs::view_stats` describes.
    fn view_stats(&mut self, layers: &[LayerActs]) -> wgpu::Buffer {
        let n_layers = layers.len();
        let stats = self.buffer("view stats", 4 * n_layers);
        let (stream_len, rows_of_logits) = (
            self.rows * self.config.d_model,
            self.shape.batch * self.shape.n_heads * self.shape.seq,
        );
        // Three streams per layer, each a whole buffer: a partial pass each, one final pass.
        let ranges: Vec<SumRange> = (0..3 * n_layers)
            .map(|i| SumRange::new(0, stream_len, i))
            .collect();
        let table = SumTable::new(self.ctx, "view stats", &ranges);
        for (l, acts) in layers.iter().enumerate() {
            let streams = [
                acts.output(self.config.block),
                acts.attn_added.clone(),
                acts.mlp_added.clone(),
            ];
            for (i, stream) in streams.iter().enumerate() {
                let range = 3 * l + i;
                self.kernels.push(sum_squares_partial(
                    self.ctx,
                    &format!("layer{l}.view_stats.{i}"),
                    &table,
                    range..range + 1,
                    stream.into(),
                ));
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
        self.kernels.push(sum_squares_final(
            self.ctx,
            "view_stats.final",
            &table,
            (&stats).into(),
        ));
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

    /// A norm of type `kind` over `[rows, dim]` when the site exists. With `residual` as
    /// `(residual, sum)` its input is `sum = inp + residual`, added in the same launch.
    #[allow(clippy::too_many_arguments)] // the kernel's sizes and buffers
    fn norm(
        &mut self,
        label: &str,
        kind: NormType,
        site: Option<NormParams>,
        inp: &wgpu::Buffer,
        residual: Option<(&wgpu::Buffer, &wgpu::Buffer)>,
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
            residual.map(|(residual, sum)| (residual.into(), sum.into())),
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
        self.norm(label, kind, site, inp, None, rows, c)
    }

    /// The residual add `sum = a + b` over the stream and the norm at `site` that reads `sum`:
    /// one launch where the site has a norm (labelled by `norm_label`), the add alone without.
    fn add_stream_norm(
        &mut self,
        add_label: &str,
        norm_label: &str,
        site: Option<NormParams>,
        a: &wgpu::Buffer,
        b: &wgpu::Buffer,
    ) -> (wgpu::Buffer, Option<NormBufs>) {
        let (kind, rows, c) = (self.config.norm, self.rows, self.config.d_model);
        match site {
            Some(_) => {
                let sum = self.buffer(add_label, rows * c);
                let norm = self.norm(norm_label, kind, site, a, Some((b, &sum)), rows, c);
                (sum, norm)
            }
            None => (self.add(add_label, a, b), None),
        }
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
        // Decoding never drops.
        if p == 0.0 || self.cache.is_some() {
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
            None,
            q_rows,
            q_dim,
        );
        let k_norm = self.norm(
            &format!("{name}.k_norm"),
            qk,
            p.k_norm,
            &k_proj,
            None,
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
        let row_max = self.buffer(&format!("{name}.row_max"), s.batch * s.n_heads * s.seq);
        let y = self.buffer(&format!("{name}.y"), self.rows * s.n_heads * s.d_head);
        let logits = logits(c, l);
        let softmax = match (self.cache, c.dropout.attn) {
            // The new keys and values join the cache; the queries attend over all it holds.
            (Some(cache), _) => {
                let (k_cache, v_cache) = (&cache.keys[l], &cache.values[l]);
                let append = attn::cache_append(
                    self.ctx,
                    &format!("{name}.cache_append"),
                    s,
                    (&k).into(),
                    (&v).into(),
                    k_cache.into(),
                    v_cache.into(),
                );
                self.push_at_start(append);
                let lse = self.buffer(&format!("{name}.lse"), s.n_heads * s.seq);
                let attend = attn::fused_forward(
                    self.ctx,
                    &format!("{name}.cached"),
                    s,
                    logits,
                    (&q).into(),
                    k_cache.into(),
                    v_cache.into(),
                    (&y).into(),
                    (&lse).into(),
                    (&row_max).into(),
                );
                self.push_at_start(attend);
                Softmax::Fused { lse }
            }
            (None, 0.0) => {
                let lse = self.buffer(&format!("{name}.lse"), s.batch * s.n_heads * s.seq);
                self.kernels.push(attn::fused_forward(
                    self.ctx,
                    &format!("{name}.fused"),
                    s,
                    logits,
                    (&q).into(),
                    (&k).into(),
                    (&v).into(),
                    (&y).into(),
                    (&lse).into(),
                    (&row_max).into(),
                ));
                Softmax::Fused { lse }
            }
            (None, p) => {
                let n_probs = s.batch * s.n_heads * s.seq * s.seq;
                let probs = self.buffer(&format!("{name}.probs"), n_probs);
                self.kernels.push(attn::probs_forward(
                    self.ctx,
                    &format!("{name}.softmax"),
                    s,
                    logits,
                    (&q).into(),
                    (&k).into(),
                    (&probs).into(),
                    (&row_max).into(),
                ));
                let label = format!("{name}.probs_dropout");
                let weights = self.dropout(&label, &probs, n_probs, p, attn_probs_site(l));
                self.kernels.push(attn::weighted_sum(
                    self.ctx,
                    &format!("{name}.values"),
                    s,
                    (&weights).into(),
                    (&v).into(),
                    (&y).into(),
                ));
                Softmax::Materialised { probs, weights }
            }
        };
        let out = self.linear(&format!("{name}.wo"), p.wo, &y);
        AttentionActs {
            q_proj,
            k_proj,
            v,
            q_norm,
            k_norm,
            q,
            k,
            softmax,
            row_max,
            y,
            out,
        }
    }

    /// Appends a launch that each decode run places at its first position.
    fn push_at_start(&mut self, kernel: Kernel) {
        self.start_kernels.push(self.kernels.len());
        self.kernels.push(kernel);
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
                // The residual add fused with the norm that reads the sum next.
                let (sum_attn, attn_post, mlp_in) = match p.attn_post_norm {
                    Some(_) => {
                        let (sum_attn, attn_post) = self.add_stream_norm(
                            &label("attn_residual"),
                            &label("attn_post_norm"),
                            p.attn_post_norm,
                            x,
                            &attn_added,
                        );
                        let mid = site_out(&attn_post, &sum_attn);
                        let mlp_in = self.stream_norm(&label("mlp_in_norm"), p.mlp_in_norm, &mid);
                        (sum_attn, attn_post, mlp_in)
                    }
                    None => {
                        let (sum_attn, mlp_in) = self.add_stream_norm(
                            &label("attn_residual"),
                            &label("mlp_in_norm"),
                            p.mlp_in_norm,
                            x,
                            &attn_added,
                        );
                        (sum_attn, None, mlp_in)
                    }
                };
                let mid = site_out(&attn_post, &sum_attn);
                let mlp = self.mlp(l, &site_out(&mlp_in, &mid));
                let mlp_out = self.stream_norm(&label("mlp_out_norm"), p.mlp_out_norm, &mlp.out);
                let mlp_added = self.branch_output(
                    &label("mlp_dropout"),
                    &mlp_out,
                    &mlp.out,
                    mlp_branch_site(l),
                );
                let (sum_mlp, mlp_post) = self.add_stream_norm(
                    &label("mlp_residual"),
                    &label("mlp_post_norm"),
                    p.mlp_post_norm,
                    &mid,
                    &mlp_added,
                );
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
}

/// The forward through the logits: tokens, the embedding's sizes and output, the layers, the
/// final norm and the logits (`Builder::logits_forward`).
pub(super) type LogitsActs = (
    wgpu::Buffer,
    EmbeddingShape,
    wgpu::Buffer,
    Vec<LayerActs>,
    Option<NormBufs>,
    wgpu::Buffer,
);

/// What a decode's plan runs and writes before each run (`Builder::finish_decoding`).
pub(super) struct DecodeLaunches {
    pub(super) kernels: Vec<Kernel>,
    /// Indices in `kernels` of the launches placed at the run's first position.
    pub(super) start_kernels: Vec<usize>,
    /// RoPE's table `[T, D/2, 2]`, the rows of the run's positions.
    pub(super) rope_table: Option<wgpu::Buffer>,
    /// The embedding's position rows `[T, C]` (sinusoidal or learned) at the run's positions.
    pub(super) embedding_table: Option<wgpu::Buffer>,
}

/// What the whole model's forward leaves for the backward and for reads.
pub(super) struct ModelActs {
    /// `[B*T]` u32 and i32, written before each run.
    pub(super) tokens: wgpu::Buffer,
    pub(super) targets: wgpu::Buffer,
    emb_shape: EmbeddingShape,
    /// The embedding's output after dropout: the first layer's input.
    embedded: wgpu::Buffer,
    pub(super) layers: Vec<LayerActs>,
    final_norm: Option<NormBufs>,
    /// `[B, T, V]`.
    pub(super) logits: wgpu::Buffer,
    loss_shape: LossShape,
    lse: wgpu::Buffer,
    /// `[STATS_LEN]`: mean cross-entropy, mean z-loss, count, mean log Z.
    pub(super) loss_stats: wgpu::Buffer,
    /// `[4 L]`: per layer the root sum of squares of the output stream and of the attention and
    /// MLP branch outputs (`[B*T, C]` each), then per layer the largest attention logit.
    pub(super) view_stats: wgpu::Buffer,
}

impl ModelActs {
    /// Sizes of the loss launches.
    pub(super) fn loss_shape(&self) -> LossShape {
        self.loss_shape
    }

    /// The last layer's output (the embedding without layers).
    fn stream(&self, block: BlockLayout) -> wgpu::Buffer {
        self.layers
            .last()
            .map_or(self.embedded.clone(), |last| last.output(block))
    }
}
