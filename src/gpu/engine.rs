//! The GPU engine, llm.c style: parameters, gradients and AdamW moments in four GPU buffers laid
//! out by `ParamLayout`; a plan per batch shape (`plan.rs`, built from `graph.rs`) made once; a
//! training step replayed from it as one command encoder and one submit, its statistics
//! reduced on the GPU and read back asynchronously (`readback.rs`). Nothing here waits: reads
//! are `Pending` values that borrow nothing, which the page awaits between tasks and the
//! command line through `contract::engine::wait`.

use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use super::adamw::decay_mask;
use super::decode::Decoder;
use super::kernel::Kernel;
use super::maps::attention_maps;
use super::plan::{ParamBuffers, Plan};
use super::readback::{step_read_back_len, view_stats_from_floats, ReportQueue, STEP_NORMS_AT};
use super::{GpuContext, GpuError, PendingRead};
use crate::contract::{
    Batch, Engine, EngineError, EngineState, FamilyTime, ForwardViews, KvDecode, OptimizerState,
    Pending, StepInputs, StepReport, IGNORE,
};
use crate::model::{ConfigError, ModelConfig, ParamLayout};

impl From<GpuError> for EngineError {
    fn from(error: GpuError) -> Self {
        EngineError(error.to_string())
    }
}

/// Awaits `read` as an engine result.
pub(super) async fn values(read: PendingRead) -> Result<Vec<f32>, EngineError> {
    Ok(read.wait().await?)
}

/// The GPU engine: the model's buffers, one plan per batch shape, and the read-back queue.
pub struct GpuEngine {
    pub(super) ctx: Rc<GpuContext>,
    pub(super) config: ModelConfig,
    pub(super) layout: ParamLayout,
    pub(super) bufs: ParamBuffers,
    pub(super) plans: HashMap<(usize, usize), Plan>,
    /// Shape of the last training step, whose plan is kept.
    train_shape: Option<(usize, usize)>,
    /// Steps submitted so far.
    pub(super) step: usize,
    /// Run seed folded to 32 bits, as the CPU engine folds it.
    pub(super) dropout_seed: u32,
    reports: ReportQueue,
    /// The KV-cached decode, from the first prefill on.
    pub(super) decoder: Option<Decoder>,
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
            step: 0,
            dropout_seed: (seed as u32) ^ ((seed >> 32) as u32),
            reports: ReportQueue::default(),
            decoder: None,
        })
    }

    /// The adapter the engine runs on, as the platform names it.
    pub fn adapter_name(&self) -> &str {
        &self.ctx.adapter.name
    }

    /// Staging buffers made for read-backs so far; 2 means double buffering never had to
    /// grow, i.e. no step found both of its read-back buffers still in flight (the engine's
    /// tests watch it).
    pub fn staging_buffers(&self) -> usize {
        self.reports.staging_made
    }

    /// The plan of shape `(batch, seq)`, built if missing. Plans are kept for the training
    /// shape and the latest other one: each holds a full set of activation buffers.
    pub(super) fn plan(&mut self, batch: usize, seq: usize) -> &Plan {
        let key = (batch, seq);
        if !self.plans.contains_key(&key) {
            let train_shape = self.train_shape;
            self.plans.retain(|k, _| Some(*k) == train_shape);
            let plan = Plan::build(
                &self.ctx,
                &self.config,
                &self.layout,
                &self.bufs,
                batch,
                seq,
            );
            self.plans.insert(key, plan);
        }
        &self.plans[&key]
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

    /// Writes the decay mask if the embeddings' decay changed.
    pub(super) fn set_decay_embeddings(&mut self, decay_embeddings: bool) {
        if decay_embeddings != self.bufs.decay_embeddings {
            let mask = decay_mask(&self.layout, decay_embeddings);
            self.ctx
                .queue
                .write_buffer(&self.bufs.decay_mask, 0, bytemuck::cast_slice(&mask));
            self.bufs.decay_embeddings = decay_embeddings;
        }
    }

    /// Submits the forward of `tokens` `[batch, seq]` against `targets` (no dropout, no update);
    /// the plan of that shape then holds the activations the reads copy.
    fn run_forward(&mut self, tokens: &[u32], targets: &[i32], batch: usize, seq: usize) {
        assert!(
            seq <= self.config.context_len,
            "seq {seq} exceeds context_len"
        );
        assert_eq!(tokens.len(), batch * seq, "tokens are [batch, seq]");
        let ctx = self.ctx.clone();
        self.plan(batch, seq).prepare(&ctx, tokens, targets, None);
        let plan = &self.plans[&(batch, seq)];
        self.submit("forward", &plan.kernels[..plan.forward_len], false, |_| {});
    }
}

impl Engine for GpuEngine {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    fn describe(&self) -> String {
        match self.adapter_name() {
            "" => "WebGPU engine on an adapter whose browser keeps its name private".into(),
            adapter => format!("WebGPU engine on {adapter}"),
        }
    }

    fn completes_at_once(&self) -> bool {
        false
    }

