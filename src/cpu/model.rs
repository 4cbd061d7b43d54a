//! The whole model on the CPU: `forward` is a list of op calls with the toggles as `match`
//! arms, `backward` the same calls in exact reverse. Generic over `Real`, so the engine runs it
//! in f32 and the gradient checks in f64.
//!
//! Gradient convention (stated once, llm.c style): parameter gradients are accumulated (`+=`)
//! into the flat gradient buffer; activation gradients are returned or written fresh (`=`).
//!
//! Block, with norm sites from `ModelConfig::norm_sites` (absent sites are the identity):
//! serial   `m = Post_a(x + Drop(Out_a(Attn(In_a(x)))))`,
//!          `y = Post_m(m + Drop(Out_m(MLP(In_m(m)))))`;
//! parallel `y = Post(x + Drop(Out_a(Attn(In_a(x)))) + Drop(Out_m(MLP(In_m(x)))))`, where
//!          `In_m` is `In_a` itself unless `parallel_norm` is per-branch.

mod backward;

use backward::Backward;

use super::activation::{activation_backward, activation_forward};
use std::cell::RefCell;

use super::attention::{
    attention_cached_forward, attention_probs_backward, attention_probs_forward,
    attention_values_backward, attention_values_forward,
};
use super::dropout::dropout;
use super::kv_cache::KvCache;
use super::linear::{linear_backward, linear_forward};
use super::loss::{cross_entropy_backward, cross_entropy_forward, LossTerms};
use super::norm::{norm_backward, norm_forward, NormStats};
use super::position::{
    add_sinusoidal, embedding_backward, embedding_forward, rope_backward, rope_forward_at,
};
use super::real::{add, add_into, zeros, Real};
use super::softcap::{softcap_backward, softcap_forward};
use crate::contract::ops::{
    attn_branch_site, attn_probs_site, mlp_branch_site, AttentionShape, DropoutKey, EMBEDDING_SITE,
};
use crate::contract::LayerNorms;
use crate::model::layout::{LinearParams, NormParams};
use crate::model::{BlockLayout, ModelConfig, NormType, ParamLayout, Position};

/// Dropout is on for a training forward: the run's seed and the step pick the masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DropoutRun {
    /// Run seed, folded to 32 bits.
    pub seed: u32,
    /// Training step.
    pub step: u32,
}

/// A norm site's output and statistics; its input is kept by whoever produced it.
struct NormCache<R> {
    /// Normalised rows, `[rows, dim]`.
    out: Vec<R>,
    /// Per-row statistics for the backward.
    stats: NormStats<R>,
}

/// Activations of one attention sub-layer.
struct AttentionActs<R> {
    /// `h Wq^T + bq`, `[B, T, H*D]`.
    q_proj: Vec<R>,
    /// `h Wk^T + bk`, `[B, T, K*D]`.
    k_proj: Vec<R>,
    /// `h Wv^T + bv`, `[B, T, K*D]`.
    v: Vec<R>,
    /// QK-norm of the queries, `[B*T*H, D]`.
    q_norm: Option<NormCache<R>>,
    /// QK-norm of the keys, `[B*T*K, D]`.
    k_norm: Option<NormCache<R>>,
    /// Queries after QK-norm and RoPE, `[B, T, H, D]`.
    q: Vec<R>,
    /// Keys after QK-norm and RoPE, `[B, T, K, D]`.
    k: Vec<R>,
    /// Softmax probabilities, `[B, H, T, T]`.
    probs: Vec<R>,
    /// Probabilities after attention dropout, `[B, H, T, T]`; empty when there is none.
    dropped: Vec<R>,
    /// Heads' outputs concatenated, `[B, T, H*D]`.
    y: Vec<R>,
    /// `y Wo^T + bo`, `[B, T, C]`.
    out: Vec<R>,
    /// Largest visible `q.k / sqrt(D)`, soft-capped if the model caps it.
    max_logit: f64,
}

/// The weights attention averages values with: the probabilities after dropout, if any.
fn attention_weights<'a, R>(probs: &'a [R], dropped: &'a [R]) -> &'a [R] {
    if dropped.is_empty() {
        probs
    } else {
        dropped
    }
}

/// Activations of one MLP sub-layer.
struct MlpActs<R> {
    /// `h W1^T + b1`, `[B, T, F]`.
    a: Vec<R>,
    /// `h V^T + bv`, `[B, T, F]`; gated activations only.
    gate: Option<Vec<R>>,
    /// `act(a)` or `act(a) * gate`, `[B, T, F]`.
    act: Vec<R>,
    /// `act W2^T + b2`, `[B, T, C]`.
    out: Vec<R>,
}

