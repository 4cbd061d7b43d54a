//! The reference engine: plain Rust loops, forward and backward for every op, one file per op
//! family, in f32 storage with f64 arithmetic. The oracle for the GPU engine's tests and the
//! fallback where WebGPU is missing.

pub mod activation;
pub mod attention;
pub mod budget;
pub mod dropout;
pub mod kv_cache;
pub mod linear;
pub mod loss;
pub mod model;
pub mod norm;
pub mod optim;
pub mod parallel;
pub mod position;
pub mod real;
pub mod softcap;

use std::collections::VecDeque;
use std::ops::Range;

use crate::contract::engine::ready;
use crate::contract::{
    Batch, Engine, EngineError, EngineState, FamilyTime, ForwardViews, KvDecode, OptimizerState,
    Pending, StepInputs, StepReport, StepStats, ViewStats,
};
use crate::model::{ConfigError, ModelConfig, ParamLayout};
pub use budget::{memory_budget, wasm_budget};
use kv_cache::KvCache;
use model::{DropoutRun, Model};
use optim::{clip_grad_norm, global_norm, AdamW};

/// The CPU engine: the model, its flat parameters, gradients and AdamW state.
pub struct CpuEngine {
    /// Activations of the last forward and the code that computes them.
    model: Model<f32>,
    /// Parameters, `[layout.total_len]`.
    params: Vec<f32>,
    /// Gradients of the last step, `[layout.total_len]`.
    grads: Vec<f32>,
    /// AdamW moments.
    optimizer: AdamW,
    /// Steps taken so far.
    step: usize,
    /// Dropout seed: the run seed folded to 32 bits.
    dropout_seed: u32,
    /// Reports of submitted steps not yet collected.
    reports: VecDeque<StepReport>,
    /// Keys and values of a KV-cached decode; allocated by its first prefill.
    kv_cache: Option<KvCache<f32>>,
}

impl CpuEngine {
    /// Validates `config` and initialises the parameters from `seed`.
    pub fn new(config: &ModelConfig, seed: u64) -> Result<Self, ConfigError> {
        config.validate()?;
        let model = Model::new(config);
        let params = model.layout().init(seed);
        let len = params.len();
        Ok(Self {
            model,
            params,
            grads: vec![0.0; len],
            optimizer: AdamW::new(len),
            step: 0,
            dropout_seed: (seed as u32) ^ ((seed >> 32) as u32),
            reports: VecDeque::new(),
            kv_cache: None,
        })
    }

    /// One optimizer step on `batch`: forward with dropout, backward, clipping, AdamW.
    pub fn step(&mut self, batch: &Batch, inputs: &StepInputs) -> StepReport {
        let dropout = DropoutRun {
            seed: self.dropout_seed,
            step: self.step as u32,
        };
        self.model.forward(
            &self.params,
            &batch.inputs,
            batch.batch,
            batch.seq,
            Some(dropout),
        );
        let loss = self.model.loss(&batch.targets, f64::from(inputs.z_loss));
        self.grads.fill(0.0);
        self.model.backward(&self.params, &mut self.grads);
        let layout = self.model.layout();
        let layer_grad_norms = (0..layout.layers.len())
            .map(|l| global_norm(&self.grads[layout.layer_range(l)]))
            .collect();
        let grad_norm = clip_grad_norm(&mut self.grads, inputs.grad_clip);
        self.optimizer.step(
            &mut self.params,
            &self.grads,
            self.model.layout(),
            &inputs.adamw,
            inputs.lr,
        );
        let report = StepReport {
            stats: StepStats {
                step: self.step,
                loss: loss.cross_entropy as f32,
                z_loss: loss.z_loss as f32,
                grad_norm,
                lr: inputs.lr,
                log_z: loss.log_z as f32,
                param_norm: global_norm(&self.params),
            },
            views: self.view_stats(),
            layer_grad_norms,
        };
        self.step += 1;
        report
    }

    /// Mean cross-entropy on `batch` without dropout and without an update.
    pub fn eval(&mut self, batch: &Batch) -> f32 {
        self.model
            .forward(&self.params, &batch.inputs, batch.batch, batch.seq, None);
        self.model.loss(&batch.targets, 0.0).cross_entropy as f32
    }

    /// Logits of `tokens` `[batch, seq]`, `[batch, seq, V]`; no dropout.
    pub fn logits(&mut self, tokens: &[u32], batch: usize, seq: usize) -> Vec<f32> {
        self.model.forward(&self.params, tokens, batch, seq, None);
        self.model.logits().to_vec()
    }

    /// Attention probabilities of example 0 of the last forward in `layer`, `[H, T, T]`.
    pub fn attention(&self, layer: usize) -> Vec<f32> {
        self.model.attention_probs(layer).to_vec()
    }

