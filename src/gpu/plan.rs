//! A plan: everything one batch shape needs, built once from `graph` — the activation buffers,
//! every bound kernel of a training step in order, and where its results are. A run writes the
//! inputs and the per-run uniforms (dropout keys, z-loss, clipping, AdamW) and replays a prefix
//! of the kernels: the forward for reads, through the backward for gradients, all of them for a
//! step.

use super::adamw::{adamw_update, AdamWParams};
use super::dropout::{DropoutKey, DropoutParams};
use super::grad_norm::{
    clip_gradients, set_max_norm, sum_squares_final, sum_squares_partial, SumRange, SumTable,
};
use super::graph::{Builder, DropoutSite, ModelActs};
use super::kernel::Kernel;
use super::loss::set_z_coef;
use super::GpuContext;
use crate::contract::{AdamWSettings, StepInputs};
use crate::model::{ModelConfig, ParamLayout};

/// Where the per-layer gradient norms start in `Plan::step_norms`.
pub(super) const STEP_NORMS_LAYERS_AT: usize = 2;

/// The four layout-shaped buffers and the decay mask.
pub(super) struct ParamBuffers {
    /// `[total_len]` each, in `ParamLayout` order.
    pub(super) params: wgpu::Buffer,
    pub(super) grads: wgpu::Buffer,
    pub(super) m: wgpu::Buffer,
    pub(super) v: wgpu::Buffer,
    /// `adamw::decay_mask` for `decay_embeddings`.
    pub(super) decay_mask: wgpu::Buffer,
    pub(super) decay_embeddings: bool,
}

/// The kernels and buffers of one batch shape.
pub(super) struct Plan {
    /// The forward's activations, logits and statistics.
    pub(super) acts: ModelActs,
    /// Every launch of a step in order: forward (with the loss and view statistics) up to
    /// `forward_len`, backward up to `backward_len`, then the gradient norms, clipping, AdamW
    /// (`adamw`) and the parameter norm.
    pub(super) kernels: Vec<Kernel>,
    pub(super) forward_len: usize,
    pub(super) backward_len: usize,
    clip: usize,
    adamw: usize,
    dropouts: Vec<DropoutSite>,
    /// The loss launches, whose uniform carries the z-loss coefficient.
    loss_kernels: Vec<usize>,
    /// `[STEP_NORMS_LAYERS_AT + L]`: the gradient norm before clipping, the parameter norm
    /// after the update, then each layer's gradient norm before clipping.
    pub(super) step_norms: wgpu::Buffer,
    /// Elements of each stream the view statistics sum over: `B*T*C`.
    pub(super) stream_len: usize,
}

impl Plan {
    pub(super) fn build(
        ctx: &GpuContext,
        config: &ModelConfig,
        layout: &ParamLayout,
        bufs: &ParamBuffers,
        batch: usize,
        seq: usize,
    ) -> Self {
        let mut b = Builder::new(ctx, config, layout, &bufs.params, &bufs.grads, batch, seq);
        let acts = b.forward();
        let forward_len = b.len();
        b.backward(&acts);
        let backward_len = b.len();

        let n = layout.total_len;
        let step_norms = ctx.zeros("step norms", STEP_NORMS_LAYERS_AT + config.n_layers);
        // The gradient norm and every layer's in one pair of dispatches.
        let grad_ranges: Vec<SumRange> = std::iter::once(SumRange::new(0, n, 0))
            .chain((0..config.n_layers).map(|l| {
                let range = layout.layer_range(l);
                SumRange::new(range.start, range.len(), STEP_NORMS_LAYERS_AT + l)
            }))
            .collect();
        let grad_table = SumTable::new(ctx, "grad norms", &grad_ranges);
        b.push(sum_squares_partial(
            ctx,
            "grad_norms.partial",
            &grad_table,
            0..grad_ranges.len(),
            (&bufs.grads).into(),
        ));
        b.push(sum_squares_final(
            ctx,
            "grad_norms.final",
            &grad_table,
            (&step_norms).into(),
        ));
        let clip = b.len();
        b.push(clip_gradients(
            ctx,
            "clip",
            n,
            0.0,
            (&step_norms).into(),
            (&bufs.grads).into(),
        ));
        let adamw = b.len();
        let settings = AdamWSettings {
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.0,
            decay_embeddings: false,
        };
        b.push(adamw_update(
            ctx,
            "adamw",
            AdamWParams::new(n, &settings, 0.0, 1),
            (&bufs.grads).into(),
            (&bufs.decay_mask).into(),
            (&bufs.params).into(),
            (&bufs.m).into(),
            (&bufs.v).into(),
        ));
        let param_table = SumTable::new(ctx, "param norm", &[SumRange::new(0, n, 1)]);
        b.push(sum_squares_partial(
            ctx,
            "param_norm.partial",
            &param_table,
            0..1,
            (&bufs.params).into(),
        ));
        b.push(sum_squares_final(
            ctx,
            "param_norm.final",
            &param_table,
            (&step_norms).into(),
        ));
        let (kernels, dropouts, loss_kernels) = b.finish();
        Self {
            acts,
            kernels,
            forward_len,
            backward_len,
            clip,
            adamw,
            dropouts,
            loss_kernels,
            step_norms,
            stream_len: batch * seq * config.d_model,
        }
    }

    /// Writes the inputs and the dropout keys of a run (`dropout`: the seed and step of a
    /// training step; None runs without dropout).
    pub(super) fn prepare(
        &self,
        ctx: &GpuContext,
        tokens: &[u32],
        targets: &[i32],
        dropout: Option<(u32, u32)>,
    ) {
        let queue = &ctx.queue;
        queue.write_buffer(&self.acts.tokens, 0, bytemuck::cast_slice(tokens));
        queue.write_buffer(&self.acts.targets, 0, bytemuck::cast_slice(targets));
        for site in &self.dropouts {
            let (seed, step) = dropout.unwrap_or((0, 0));
            let key = DropoutKey {
                seed,
                step,
                site: site.site,
            };
            let p = if dropout.is_some() { site.p } else { 0.0 };
            let params = DropoutParams::new(site.n, p, key);
            self.kernels[site.kernel].set_uniform(ctx, bytemuck::bytes_of(&params));
        }
    }

    /// Writes the z-loss coefficient of the loss launches.
    pub(super) fn set_z_loss(&self, ctx: &GpuContext, z_loss: f32) {
        for &i in &self.loss_kernels {
            set_z_coef(ctx, &self.kernels[i], self.acts.loss_shape(), z_loss);
        }
    }

    /// Writes a training step's inputs: z-loss, clipping, and AdamW's update number `t`
    /// (1-based) over `n` floats.
    pub(super) fn set_step_inputs(&self, ctx: &GpuContext, inputs: &StepInputs, n: usize, t: i32) {
        self.set_z_loss(ctx, inputs.z_loss);
        set_max_norm(ctx, &self.kernels[self.clip], n, inputs.grad_clip);
        let hyper = AdamWParams::new(n, &inputs.adamw, inputs.lr, t);
        self.kernels[self.adamw].set_uniform(ctx, bytemuck::bytes_of(&hyper));
    }
}