/// Activations of one block; field names follow `LayerParams`.
struct LayerActs<R> {
    /// Attention input norm (parallel: the shared input norm), `[B*T, C]`.
    attn_in: Option<NormCache<R>>,
    /// Attention sub-layer.
    attn: AttentionActs<R>,
    /// Attention output norm, `[B*T, C]`.
    attn_out: Option<NormCache<R>>,
    /// What the attention branch adds to the stream, after dropout, `[B, T, C]`.
    attn_added: Vec<R>,
    /// Stream plus attention branch (parallel: plus both branches), `[B, T, C]`.
    sum_attn: Vec<R>,
    /// Post norm of `sum_attn`, `[B*T, C]`.
    attn_post: Option<NormCache<R>>,
    /// MLP input norm (serial only), `[B*T, C]`.
    mlp_in: Option<NormCache<R>>,
    /// MLP sub-layer.
    mlp: MlpActs<R>,
    /// MLP output norm, `[B*T, C]`.
    mlp_out: Option<NormCache<R>>,
    /// What the MLP branch adds to the stream, after dropout, `[B, T, C]`.
    mlp_added: Vec<R>,
    /// Serial: stream after the attention sub-layer plus MLP branch, `[B, T, C]`; parallel: empty.
    sum_mlp: Vec<R>,
    /// Serial: post norm of `sum_mlp`, `[B*T, C]`.
    mlp_post: Option<NormCache<R>>,
}

/// The optional norm's output, or its input when the site has no norm.
fn site_out<'a, R>(cache: &'a Option<NormCache<R>>, inp: &'a [R]) -> &'a [R] {
    cache.as_ref().map_or(inp, |c| &c.out)
}

impl<R: Real> LayerActs<R> {
    /// Serial: the stream between the two sub-layers, `[B, T, C]`.
    fn mid(&self) -> &[R] {
        site_out(&self.attn_post, &self.sum_attn)
    }

    /// The layer's output stream, `[B, T, C]`.
    fn output(&self, block: BlockLayout) -> &[R] {
        match block {
            BlockLayout::Serial => site_out(&self.mlp_post, &self.sum_mlp),
            BlockLayout::Parallel => self.mid(),
        }
    }
}

/// A forward's embedding, blocks, final norm and logits.
type ModelActs<R> = (Vec<R>, Vec<LayerActs<R>>, Option<NormCache<R>>, Vec<R>);

/// Read-only state every forward op call needs (a decode's cache aside).
struct Forward<'a, R> {
    config: &'a ModelConfig,
    layout: &'a ParamLayout,
    params: &'a [R],
    /// B*T.
    rows: usize,
    shape: AttentionShape,
    dropout: Option<DropoutRun>,
    /// Position of the first row: 0, or the positions a KV cache holds when decoding.
    start: usize,
    /// When decoding: the cache the new keys and values join and attention reads.
    cache: Option<RefCell<&'a mut KvCache<R>>>,
}