    /// The largest attention logits and activation RMS of the last forward.
    pub fn view_stats(&self) -> ViewStats {
        ViewStats {
            max_attention_logits: self.model.max_attention_logits(),
            norms: self.model.activation_norms(),
        }
    }

    /// The flat parameters, in layout order.
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// Gradients of the last step after clipping (or of the last `loss_and_gradients`),
    /// `[total_len]`: what the GPU engine's are compared with.
    pub fn grads(&self) -> &[f32] {
        &self.grads
    }

    /// Mean cross-entropy of `batch` and its gradient for every parameter (left in `grads()`),
    /// without dropout, z-loss, clipping or an update: what `archlab eval` reports.
    pub fn loss_and_gradients(&mut self, batch: &Batch) -> f32 {
        self.model
            .forward(&self.params, &batch.inputs, batch.batch, batch.seq, None);
        let loss = self.model.loss(&batch.targets, 0.0);
        self.grads.fill(0.0);
        self.model.backward(&self.params, &mut self.grads);
        loss.cross_entropy as f32
    }

    /// The optimizer state, for a checkpoint that can resume training exactly.
    pub fn optimizer_state(&self) -> OptimizerState {
        self.optimizer.state()
    }
}

impl KvDecode for CpuEngine {
    fn config(&self) -> &ModelConfig {
        self.model.config()
    }

    fn start_prefill(&mut self, tokens: &[u32]) -> Pending<Vec<f32>> {
        let config = self.model.config();
        let cache = self.kv_cache.get_or_insert_with(|| KvCache::new(config));
        cache.clear();
        ready(self.model.decode(&self.params, cache, tokens))
    }

    fn start_decode(&mut self, token: u32) -> Pending<Vec<f32>> {
        let cache = self.kv_cache.as_mut().expect("a decode follows a prefill");
        ready(self.model.decode(&self.params, cache, &[token]))
    }

    fn kv_cache_bytes(&self) -> usize {
        self.kv_cache.as_ref().map_or(0, KvCache::bytes)
    }
}

impl Engine for CpuEngine {
    fn config(&self) -> &ModelConfig {
        self.model.config()
    }

    fn layout(&self) -> &ParamLayout {
        self.model.layout()
    }

    fn describe(&self) -> String {
        "CPU engine".into()
    }

    fn completes_at_once(&self) -> bool {
        true
    }

    fn submit_step(&mut self, batch: &Batch, inputs: &StepInputs) {
        let report = self.step(batch, inputs);
        self.reports.push_back(report);
    }

    fn in_flight(&self) -> usize {
        self.reports.len()
    }

    fn poll_reports(&mut self) -> Result<Vec<StepReport>, EngineError> {
        Ok(self.reports.drain(..).collect())
    }

    fn next_report(&self) -> Pending<()> {
        ready(())
    }

    fn start_logits(
        &mut self,
        tokens: &[u32],
        batch: usize,
        seq: usize,
        rows: Range<usize>,
    ) -> Pending<Vec<f32>> {
        let v = self.model.config().vocab_size;
        let logits = self.logits(tokens, batch, seq);
        ready(logits[rows.start * v..rows.end * v].to_vec())
    }

    fn start_views(&mut self, tokens: &[u32]) -> Pending<ForwardViews> {
        self.logits(tokens, 1, tokens.len());
        let attention = (0..self.model.config().n_layers)
            .map(|layer| self.attention(layer))
            .collect();
        ready(ForwardViews {
            attention,
            views: self.view_stats(),
        })
    }

    fn start_state(&self) -> Pending<EngineState> {
        ready(EngineState {
            params: self.params.clone(),
            optimizer: self.optimizer_state(),
        })
    }

    fn start_gradients(&mut self, batch: &Batch) -> Pending<(f32, Vec<f32>)> {
        let loss = self.loss_and_gradients(batch);
        ready((loss, self.grads.clone()))
    }

    fn start_profile(
        &mut self,
        _batch: &Batch,
        _inputs: &StepInputs,
    ) -> Pending<Option<Vec<FamilyTime>>> {
        ready(None)
    }

    fn set_params(&mut self, params: &[f32]) -> Result<(), ConfigError> {
        if params.len() != self.params.len() {
            let reason = format!(
                "{} values for a layout of {}",
                params.len(),
                self.params.len()
            );
            return Err(ConfigError::new("params", reason));
        }
        self.params.copy_from_slice(params);
        Ok(())
    }

    fn kv_decode(&mut self) -> Option<&mut dyn KvDecode> {
        Some(self)
    }

