//! The backward of `model`: the forward's op calls in exact reverse, accumulating parameter
//! gradients (`+=`) and returning activation gradients (`=`).

use super::*;

/// Forward state plus the gradient buffer the backward accumulates into.
pub(super) struct Backward<'a, 'g, R> {
    pub(super) fwd: Forward<'a, R>,
    pub(super) grads: &'g mut [R],
}

impl<R: Real> Backward<'_, '_, R> {
    /// Mutable gradients of tensor `a` and optionally tensor `b` (disjoint ranges).
    pub(super) fn pair(&mut self, a: usize, b: Option<usize>) -> (&mut [R], Option<&mut [R]>) {
        let ra = self.fwd.layout.tensors[a].range();
        let Some(b) = b else {
            return (&mut self.grads[ra], None);
        };
        let rb = self.fwd.layout.tensors[b].range();
        if ra.start < rb.start {
            let (lo, hi) = self.grads.split_at_mut(rb.start);
            (&mut lo[ra], Some(&mut hi[..rb.len()]))
        } else {
            let (lo, hi) = self.grads.split_at_mut(ra.start);
            (&mut hi[..ra.len()], Some(&mut lo[rb]))
        }
    }

    /// Backward of `Forward::linear`; returns `dinp`.
    pub(super) fn linear(&mut self, p: LinearParams, dout: &[R], inp: &[R]) -> Vec<R> {
        let weight = self.fwd.tensor(p.weight);
        let n_in = self.fwd.layout.tensors[p.weight].shape[1];
        let mut dinp = zeros(inp.len());
        let (dweight, dbias) = self.pair(p.weight, p.bias);
        linear_backward(&mut dinp, dweight, dbias, dout, inp, weight, n_in);
        dinp
    }

    /// Backward of `Forward::norm`; returns `dinp`, which is `dout` itself without a norm.
    pub(super) fn norm(
        &mut self,
        kind: NormType,
        site: Option<NormParams>,
        cache: &Option<NormCache<R>>,
        dout: Vec<R>,
        inp: &[R],
    ) -> Vec<R> {
        let (Some(p), Some(cache)) = (site, cache) else {
            return dout;
        };
        let weight = self.fwd.tensor(p.weight);
        let mut dinp = zeros(inp.len());
        let (dweight, dbias) = self.pair(p.weight, p.bias);
        norm_backward(
            kind,
            &mut dinp,
            dweight,
            dbias,
            &dout,
            inp,
            weight,
            &cache.stats,
        );
        dinp
    }

    /// Backward of `Forward::branch_output`; returns the gradient of the branch's `F` output.
    pub(super) fn branch_output(
        &mut self,
        out_norm_site: Option<NormParams>,
        out_norm: &Option<NormCache<R>>,
        dsum: &[R],
        f: &[R],
        site: u32,
    ) -> Vec<R> {
        let mut dadded = dsum.to_vec();
        self.fwd
            .dropout(&mut dadded, self.fwd.config.dropout.resid, site);
        self.norm(self.fwd.config.norm, out_norm_site, out_norm, dadded, f)
    }

    /// Backward of `Forward::attention`; returns `dh`.
    pub(super) fn attention(
        &mut self,
        layer: usize,
        acts: &AttentionActs<R>,
        dout: &[R],
        h: &[R],
    ) -> Vec<R> {
        let c = self.fwd.config;
        let p = self.fwd.layout.layers[layer].attn;
        let s = self.fwd.shape;
        let dy = self.linear(p.wo, dout, &acts.y);
        let mut dweights = zeros(acts.probs.len());
        let mut dv = zeros(acts.v.len());
        attention_values_backward(
            &mut dweights,
            &mut dv,
            &dy,
            attention_weights(&acts.probs, &acts.dropped),
            &acts.v,
            s,
        );
        if self.fwd.drops(c.dropout.attn) {
            self.fwd
                .dropout(&mut dweights, c.dropout.attn, attn_probs_site(layer));
        }
        let mut dq = zeros(acts.q.len());
        let mut dk = zeros(acts.k.len());
        attention_probs_backward(
            &mut dq,
            &mut dk,
            &dweights,
            &acts.probs,
            &acts.q,
            &acts.k,
            s,
            c.attn_logit_softcap.map(f64::from),
        );
        let theta = f64::from(c.rope_theta);
        match c.position {
            Position::Rope => {
                rope_backward(&mut dk, s.seq, s.n_kv_heads, s.d_head, theta);
                rope_backward(&mut dq, s.seq, s.n_heads, s.d_head, theta);
            }
            Position::Learned | Position::Sinusoidal | Position::Alibi | Position::None => {}
        }
        let dk_proj = self.norm(c.qk_norm_type(), p.k_norm, &acts.k_norm, dk, &acts.k_proj);
        let dq_proj = self.norm(c.qk_norm_type(), p.q_norm, &acts.q_norm, dq, &acts.q_proj);
        let mut dh = self.linear(p.wv, &dv, h);
        add_into(&mut dh, &self.linear(p.wk, &dk_proj, h));
        add_into(&mut dh, &self.linear(p.wq, &dq_proj, h));
        dh
    }