impl<'a, R: Real> Forward<'a, R> {
    fn tensor(&self, index: usize) -> &'a [R] {
        &self.params[self.layout.tensors[index].range()]
    }

    /// `inp` `[rows, in]` through a linear layer, `[rows, out]`.
    fn linear(&self, p: LinearParams, inp: &[R]) -> Vec<R> {
        let [n_out, n_in] = self.layout.tensors[p.weight].shape[..] else {
            unreachable!("a matrix")
        };
        let mut out = zeros(inp.len() / n_in * n_out);
        linear_forward(
            &mut out,
            inp,
            self.tensor(p.weight),
            p.bias.map(|b| self.tensor(b)),
            n_in,
        );
        out
    }

    /// A norm site of type `kind` over the rows of `inp`, when the site exists.
    fn norm(&self, kind: NormType, site: Option<NormParams>, inp: &[R]) -> Option<NormCache<R>> {
        site.map(|p| {
            let mut cache = NormCache {
                out: zeros(inp.len()),
                stats: NormStats::default(),
            };
            let (weight, bias) = (self.tensor(p.weight), p.bias.map(|b| self.tensor(b)));
            let eps = f64::from(self.config.norm_eps);
            norm_forward(
                kind,
                &mut cache.out,
                &mut cache.stats,
                inp,
                weight,
                bias,
                eps,
            );
            cache
        })
    }

    /// Applies dropout with probability `p` at `site` in place when training.
    fn dropout(&self, x: &mut [R], p: f32, site: u32) {
        if let Some(run) = self.dropout {
            dropout(
                x,
                p,
                DropoutKey {
                    seed: run.seed,
                    step: run.step,
                    site,
                },
            );
        }
    }

    /// Whether dropout with probability `p` changes anything in this forward.
    fn drops(&self, p: f32) -> bool {
        self.dropout.is_some() && p > 0.0
    }

    /// The embedding, every block, the final norm and the logits `[B, T, V]` of `tokens`.
    fn model(&self, tokens: &[u32]) -> ModelActs<R> {
        let (config, layout) = (self.config, self.layout);
        let (c, v, seq) = (config.d_model, config.vocab_size, self.shape.seq);
        let mut embedded = zeros(self.rows * c);
        // Learned positions: the table's rows from the first position on.
        let pos_emb = layout.pos_emb.map(|p| &self.tensor(p)[self.start * c..]);
        embedding_forward(
            &mut embedded,
            tokens,
            self.tensor(layout.tok_emb),
            pos_emb,
            seq,
            config.embedding_scale(),
        );
        match config.position {
            Position::Sinusoidal => add_sinusoidal(&mut embedded, self.start, seq, c),
            Position::Learned | Position::Rope | Position::Alibi | Position::None => {}
        }
        self.dropout(&mut embedded, config.dropout.embd, EMBEDDING_SITE);

        let mut layers = Vec::with_capacity(config.n_layers);
        for l in 0..config.n_layers {
            let x = layers.last().map_or(&embedded[..], |prev: &LayerActs<R>| {
                prev.output(config.block)
            });
            let acts = self.layer(l, x);
            layers.push(acts);
        }
        let x = layers
            .last()
            .map_or(&embedded[..], |last| last.output(config.block));
        let final_norm = self.norm(config.norm, layout.final_norm, x);
        let mut logits = zeros(self.rows * v);
        linear_forward(
            &mut logits,
            site_out(&final_norm, x),
            self.tensor(layout.head()),
            None,
            c,
        );
        match config.final_logit_softcap {
            None => {}
            Some(cap) => softcap_forward(&mut logits, f64::from(cap)),
        }
        (embedded, layers, final_norm, logits)
    }

    fn attention(&self, layer: usize, h: &[R]) -> AttentionActs<R> {
        let c = self.config;
        let p = self.layout.layers[layer].attn;
        let s = self.shape;
        let q_proj = self.linear(p.wq, h);
        let k_proj = self.linear(p.wk, h);
        let v = self.linear(p.wv, h);
        let q_norm = self.norm(c.qk_norm_type(), p.q_norm, &q_proj);
        let k_norm = self.norm(c.qk_norm_type(), p.k_norm, &k_proj);
        let mut q = site_out(&q_norm, &q_proj).to_vec();
        let mut k = site_out(&k_norm, &k_proj).to_vec();
        let theta = f64::from(c.rope_theta);
        match c.position {
            Position::Rope => {
                rope_forward_at(&mut q, self.start, s.seq, s.n_heads, s.d_head, theta);
                rope_forward_at(&mut k, self.start, s.seq, s.n_kv_heads, s.d_head, theta);
            }
            Position::Learned | Position::Sinusoidal | Position::Alibi | Position::None => {}
        }
        let alibi = c.position == Position::Alibi;
        let pattern = c.pattern_for_layer(layer);
        let cap = c.attn_logit_softcap.map(f64::from);
        let mut y = zeros(self.rows * s.n_heads * s.d_head);
        let (mut probs, mut dropped) = (Vec::new(), Vec::new());
        let max_logit = match &self.cache {
            None => {
                probs = zeros(s.batch * s.n_heads * s.seq * s.seq);
                let max_logit = attention_probs_forward(&mut probs, &q, &k, s, pattern, alibi, cap);
                if self.drops(c.dropout.attn) {
                    dropped = probs.clone();
                    self.dropout(&mut dropped, c.dropout.attn, attn_probs_site(layer));
                }
                attention_values_forward(&mut y, attention_weights(&probs, &dropped), &v, s);
                max_logit
            }
            // Decoding keeps no probabilities: nothing runs backward.
            Some(cache) => {
                let mut cache = cache.borrow_mut();
                cache.append(layer, &k, &v);
                let start = self.start;
                attention_cached_forward(&mut y, &q, &cache, layer, start, s, pattern, alibi, cap)
            }
        };
        let out = self.linear(p.wo, &y);
        AttentionActs {
            q_proj,
            k_proj,
            v,
            q_norm,
            k_norm,
            q,
            k,
            probs,
            dropped,
            y,
            out,
            max_logit,
        }
    }

    fn mlp(&self, layer: usize, h: &[R]) -> MlpActs<R> {
        let p = self.layout.layers[layer].mlp;
        let a = self.linear(p.w1, h);
        let gate = p.v.map(|v| self.linear(v, h));
        let mut act = zeros(a.len());
        activation_forward(self.config.activation, &mut act, &a, gate.as_deref());
        let out = self.linear(p.w2, &act);
        MlpActs { a, gate, act, out }
    }

    /// `Drop(Out(f))`: what a branch adds to the residual stream.
    fn branch_output(&self, out_norm: &Option<NormCache<R>>, f: &[R], site: u32) -> Vec<R> {
        let mut added = site_out(out_norm, f).to_vec();
        self.dropout(&mut added, self.config.dropout.resid, site);
        added
    }

    fn layer(&self, l: usize, x: &[R]) -> LayerActs<R> {
        let p = &self.layout.layers[l];
        let kind = self.config.norm;
        match self.config.block {
            BlockLayout::Serial => {
                let attn_in = self.norm(kind, p.attn_in_norm, x);
                let attn = self.attention(l, site_out(&attn_in, x));
                let attn_out = self.norm(kind, p.attn_out_norm, &attn.out);
                let attn_added = self.branch_output(&attn_out, &attn.out, attn_branch_site(l));
                let mut sum_attn = zeros(x.len());
                add(&mut sum_attn, x, &attn_added);
                let attn_post = self.norm(kind, p.attn_post_norm, &sum_attn);
                let mid = site_out(&attn_post, &sum_attn);
                let mlp_in = self.norm(kind, p.mlp_in_norm, mid);
                let mlp = self.mlp(l, site_out(&mlp_in, mid));
                let mlp_out = self.norm(kind, p.mlp_out_norm, &mlp.out);
                let mlp_added = self.branch_output(&mlp_out, &mlp.out, mlp_branch_site(l));
                let mut sum_mlp = zeros(x.len());
                add(&mut sum_mlp, mid, &mlp_added);
                let mlp_post = self.norm(kind, p.mlp_post_norm, &sum_mlp);
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
                let attn_in = self.norm(kind, p.attn_in_norm, x);
                let h = site_out(&attn_in, x);
                // Per-branch norms (GPT-NeoX) give the MLP its own input; shared, it reads h.
                let mlp_in = self.norm(kind, p.mlp_in_norm, x);
                let attn = self.attention(l, h);
                let mlp = self.mlp(l, site_out(&mlp_in, h));
                let attn_out = self.norm(kind, p.attn_out_norm, &attn.out);
                let attn_added = self.branch_output(&attn_out, &attn.out, attn_branch_site(l));
                let mlp_out = self.norm(kind, p.mlp_out_norm, &mlp.out);
                let mlp_added = self.branch_output(&mlp_out, &mlp.out, mlp_branch_site(l));
                let mut sum_attn = zeros(x.len());
                add(&mut sum_attn, x, &attn_added);
                add_into(&mut sum_attn, &mlp_added);
                let attn_post = self.norm(kind, p.attn_post_norm, &sum_attn);
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
                    sum_mlp: Vec::new(),
                    mlp_post: None,
                }
            }
        }
    }
}