    fn set_optimizer_state(&mut self, state: OptimizerState) -> Result<(), ConfigError> {
        let updates = state.updates;
        self.optimizer = AdamW::from_state(state, self.params.len()).ok_or_else(|| {
            ConfigError::new("optimizer", "moments do not match the parameter layout")
        })?;
        self.step = updates;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{Schedule, IGNORE};
    use crate::train::TrainConfig;

    /// Sequences cycling through `period` tokens from a varying phase: each next token is a
    /// function of the current one, so a model that learns the cycle drives the loss to ~0.
    fn cycle_batch(batch: usize, seq: usize, period: u32, first_phase: u32) -> Batch {
        let token = |b: usize, t: usize| (first_phase + b as u32 * 3 + t as u32) % period;
        let inputs = (0..batch)
            .flat_map(|b| (0..seq).map(move |t| token(b, t)))
            .collect();
        let targets = (0..batch)
            .flat_map(|b| (0..seq).map(move |t| token(b, t + 1) as i32))
            .collect();
        Batch {
            batch,
            seq,
            inputs,
            targets,
        }
    }

    fn small_gpt2() -> ModelConfig {
        // GPT-2's toggles (dropout included) at a size that keeps debug tests fast.
        ModelConfig {
            d_model: 16,
            n_heads: 2,
            n_kv_heads: 2,
            context_len: 8,
            vocab_size: 11,
            ..crate::train::presets::find("gpt2").unwrap().model.clone()
        }
    }

    #[test]
    fn new_validates_the_config() {
        let bad = ModelConfig {
            n_kv_heads: 3,
            ..ModelConfig::default()
        };
        assert_eq!(CpuEngine::new(&bad, 0).err().unwrap().field, "n_kv_heads");
    }

    #[test]
    fn same_seed_gives_bit_identical_losses() {
        let train = TrainConfig {
            warmup_steps: 2,
            steps: 10,
            ..TrainConfig::default()
        };
        let run = |seed| {
            let mut engine = CpuEngine::new(&small_gpt2(), seed).unwrap();
            (0..10)
                .map(|s| {
                    engine
                        .step(&cycle_batch(2, 8, 11, s), &train.step_inputs(s as usize))
                        .stats
                        .loss
                        .to_bits()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn step_reports_schedule_and_unclipped_norm() {
        let train = TrainConfig {
            grad_clip: 1e-3,
            warmup_steps: 4,
            lr: 1e-2,
            z_loss: 1e-2,
            ..TrainConfig::default()
        };
        let mut engine = CpuEngine::new(&small_gpt2(), 1).unwrap();
        let stats = engine
            .step(&cycle_batch(2, 8, 11, 0), &train.step_inputs(0))
            .stats;
        assert_eq!(stats.step, 0);
        // Warm-up step 0 of 4: 1e-2 * 1/4.
        assert!((stats.lr - 2.5e-3).abs() < 1e-9);
        // Reported norm is before clipping; the stored gradients are clipped to 1e-3.
        assert!(stats.grad_norm > 1e-2, "{stats:?}");
        assert!((global_norm(engine.grads()) - 1e-3).abs() < 1e-6);
        // Logits start near zero, so logsumexp ~ ln 11 and z-loss ~ 1e-2 * ln(11)^2 = 0.0575.
        assert!((stats.z_loss - 0.0575).abs() < 0.01, "{stats:?}");
        let next = engine.step(&cycle_batch(2, 8, 11, 0), &train.step_inputs(1));
        assert_eq!(next.stats.step, 1);
    }

    #[test]
    fn f32_engine_agrees_with_the_f64_model() {
        let config = small_gpt2();
        let engine_batch = cycle_batch(2, 8, 11, 0);
        let mut engine = CpuEngine::new(&config, 3).unwrap();
        let loss32 = engine.eval(&engine_batch);
        let params64: Vec<f64> = engine.params().iter().map(|&p| f64::from(p)).collect();
        let mut model = Model::<f64>::new(&config);
        model.forward(&params64, &engine_batch.inputs, 2, 8, None);
        let loss64 = model.loss(&engine_batch.targets, 0.0).cross_entropy;
        // f32 storage rounds each activation to ~6e-8 relative; over a few layers the loss
        // moves by well under 1e-5.
        assert!(
            (f64::from(loss32) - loss64).abs() < 1e-5,
            "{loss32} vs {loss64}"
        );
    }

    #[test]
    fn ignored_targets_do_not_count() {
        let mut engine = CpuEngine::new(&small_gpt2(), 2).unwrap();
        let batch = cycle_batch(1, 8, 11, 0);
        let mut half = batch.clone();
        half.targets[4..].fill(IGNORE);
        let mut first_half = cycle_batch(1, 8, 11, 0);
        first_half.targets.truncate(4);
        first_half.inputs.truncate(4);
        first_half.seq = 4;
        // Causal: the first 4 positions see the same prefix in both, so their mean loss matches.
        assert!((engine.eval(&half) - engine.eval(&first_half)).abs() < 1e-6);
        assert!((engine.eval(&half) - engine.eval(&batch)).abs() > 1e-6);
    }

    #[test]
    fn views_have_their_documented_shapes() {
        let config = crate::train::presets::find("qwen3").unwrap().model.clone();
        let mut engine = CpuEngine::new(&config, 0).unwrap();
        let logits = engine.logits(&[1, 2, 3, 4, 5], 1, 5);
        assert_eq!(logits.len(), 5 * 65);
        let probs = engine.attention(1);
        assert_eq!(probs.len(), 4 * 5 * 5);
        // Each query row is a distribution.
        assert!(probs
            .chunks(5)
            .all(|row| (row.iter().sum::<f32>() - 1.0).abs() < 1e-5));
        assert_eq!(engine.view_stats().max_attention_logits.len(), 2);
        let norms = engine.view_stats().norms;
        assert_eq!(norms.len(), 2);
        assert!(norms
            .iter()
            .all(|n| n.residual > 0.0 && n.attn > 0.0 && n.mlp > 0.0));
    }

    #[test]
    fn qk_norm_bounds_the_attention_logits() {
        // With RMSNorm at unit gain, q and k have norm sqrt(D) (up to eps), and RoPE keeps
        // norms, so |q.k| / sqrt(D) <= sqrt(D) = 4 for D = 16 (Cauchy-Schwarz), however large
        // the weights. Without QK-norm, large weights give far larger logits.
        let big = |qk_norm| ModelConfig {
            qk_norm,
            init_std: 1.0,
            ..ModelConfig::default()
        };
        let tokens: Vec<u32> = (0..16).collect();
        let mut normed = CpuEngine::new(&big(true), 0).unwrap();
        normed.logits(&tokens, 1, 16);
        assert!(normed
            .view_stats()
            .max_attention_logits
            .iter()
            .all(|&m| m <= 4.0 + 1e-4));
        let mut raw = CpuEngine::new(&big(false), 0).unwrap();
        raw.logits(&tokens, 1, 16);
        assert!(
            raw.view_stats()
                .max_attention_logits
                .iter()
                .all(|&m| m > 10.0),
            "{:?}",
            raw.view_stats()
        );
    }

    #[test]
    fn post_norm_keeps_the_residual_stream_at_unit_rms() {
        // Post-LayerNorm (zero bias, unit gain at init): every layer's output rows have mean 0
        // and variance var / (var + eps) ~ 1, so the stream's RMS is ~1 whatever the branches add.
        let config = crate::train::presets::find("transformer2017")
            .unwrap()
            .model
            .clone();
        let mut engine = CpuEngine::new(&config, 0).unwrap();
        engine.logits(&[1, 2, 3, 4, 5, 6], 1, 6);
        for norms in engine.view_stats().norms {
            assert!((norms.residual - 1.0).abs() < 1e-3, "{norms:?}");
        }
    }

    #[test]
    fn params_round_trip_and_length_is_checked() {
        let mut a = CpuEngine::new(&small_gpt2(), 0).unwrap();
        let b = CpuEngine::new(&small_gpt2(), 1).unwrap();
        a.set_params(b.params()).unwrap();
        assert_eq!(a.params(), b.params());
        assert_eq!(a.set_params(&[0.0; 3]).unwrap_err().field, "params");
    }

    #[test]
    fn default_model_learns_a_cycle() {
        // Default preset (pre RMSNorm, SwiGLU, RoPE; 109k parameters), period-7 cycles, 4 x 16
        // tokens a step. The loss starts at ~ln 65 = 4.17; after N = 25 steps at lr 1e-2 it
        // must be below 0.1 nats on a batch of unseen phases (it reaches ~1e-3 when correct;
        // a broken gradient stalls near the unigram entropy ln 7 = 1.95).
        let train = TrainConfig {
            lr: 1e-2,
            min_lr: 1e-3,
            warmup_steps: 5,
            steps: 25,
            schedule: Schedule::Cosine,
            ..TrainConfig::default()
        };
        let mut engine = CpuEngine::new(&ModelConfig::default(), 0).unwrap();
        let first = engine
            .step(&cycle_batch(4, 16, 7, 0), &train.step_inputs(0))
            .stats
            .loss;
        assert!((first - 65f32.ln()).abs() < 0.2, "initial loss {first}");
        for step in 1..25 {
            engine.step(
                &cycle_batch(4, 16, 7, step),
                &train.step_inputs(step as usize),
            );
        }
        let held_out = engine.eval(&cycle_batch(4, 16, 7, 1000));
        assert!(held_out < 0.1, "loss after 25 steps: {held_out}");
        // Greedy generation continues the cycle.
        #[cfg(not(target_arch = "wasm32"))]
        let next =
            crate::contract::engine::generate(&mut engine, &[2, 3, 4], 4, 0.0, 0, 0).unwrap();
        #[cfg(not(target_arch = "wasm32"))]
        assert_eq!(next, [5, 6, 0, 1]);
    }
}