    /// Records and submits one optimizer step, and starts reading its statistics back.
    fn submit_step(&mut self, batch: &Batch, inputs: &StepInputs) {
        self.set_decay_embeddings(inputs.adamw.decay_embeddings);
        let (step, n) = (self.step, self.layout.total_len);
        let staging = self
            .reports
            .staging(&self.ctx, step_read_back_len(self.config.n_layers));
        self.train_shape = Some((batch.batch, batch.seq));
        let (ctx, dropout) = (self.ctx.clone(), (self.dropout_seed, step as u32));
        let plan = self.plan(batch.batch, batch.seq);
        plan.prepare(&ctx, &batch.inputs, &batch.targets, Some(dropout));
        plan.set_step_inputs(&ctx, inputs, n, step as i32 + 1);
        let plan = &self.plans[&(batch.batch, batch.seq)];
        self.submit("step", &plan.kernels, true, |encoder| {
            let norms_at = (STEP_NORMS_AT * 4) as u64;
            encoder.copy_buffer_to_buffer(&plan.acts.loss_stats, 0, &staging, 0, norms_at);
            let norms = &plan.step_norms;
            encoder.copy_buffer_to_buffer(norms, 0, &staging, norms_at, norms.size());
            let views = &plan.acts.view_stats;
            let views_at = norms_at + norms.size();
            encoder.copy_buffer_to_buffer(views, 0, &staging, views_at, views.size());
        });
        self.reports.push(step, inputs.lr, plan.stream_len, staging);
        self.step += 1;
    }

    fn in_flight(&self) -> usize {
        self.reports.len()
    }

    fn poll_reports(&mut self) -> Result<Vec<StepReport>, EngineError> {
        Ok(self.reports.poll(&self.ctx)?)
    }

    fn next_report(&self) -> Pending<()> {
        let arrived = self.reports.next_report(&self.ctx.device);
        Box::pin(async move { Ok(arrived.await?) })
    }

    fn start_logits(
        &mut self,
        tokens: &[u32],
        batch: usize,
        seq: usize,
        rows: Range<usize>,
    ) -> Pending<Vec<f32>> {
        let v = self.config.vocab_size;
        self.run_forward(tokens, &vec![IGNORE; tokens.len()], batch, seq);
        let plan = &self.plans[&(batch, seq)];
        let read = self
            .ctx
            .start_read(&plan.acts.logits, rows.start * v..rows.end * v);
        Box::pin(values(read))
    }

    fn start_views(&mut self, tokens: &[u32]) -> Pending<ForwardViews> {
        let (seq, heads) = (tokens.len(), self.config.n_heads);
        self.run_forward(tokens, &vec![IGNORE; seq], 1, seq);
        let plan = &self.plans[&(1, seq)];
        let maps = attention_maps(&self.ctx, &self.config, &plan.acts.layers, 1, seq);
        self.submit("attention maps", &maps.kernels, false, |_| {});
        let attention: Vec<PendingRead> = maps
            .probs
            .iter()
            .map(|probs| self.ctx.start_read(probs, 0..heads * seq * seq))
            .collect();
        let stream_len = plan.stream_len;
        let floats = (plan.acts.view_stats.size() / 4) as usize;
        let views = self.ctx.start_read(&plan.acts.view_stats, 0..floats);
        Box::pin(async move {
            let mut maps = Vec::with_capacity(attention.len());
            for read in attention {
                maps.push(read.wait().await?);
            }
            Ok(ForwardViews {
                attention: maps,
                views: view_stats_from_floats(&views.wait().await?, stream_len),
            })
        })
    }

    fn start_state(&self) -> Pending<EngineState> {
        let n = self.layout.total_len;
        let [params, m, v] =
            [&self.bufs.params, &self.bufs.m, &self.bufs.v].map(|b| self.ctx.start_read(b, 0..n));
        let updates = self.step;
        Box::pin(async move {
            Ok(EngineState {
                params: params.wait().await?,
                optimizer: OptimizerState {
                    m: m.wait().await?,
                    v: v.wait().await?,
                    updates,
                },
            })
        })
    }

    fn start_gradients(&mut self, batch: &Batch) -> Pending<(f32, Vec<f32>)> {
        let ctx = self.ctx.clone();
        let plan = self.plan(batch.batch, batch.seq);
        plan.prepare(&ctx, &batch.inputs, &batch.targets, None);
        plan.set_z_loss(&ctx, 0.0);
        let plan = &self.plans[&(batch.batch, batch.seq)];
        self.submit(
            "gradients",
            &plan.kernels[..plan.backward_len],
            true,
            |_| {},
        );
        let loss = ctx.start_read(&plan.acts.loss_stats, 0..1);
        let grads = ctx.start_read(&self.bufs.grads, 0..self.layout.total_len);
        Box::pin(async move { Ok((loss.wait().await?[0], grads.wait().await?)) })
    }

    fn start_profile(
        &mut self,
        batch: &Batch,
        inputs: &StepInputs,
    ) -> Pending<Option<Vec<FamilyTime>>> {
        self.profile_step(batch, inputs)
    }

    fn set_params(&mut self, params: &[f32]) -> Result<(), ConfigError> {
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

    fn kv_decode(&mut self) -> Option<&mut dyn KvDecode> {
        Some(self)
    }

    fn set_optimizer_state(&mut self, state: OptimizerState) -> Result<(), ConfigError> {
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
}