    /// Backward of `Forward::mlp`; returns `dh`.
    pub(super) fn mlp(&mut self, layer: usize, acts: &MlpActs<R>, dout: &[R], h: &[R]) -> Vec<R> {
        let p = self.fwd.layout.layers[layer].mlp;
        let dact = self.linear(p.w2, dout, &acts.act);
        let mut da = zeros(acts.a.len());
        let mut dgate = acts.gate.as_ref().map(|g| zeros(g.len()));
        let kind = self.fwd.config.activation;
        activation_backward(
            kind,
            &mut da,
            dgate.as_deref_mut(),
            &dact,
            &acts.a,
            acts.gate.as_deref(),
        );
        let mut dh = match (p.v, dgate) {
            (Some(v), Some(dgate)) => self.linear(v, &dgate, h),
            _ => zeros(h.len()),
        };
        add_into(&mut dh, &self.linear(p.w1, &da, h));
        dh
    }

    /// Backward of `Forward::layer`; returns `dx`.
    pub(super) fn layer(&mut self, l: usize, acts: &LayerActs<R>, dout: Vec<R>, x: &[R]) -> Vec<R> {
        let p = self.fwd.layout.layers[l];
        let kind = self.fwd.config.norm;
        match self.fwd.config.block {
            BlockLayout::Serial => {
                let mid = acts.mid();
                let dsum_mlp =
                    self.norm(kind, p.mlp_post_norm, &acts.mlp_post, dout, &acts.sum_mlp);
                let dmlp = self.branch_output(
                    p.mlp_out_norm,
                    &acts.mlp_out,
                    &dsum_mlp,
                    &acts.mlp.out,
                    mlp_branch_site(l),
                );
                let dh = self.mlp(l, &acts.mlp, &dmlp, site_out(&acts.mlp_in, mid));
                let mut dmid = self.norm(kind, p.mlp_in_norm, &acts.mlp_in, dh, mid);
                add_into(&mut dmid, &dsum_mlp);
                let dsum_attn = self.norm(
                    kind,
                    p.attn_post_norm,
                    &acts.attn_post,
                    dmid,
                    &acts.sum_attn,
                );
                let dattn = self.branch_output(
                    p.attn_out_norm,
                    &acts.attn_out,
                    &dsum_attn,
                    &acts.attn.out,
                    attn_branch_site(l),
                );
                let dh = self.attention(l, &acts.attn, &dattn, site_out(&acts.attn_in, x));
                let mut dx = self.norm(kind, p.attn_in_norm, &acts.attn_in, dh, x);
                add_into(&mut dx, &dsum_attn);
                dx
            }
            BlockLayout::Parallel => {
                let dsum = self.norm(
                    kind,
                    p.attn_post_norm,
                    &acts.attn_post,
                    dout,
                    &acts.sum_attn,
                );
                let dmlp = self.branch_output(
                    p.mlp_out_norm,
                    &acts.mlp_out,
                    &dsum,
                    &acts.mlp.out,
                    mlp_branch_site(l),
                );
                let dattn = self.branch_output(
                    p.attn_out_norm,
                    &acts.attn_out,
                    &dsum,
                    &acts.attn.out,
                    attn_branch_site(l),
                );
                let h = site_out(&acts.attn_in, x);
                let dh_mlp = self.mlp(l, &acts.mlp, &dmlp, site_out(&acts.mlp_in, h));
                let mut dh = self.attention(l, &acts.attn, &dattn, h);
                let mut dx = match p.mlp_in_norm {
                    // Per-branch norms: the MLP's gradient reaches x through its own norm.
                    Some(_) => self.norm(kind, p.mlp_in_norm, &acts.mlp_in, dh_mlp, x),
                    // One shared norm: both branches' gradients meet at its output.
                    None => {
                        add_into(&mut dh, &dh_mlp);
                        zeros(x.len())
                    }
                };
                add_into(
                    &mut dx,
                    &self.norm(kind, p.attn_in_norm, &acts.attn_in, dh, x),
                );
                add_into(&mut dx, &dsum);
                dx
            }
        }
    }
}