/// The model's activations of the last forward, and the code that computes them.
pub struct Model<R> {
    config: ModelConfig,
    layout: ParamLayout,
    /// B of the last forward.
    batch: usize,
    /// T of the last forward.
    seq: usize,
    /// Dropout of the last forward; None in evaluation.
    dropout: Option<DropoutRun>,
    /// Input tokens, `[B, T]`.
    tokens: Vec<u32>,
    /// Embedding (+ position table) after embedding dropout, `[B, T, C]`.
    embedded: Vec<R>,
    /// One entry per block.
    layers: Vec<LayerActs<R>>,
    /// Final norm, `[B*T, C]`.
    final_norm: Option<NormCache<R>>,
    /// Output logits, `[B, T, V]`.
    logits: Vec<R>,
    /// Row logsumexps of the last `loss`, `[B, T]`.
    lse: Vec<R>,
    /// Targets of the last `loss`, `[B, T]`.
    targets: Vec<i32>,
    /// Terms of the last `loss`.
    loss: LossTerms,
    /// z-loss coefficient of the last `loss`.
    z_coef: f64,
}

impl<R: Real> Model<R> {
    /// A model for a validated config; no forward has run yet.
    pub fn new(config: &ModelConfig) -> Self {
        Self {
            config: config.clone(),
            layout: ParamLayout::new(config),
            batch: 0,
            seq: 0,
            dropout: None,
            tokens: Vec::new(),
            embedded: Vec::new(),
            layers: Vec::new(),
            final_norm: None,
            logits: Vec::new(),
            lse: Vec::new(),
            targets: Vec::new(),
            loss: LossTerms::default(),
            z_coef: 0.0,
        }
    }

