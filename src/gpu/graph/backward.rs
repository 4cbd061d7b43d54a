//! The backward of `graph`: the forward's launches in exact reverse, as `cpu::model` does.

use super::super::activation::{activation_backward, softcap_backward};
use super::super::attention as attn;
use super::super::embedding::{embedding_backward_positions, embedding_backward_tokens};
use super::super::loss::cross_entropy_backward;
use super::super::matmul::matmul;
use super::super::norm::{norm_backward_input, norm_backward_params, NormShape};
use super::super::position::Direction;
use super::super::sum::column_sum;
use super::*;

impl Builder<'_> {
    /// The backward of the whole model after `forward` recorded `acts`: loss, head, final norm,
    /// layers in reverse, embedding dropout and the embeddings' gradients.
    pub(in crate::gpu) fn backward(&mut self, acts: &ModelActs) {
        let (ctx, config, layout) = (self.ctx, self.config, self.layout);
        let (rows, c, v) = (self.rows, config.d_model, config.vocab_size);
        let dlogits = self.buffer("dlogits", rows * v);
        let kernel = cross_entropy_backward(
            ctx,
            "loss.back",
            acts.loss_shape,
            (&acts.logits).into(),
            (&acts.targets).into(),
            (&acts.lse).into(),
            (&acts.loss_stats).into(),
            (&dlogits).into(),
        );
        self.loss_kernels.push(self.kernels.len());
        self.kernels.push(kernel);
        match config.final_logit_softcap {
            None => {}
            Some(cap) => {
                let kernel = softcap_backward(
                    ctx,
                    "head.softcap.back",
                    cap,
                    rows * v,
                    (&acts.logits).into(),
                    (&dlogits).into(),
                );
                self.kernels.push(kernel);
            }
        }
        let x = acts.stream(config.block);
        let head_in = site_out(&acts.final_norm, &x);
        let dfinal = self.linear_back("head", head_params(layout), &dlogits, &head_in, None);
        let mut dx = self.stream_norm_back(
            "final_norm",
            layout.final_norm,
            &acts.final_norm,
            dfinal,
            &x,
            None,
        );
        for l in (0..config.n_layers).rev() {
            let x = if l == 0 {
                acts.embedded.clone()
            } else {
                acts.layers[l - 1].output(config.block)
            };
            dx = self.layer_back(l, &acts.layers[l], dx, &x);
        }
        self.dropout_in_place(
            "embedding.dropout.back",
            &dx,
            rows * c,
            config.dropout.embd,
            EMBEDDING_SITE,
        );
        let kernel = embedding_backward_tokens(
            ctx,
            "embedding.back",
            acts.emb_shape,
            config.embedding_scale() as f32,
            (&acts.tokens).into(),
            (&dx).into(),
            self.grad(layout.tok_emb),
            config.padding_token,
        );
        self.kernels.push(kernel);
        if let Some(pos) = layout.pos_emb {
            let kernel = embedding_backward_positions(
                ctx,
                "embedding.back_pos",
                acts.emb_shape,
                (&dx).into(),
                self.grad(pos),
            );
            self.kernels.push(kernel);
        }
    }

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

    /// Backward of `norm`; returns `dinp`, which is `dout` itself without a norm. With
    /// `residual` (the gradient the norm's input also gets along the residual stream) `dinp`
    /// has it added: in the same launch where the site has a norm.
    #[allow(clippy::too_many_arguments)] // the forward's arguments and its cache
    fn norm_back(
        &mut self,
        label: &str,
        kind: NormType,
        site: Option<NormParams>,
        cache: &Option<NormBufs>,
        dout: wgpu::Buffer,
        inp: &wgpu::Buffer,
        residual: Option<&wgpu::Buffer>,
        rows: usize,
        dim: usize,
    ) -> wgpu::Buffer {
        let (Some(p), Some(cache)) = (site, cache) else {
            if let Some(residual) = residual {
                self.add_into(&format!("{label}.residual"), rows * dim, residual, &dout);
            }
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
            residual.map(Into::into),
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

    /// Backward of `stream_norm`, with the residual stream's gradient added where given.
    fn stream_norm_back(
        &mut self,
        label: &str,
        site: Option<NormParams>,
        cache: &Option<NormBufs>,
        dout: wgpu::Buffer,
        inp: &wgpu::Buffer,
        residual: Option<&wgpu::Buffer>,
    ) -> wgpu::Buffer {
        let (kind, rows, c) = (self.config.norm, self.rows, self.config.d_model);
        self.norm_back(label, kind, site, cache, dout, inp, residual, rows, c)
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
        self.stream_norm_back(label, site, out_norm, dadded, f, None)
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
        let dq = self.buffer(&label("dq"), acts.q.size() as usize / 4);
        let dk = self.buffer(&label("dk"), acts.k.size() as usize / 4);
        let dv = self.buffer(&label("dv"), acts.v.size() as usize / 4);
        match &acts.softmax {
            Softmax::Fused { lse } => {
                let delta = self.buffer(&label("delta"), s.batch * s.n_heads * s.seq);
                let saved = attn::FusedSaved {
                    q: (&acts.q).into(),
                    k: (&acts.k).into(),
                    v: (&acts.v).into(),
                    out: (&acts.y).into(),
                    lse: lse.into(),
                    dout: (&dy).into(),
                };
                self.kernels.extend(attn::fused_backward(
                    self.ctx,
                    &label("fused.back"),
                    s,
                    logits(c, l),
                    saved,
                    (&delta).into(),
                    [(&dq).into(), (&dk).into(), (&dv).into()],
                ));
            }
            Softmax::Materialised { probs, weights } => {
                let n_probs = s.batch * s.n_heads * s.seq * s.seq;
                let dweights = self.buffer(&label("dweights"), n_probs);
                let kernels = [
                    attn::values_backward_weights(
                        self.ctx,
                        &label("values.dweights"),
                        s,
                        (&dy).into(),
                        (&acts.v).into(),
                        (&dweights).into(),
                    ),
                    attn::weighted_sum_transposed(
                        self.ctx,
                        &label("values.dv"),
                        s,
                        weights.into(),
                        (&dy).into(),
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
                let kernels = [
                    attn::softmax_backward(
                        self.ctx,
                        &label("softmax.back"),
                        s,
                        c.attn_logit_softcap,
                        probs.into(),
                        (&dweights).into(),
                        (&acts.q).into(),
                        (&acts.k).into(),
                    ),
                    attn::weighted_sum(
                        self.ctx,
                        &label("softmax.dq"),
                        s,
                        (&dweights).into(),
                        (&acts.k).into(),
                        (&dq).into(),
                    ),
                    attn::weighted_sum_transposed(
                        self.ctx,
                        &label("softmax.dk"),
                        s,
                        (&dweights).into(),
                        (&acts.q).into(),
                        (&dk).into(),
                    ),
                ];
                self.kernels.extend(kernels);
            }
        }
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
            None,
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
            None,
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
                    None,
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
                // The residual stream's gradient added in the norm's backward.
                let dmid = self.stream_norm_back(
                    &label("mlp_in_norm"),
                    p.mlp_in_norm,
                    &acts.mlp_in,
                    dh,
                    &mid,
                    Some(&dsum_mlp),
                );
                let dsum_attn = self.stream_norm_back(
                    &label("attn_post_norm"),
                    p.attn_post_norm,
                    &acts.attn_post,
                    dmid,
                    &acts.sum_attn,
                    None,
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
                self.stream_norm_back(
                    &label("attn_in_norm"),
                    p.attn_in_norm,
                    &acts.attn_in,
                    dh,
                    x,
                    Some(&dsum_attn),
                )
            }
            BlockLayout::Parallel => {
                let dsum = self.stream_norm_back(
                    &label("post_norm"),
                    p.attn_post_norm,
                    &acts.attn_post,
                    dout,
                    &acts.sum_attn,
                    None,
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
                let dx = self.stream_norm_back(
                    &label("in_norm"),
                    p.attn_in_norm,
                    &acts.attn_in,
                    dh,
                    x,
                    Some(&dsum),
                );
                if p.mlp_in_norm.is_some() {
                    // Per-branch norms: the MLP's gradient reaches x through its own norm.
                    let dx_mlp = self.stream_norm_back(
                        &label("mlp_in_norm"),
                        p.mlp_in_norm,
                        &acts.mlp_in,
                        dh_mlp,
                        x,
                        None,
                    );
                    self.add_into(&label("mlp_in_norm.residual"), rows * c, &dx_mlp, &dx);
                }
                dx
            }
        }
    }
}