    /// The parameter layout the flat buffers follow.
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// The architecture.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn forward_state<'a>(&'a self, params: &'a [R]) -> Forward<'a, R> {
        self.forward_at(params, self.batch, self.seq, self.dropout, None)
    }

    /// The forward of `[batch, seq]` rows, after what `cache` holds when decoding.
    fn forward_at<'a>(
        &'a self,
        params: &'a [R],
        batch: usize,
        seq: usize,
        dropout: Option<DropoutRun>,
        cache: Option<&'a mut KvCache<R>>,
    ) -> Forward<'a, R> {
        let c = &self.config;
        Forward {
            config: c,
            layout: &self.layout,
            params,
            rows: batch * seq,
            shape: AttentionShape {
                batch,
                seq,
                n_heads: c.n_heads,
                n_kv_heads: c.n_kv_heads,
                d_head: c.d_head(),
            },
            dropout,
            start: cache.as_ref().map_or(0, |cache| cache.len()),
            cache: cache.map(RefCell::new),
        }
    }

    /// Checks a forward's tokens against the context and the vocabulary.
    fn check_tokens(&self, tokens: &[u32], positions: usize) {
        assert!(
            positions <= self.config.context_len,
            "{positions} positions exceed context_len"
        );
        let vocab = self.config.vocab_size;
        assert!(
            tokens.iter().all(|&t| (t as usize) < vocab),
            "a token id is >= vocab_size {vocab}"
        );
    }

    /// Runs the model on `tokens` `[batch, seq]` (seq <= context_len) and keeps every
    /// activation the backward needs; the logits are then in `logits()`.
    pub fn forward(
        &mut self,
        params: &[R],
        tokens: &[u32],
        batch: usize,
        seq: usize,
        dropout: Option<DropoutRun>,
    ) {
        assert_eq!(tokens.len(), batch * seq, "tokens are [batch, seq]");
        self.check_tokens(tokens, seq);
        (self.batch, self.seq, self.dropout) = (batch, seq, dropout);
        self.tokens = tokens.to_vec();
        self.layers.clear();
        let acts = self.forward_state(params).model(tokens);
        (self.embedded, self.layers, self.final_norm, self.logits) = acts;
    }

    /// Runs one sequence's `tokens` at the positions after those `cache` holds, appends their
    /// keys and values to it, and returns the logits after the last token, `[V]`. Keeps no
    /// activations: the prefill (an empty cache) and each generated token of a KV-cached decode.
    pub fn decode(&self, params: &[R], cache: &mut KvCache<R>, tokens: &[u32]) -> Vec<R> {
        self.check_tokens(tokens, cache.len() + tokens.len());
        let fwd = self.forward_at(params, 1, tokens.len(), None, Some(&mut *cache));
        let (_, _, _, logits) = fwd.model(tokens);
        cache.advance(tokens.len());
        let v = self.config.vocab_size;
        logits[logits.len() - v..].to_vec()
    }

    /// Loss of the last forward against `targets` `[B, T]` with z-loss coefficient `z_coef`.
    pub fn loss(&mut self, targets: &[i32], z_coef: f64) -> LossTerms {
        self.lse = zeros(targets.len());
        self.targets = targets.to_vec();
        self.z_coef = z_coef;
        self.loss = cross_entropy_forward(&mut self.lse, &self.logits, targets, z_coef);
        self.loss
    }

    /// Gradient of the last `loss` total w.r.t. every parameter, accumulated into `grads`
    /// (same layout as `params`, which must be the forward's).
    pub fn backward(&self, params: &[R], grads: &mut [R]) {
        let block = self.config.block;
        let mut back = Backward {
            fwd: self.forward_state(params),
            grads,
        };
        let mut dlogits = zeros(self.logits.len());
        cross_entropy_backward(
            &mut dlogits,
            &self.logits,
            &self.lse,
            &self.targets,
            self.z_coef,
            self.loss.count,
        );
        match self.config.final_logit_softcap {
            None => {}
            Some(cap) => softcap_backward(&mut dlogits, &self.logits, f64::from(cap)),
        }
        let x = self
            .layers
            .last()
            .map_or(&self.embedded[..], |last| last.output(block));
        let head = LinearParams {
            weight: self.layout.head(),
            bias: None,
        };
        let dfinal = back.linear(head, &dlogits, site_out(&self.final_norm, x));
        let mut dx = back.norm(
            self.config.norm,
            self.layout.final_norm,
            &self.final_norm,
            dfinal,
            x,
        );

        for l in (0..self.config.n_layers).rev() {
            let x = if l == 0 {
                &self.embedded[..]
            } else {
                self.layers[l - 1].output(block)
            };
            dx = back.layer(l, &self.layers[l], dx, x);
        }

        back.fwd
            .dropout(&mut dx, self.config.dropout.embd, EMBEDDING_SITE);
        // The sinusoidal table is a constant: nothing to do for it.
        let (dtok, dpos) = back.pair(self.layout.tok_emb, self.layout.pos_emb);
        let padding = self.config.padding_token;
        let scale = self.config.embedding_scale();
        embedding_backward(dtok, dpos, &dx, &self.tokens, self.seq, padding, scale);
    }

    /// Logits of the last forward (soft-capped if the model caps them), `[B, T, V]`.
    pub fn logits(&self) -> &[R] {
        &self.logits
    }

    /// Attention probabilities of example 0 of the last forward, `[H, T, T]`.
    pub fn attention_probs(&self, layer: usize) -> &[R] {
        let per_example = self.config.n_heads * self.seq * self.seq;
        &self.layers[layer].attn.probs[..per_example]
    }

    /// Largest attention logit of each layer in the last forward.
    pub fn max_attention_logits(&self) -> Vec<f32> {
        self.layers
            .iter()
            .map(|l| l.attn.max_logit as f32)
            .collect()
    }

    /// RMS of the residual stream and branch outputs per layer in the last forward.
    pub fn activation_norms(&self) -> Vec<LayerNorms> {
        let rms = |x: &[R]| {
            (x.iter().map(|v| v.to_f64().powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
                as f32
        };
        self.layers
            .iter()
            .map(|l| LayerNorms {
                residual: rms(l.output(self.config.block)),
                attn: rms(&l.attn_added),
                mlp: rms(&l.mlp_added),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::IGNORE;
    use crate::cpu::real::gradcheck::{central_difference, uniform};
    use crate::model::{
        Activation, AttentionPattern, Dropout, LayerPattern, NormPosition, ParallelNorm,
        QkNormScope,
    };
    use rand_chacha::ChaCha8Rng;
    use rand_core::{RngCore, SeedableRng};

    const NORMS: [NormType; 3] = [NormType::LayerNorm, NormType::RmsNorm, NormType::None];
    const NORM_POSITIONS: [NormPosition; 4] = [
        NormPosition::Post,
        NormPosition::Pre,
        NormPosition::Double,
        NormPosition::PostInBranch,
    ];
    // GeGLU-tanh is left out: it is GeGLU's code path with GeLU-tanh's pointwise function, each
    // checked (cpu::activation's gradient test has every variant), and a longer list would
    // resample every config of the sweep below.
    const ACTIVATIONS: [Activation; 7] = [
        Activation::Relu,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Reglu,
        Activation::Geglu,
        Activation::Swiglu,
    ];
    const BLOCKS: [BlockLayout; 2] = [BlockLayout::Serial, BlockLayout::Parallel];
    const POSITIONS: [Position; 5] = [
        Position::Learned,
        Position::Sinusoidal,
        Position::Rope,
        Position::Alibi,
        Position::None,
    ];
    const PATTERNS: [AttentionPattern; 3] = [
        AttentionPattern::Full,
        AttentionPattern::SlidingWindow { window: 2 },
        AttentionPattern::Sparse {
            local: 1,
            stride: 2,
        },
    ];
    /// (n_heads, n_kv_heads): MHA, GQA and MQA.
    const HEADS: [(usize, usize); 6] = [(1, 1), (2, 1), (2, 2), (4, 2), (4, 1), (4, 4)];
    const D_HEADS: [Option<usize>; 3] = [None, Some(2), Some(4)];
    const LAYER_PATTERNS: usize = 3;

    /// Sampled configs in the sweep.
    const CONFIGS: usize = 42;
    /// Configs whose every parameter is checked.
    const FULLY_CHECKED: usize = 4;
    /// Random elements checked per tensor in the other configs.
    const ELEMENTS_PER_TENSOR: usize = 4;
    const BATCH: usize = 2;
    const SEQ: usize = 5;

    /// A random tiny config: every toggle drawn independently (the seed is fixed, and
    /// `sampled_configs_cover_every_toggle_value` checks the draw reaches every value).
    fn sample_config(rng: &mut ChaCha8Rng) -> ModelConfig {
        let pick = |rng: &mut ChaCha8Rng, len: usize| rng.next_u32() as usize % len;
        let coin = |rng: &mut ChaCha8Rng| rng.next_u32().is_multiple_of(2);
        let (n_heads, n_kv_heads) = HEADS[pick(rng, HEADS.len())];
        let attention = PATTERNS[pick(rng, PATTERNS.len())];
        let layer_pattern = match pick(rng, LAYER_PATTERNS) {
            0 => None,
            1 => Some(LayerPattern::GlobalEvery(2)),
            _ => Some(LayerPattern::PerLayer(vec![
                AttentionPattern::Sparse {
                    local: 2,
                    stride: 3,
                },
                attention,
            ])),
        };
        let p_drop = if coin(rng) { 0.25 } else { 0.0 };
        ModelConfig {
            vocab_size: 7,
            context_len: 6,
            d_model: 8,
            n_layers: 2,
            n_heads,
            n_kv_heads,
            d_head: D_HEADS[pick(rng, D_HEADS.len())],
            d_ff: Some(12),
            norm: NORMS[pick(rng, NORMS.len())],
            norm_position: NORM_POSITIONS[pick(rng, NORM_POSITIONS.len())],
            norm_eps: 1e-5,
            final_norm: coin(rng),
            bias: coin(rng),
            activation: ACTIVATIONS[pick(rng, ACTIVATIONS.len())],
            block: BLOCKS[pick(rng, BLOCKS.len())],
            position: POSITIONS[pick(rng, POSITIONS.len())],
            rope_theta: 10.0,
            attention,
            layer_pattern,
            qk_norm: coin(rng),
            tied_embeddings: coin(rng),
            // Set by the gradient test per config, outside the draw.
            scale_embeddings: false,
            dropout: Dropout {
                embd: p_drop,
                attn: p_drop,
                resid: p_drop,
            },
            init_std: 0.4,
            residual_scaling: coin(rng),
            // Padding rows get no gradient by definition, not by calculus: tested on its own.
            padding_token: None,
            parallel_norm: if coin(rng) {
                ParallelNorm::PerBranch
            } else {
                ParallelNorm::Shared
            },
            qk_norm_scope: if coin(rng) {
                QkNormScope::Projection
            } else {
                QkNormScope::Head
            },
            // Set by the gradient test per config, outside the draw.
            attn_logit_softcap: None,
            final_logit_softcap: None,
        }
    }

    /// Random parameters: normal init at a large std (so activations are O(1) and attention
    /// is far from uniform), then norm gains and biases moved off their 1 / 0 init so their
    /// gradients are checked at a generic point.
    fn random_params(layout: &ParamLayout, seed: u64) -> Vec<f64> {
        let mut params: Vec<f64> = layout.init(seed).iter().map(|&x| f64::from(x)).collect();
        let noise = uniform(seed + 1, params.len());
        for spec in &layout.tensors {
            for i in spec.range() {
                params[i] += 0.3 * noise[i];
            }
        }
        params
    }

    #[test]
    fn whole_model_gradients_match_finite_differences_across_toggles() {
        let mut rng = ChaCha8Rng::seed_from_u64(2024);
        for i in 0..CONFIGS {
            let mut config = sample_config(&mut rng);
            // Soft-caps on every other config (not drawn, so the other toggles' draws stay as
            // they are); caps near 1 bend the O(1) logits of this init strongly.
            if i % 2 == 1 {
                config.attn_logit_softcap = Some(1.0);
                config.final_logit_softcap = Some(1.5);
            }
            // Embeddings scaled by √8 on every third config.
            config.scale_embeddings = i % 3 == 0;
            config
                .validate()
                .unwrap_or_else(|e| panic!("config {i}: {e}"));
            let layout = ParamLayout::new(&config);
            let params = random_params(&layout, i as u64);
            let tokens: Vec<u32> = (0..BATCH * SEQ).map(|_| rng.next_u32() % 7).collect();
            let mut targets: Vec<i32> = (0..BATCH * SEQ)
                .map(|_| (rng.next_u32() % 7) as i32)
                .collect();
            targets[3] = IGNORE;
            let z_coef = if i % 2 == 0 { 0.1 } else { 0.0 };
            let run = Some(DropoutRun {
                seed: i as u32,
                step: 3,
            });

            let mut model = Model::<f64>::new(&config);
            model.forward(&params, &tokens, BATCH, SEQ, run);
            model.loss(&targets, z_coef);
            let mut grads = vec![0.0; params.len()];
            model.backward(&params, &mut grads);

            let mut objective = |p: &[f64]| {
                model.forward(p, &tokens, BATCH, SEQ, run);
                model.loss(&targets, z_coef).total()
            };
            let kinked = config.activation.pointwise() == Activation::Relu;
            let mut x = params.clone();
            for spec in &layout.tensors {
                // Every element for the first configs; then a few random elements of every
                // tensor, which keeps the sweep fast in debug builds.
                let checked: Vec<usize> = if i < FULLY_CHECKED {
                    spec.range().collect()
                } else {
                    (0..ELEMENTS_PER_TENSOR)
                        .map(|_| spec.offset + rng.next_u32() as usize % spec.len())
                        .collect()
                };
                for k in checked {
                    let numeric = central_difference(&mut x, k, &mut objective);
                    let analytic = grads[k];
                    // The fourth-order difference is accurate to ~1e-11 here (see `H`), which
                    // exactly-zero gradients (a key bias under softmax) show as noise. A wrong
                    // backward term is off by far more than 1e-6 relative + 1e-9.
                    let tolerance = 1e-6 * numeric.abs().max(analytic.abs()) + 1e-9;
                    if (numeric - analytic).abs() <= tolerance {
                        continue;
                    }
                    // ReLU: the stencil's +-2H span may cross a kink. Then one-sided differences
                    // with a step far smaller than H almost surely stay on either side of it,
                    // and one of them agrees with the backward (error O(step f'') ~ 1e-5).
                    let (keep, step) = (x[k], 1e-7);
                    let f0 = objective(&x);
                    x[k] = keep + step;
                    let right = (objective(&x) - f0) / step;
                    x[k] = keep - step;
                    let left = (f0 - objective(&x)) / step;
                    x[k] = keep;
                    let one_sided_ok = [left, right]
                        .iter()
                        .any(|d| (d - analytic).abs() <= 1e-4 * d.abs().max(1.0));
                    assert!(
                        kinked && one_sided_ok,
                        "config {i} {config:?}\n{}[{}]: analytic {analytic} vs numeric {numeric}",
                        spec.name,
                        k - spec.offset
                    );
                }
            }
        }
    }

    #[test]
    fn sampled_configs_cover_every_toggle_value() {
        let mut rng = ChaCha8Rng::seed_from_u64(2024);
        let configs: Vec<_> = (0..CONFIGS).map(|_| sample_config(&mut rng)).collect();
        assert!(NORMS.iter().all(|v| configs.iter().any(|c| c.norm == *v)));
        assert!(NORM_POSITIONS.iter().all(|v| configs
            .iter()
            .any(|c| c.norm_position == *v && c.norm != NormType::None)));
        assert!(ACTIVATIONS
            .iter()
            .all(|v| configs.iter().any(|c| c.activation == *v)));
        assert!(BLOCKS.iter().all(|v| configs.iter().any(|c| c.block == *v)));
        assert!(POSITIONS
            .iter()
            .all(|v| configs.iter().any(|c| c.position == *v)));
        assert!(PATTERNS
            .iter()
            .all(|v| configs.iter().any(|c| c.attention == *v)));
        assert!(HEADS
            .iter()
            .all(|&(h, k)| configs.iter().any(|c| (c.n_heads, c.n_kv_heads) == (h, k))));
        let flags: [fn(&ModelConfig) -> bool; 5] = [
            |c| c.qk_norm,
            |c| c.bias,
            |c| c.tied_embeddings,
            |c| c.final_norm,
            |c| c.dropout.attn > 0.0,
        ];
        for flag in flags {
            assert!(configs.iter().any(flag) && !configs.iter().all(flag));
        }
        assert!(
            configs.iter().any(|c| c.n_heads * c.d_head() != c.d_model),
            "T5-like shapes"
        );
        let pre_or_double = |c: &ModelConfig| {
            c.norm != NormType::None
                && matches!(c.norm_position, NormPosition::Pre | NormPosition::Double)
        };
        for parallel_norm in [ParallelNorm::Shared, ParallelNorm::PerBranch] {
            assert!(configs.iter().any(|c| c.block == BlockLayout::Parallel
                && pre_or_double(c)
                && c.parallel_norm == parallel_norm));
        }
        for scope in [QkNormScope::Head, QkNormScope::Projection] {
            assert!(configs
                .iter()
                .any(|c| c.qk_norm && c.qk_norm_scope == scope));
        }
    }

    #[test]
    fn masked_keys_get_no_attention() {
        let config = ModelConfig {
            attention: AttentionPattern::SlidingWindow { window: 2 },
            ..ModelConfig::default()
        };
        let layout = ParamLayout::new(&config);
        let params = layout.init(1);
        let mut model = Model::<f32>::new(&config);
        model.forward(&params, &[1, 2, 3, 4], 1, 4, None);
        let probs = model.attention_probs(0);
        assert_eq!(probs.len(), 4 * 4 * 4);
        for (r, row) in probs.chunks(4).enumerate() {
            let i = r % 4;
            for (j, &p) in row.iter().enumerate() {
                assert_eq!(p > 0.0, j <= i && i - j < 2, "({i}, {j})");
            }
        }
    }
}
