//! A training session: one run's data and history, stepped on an engine by the command line or
//! the page. It owns the bookkeeping both need (evaluation, accuracy, divergence, metrics
//! records) so that neither reimplements it. The engine stays outside: the CPU engine is
//! stepped here synchronously, while the page drives the GPU engine asynchronously and hands
//! each step's results to [`Session::record`].

use serde::Serialize;

use super::batch::Batch;
use super::data::{DataStream, Split};
use super::run::RunConfig;
use super::tasks::token_accuracy;
use crate::cpu::loss::cross_entropy_forward;
use crate::engine::{Engine, LayerNorms, StepStats, ViewStats};

/// Validation batches averaged per evaluation: enough to steady the curve, few enough to be
/// cheap next to the steps between evaluations.
pub const EVAL_BATCHES: u64 = 4;

/// One step's record: what the metrics files and the charts are made of.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepRecord {
    /// 0-based step.
    pub step: usize,
    /// Training cross-entropy of this step's batch, nats.
    pub loss: f32,
    /// The z-loss term added to the objective.
    pub z_loss: f32,
    /// Gradient norm before clipping.
    pub grad_norm: f32,
    /// Learning rate of the update.
    pub lr: f32,
    /// Mean validation cross-entropy, on evaluation steps.
    pub val_loss: Option<f32>,
    /// Next-token accuracy on the validation batches' scored positions, on evaluation steps.
    pub val_accuracy: Option<f32>,
    /// Largest attention logit per layer in this step's forward.
    pub max_attention_logit: Vec<f32>,
    /// RMS of residual stream and branch outputs per layer in this step's forward.
    pub norms: Vec<NormRecord>,
    /// Training tokens per second of this step (forward, backward, update; not evaluation).
    pub tokens_per_second: f64,
}

/// [`LayerNorms`] in serialisable form.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct NormRecord {
    pub residual: f32,
    pub attn: f32,
    pub mlp: f32,
}

impl From<LayerNorms> for NormRecord {
    fn from(n: LayerNorms) -> Self {
        Self {
            residual: n.residual,
            attn: n.attn,
            mlp: n.mlp,
        }
    }
}

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Steps remain.
    Training,
    /// All steps done.
    Finished,
    /// The loss became NaN or infinite at this step; the history up to it is kept.
    Diverged { step: usize },
    /// The engine failed (a lost GPU device) before this step; the history is kept.
    Stopped { step: usize },
}

/// A run in progress.
pub struct Session {
    /// The validated configuration (its model's vocabulary set from the data).
    pub run: RunConfig,
    pub data: DataStream,
    /// Steps taken before this session (a run resumed from a checkpoint).
    pub first_step: usize,
    /// One record per step taken in this session.
    pub history: Vec<StepRecord>,
    pub status: RunStatus,
    /// The fixed batches every evaluation scores, built once.
    validation: Vec<Batch>,
}

impl Session {
    /// A session over `data` (built by `run.build_data`) for a fresh engine.
    pub fn new(run: RunConfig, data: DataStream) -> Self {
        let validation = (0..EVAL_BATCHES)
            .map(|i| data.batch(Split::Validation, i))
            .collect();
        Self {
            run,
            data,
            first_step: 0,
            history: Vec::new(),
            status: RunStatus::Training,
            validation,
        }
    }

    /// A session continuing a run that has taken `first_step` steps (its engine restored from a
    /// checkpoint): batches, evaluations and the end follow the run's own step count.
    pub fn resume(run: RunConfig, data: DataStream, first_step: usize) -> Self {
        let status = if first_step >= run.train.steps {
            RunStatus::Finished
        } else {
            RunStatus::Training
        };
        Self {
            first_step,
            status,
            ..Self::new(run, data)
        }
    }

    /// The latest validation loss of this session, if it evaluated.
    pub fn last_val_loss(&self) -> Option<f32> {
        self.history.iter().rev().find_map(|r| r.val_loss)
    }

    /// Mean training throughput of this session's steps (0 before any).
    pub fn mean_tokens_per_second(&self) -> f64 {
        let total: f64 = self.history.iter().map(|r| r.tokens_per_second).sum();
        total / self.history.len().max(1) as f64
    }

    /// Steps the run has taken, before this session and in it.
    pub fn steps_done(&self) -> usize {
        self.first_step + self.history.len()
    }

    /// Takes one step on `engine` (evaluating on evaluation steps: every `eval_interval` and
    /// the last) and records it. Does nothing once finished or diverged.
    pub fn step<E: Engine + ?Sized>(
        &mut self,
        engine: &mut E,
        now_seconds: impl Fn() -> f64,
    ) -> Option<&StepRecord> {
        if self.status != RunStatus::Training {
            return None;
        }
        let step = self.steps_done();
        let batch = self.train_batch(step);
        let started = now_seconds();
        let stats = engine.step(&batch, &self.run.train);
        let elapsed = (now_seconds() - started).max(1e-9);
        let views = ViewStats {
            max_attention_logits: engine.max_attention_logits(),
            norms: engine.activation_norms(),
        };
        let validation = self.evaluates_at(step).then(|| self.evaluate(engine));
        let tokens_per_second = (batch.batch * batch.seq) as f64 / elapsed;
        Some(self.record(stats, views, validation, tokens_per_second))
    }

    /// The training batch of step `step`.
    pub fn train_batch(&self, step: usize) -> Batch {
        self.data.batch(Split::Train, step as u64)
    }

    /// Records the next step from its results: statistics, the views of its forward, the
    /// validation (loss, accuracy) on evaluation steps, and its throughput. Marks the run
    /// diverged on a non-finite loss, finished after its last step.
    pub fn record(
        &mut self,
        stats: StepStats,
        views: ViewStats,
        validation: Option<(f32, f32)>,
        tokens_per_second: f64,
    ) -> &StepRecord {
        let step = self.steps_done();
        debug_assert_eq!(stats.step, step, "steps are recorded in order");
        let (val_loss, val_accuracy) = validation.unzip();
        self.history.push(StepRecord {
            step,
            loss: stats.loss,
            z_loss: stats.z_loss,
            grad_norm: stats.grad_norm,
            lr: stats.lr,
            val_loss,
            val_accuracy,
            max_attention_logit: views.max_attention_logits,
            norms: views.norms.into_iter().map(NormRecord::from).collect(),
            tokens_per_second,
        });
        let diverged = !stats.loss.is_finite() || val_loss.is_some_and(|l| !l.is_finite());
        self.status = if diverged {
            RunStatus::Diverged { step }
        } else if step + 1 >= self.run.train.steps {
            RunStatus::Finished
        } else {
            RunStatus::Training
        };
        self.history.last().expect("just pushed")
    }

    /// Whether step `step` evaluates: every `eval_interval` steps and the last. An evaluation
    /// costs about [`EVAL_BATCHES`] forward passes more than a plain step.
    pub fn evaluates_at(&self, step: usize) -> bool {
        step.is_multiple_of(self.run.train.eval_interval) || step + 1 == self.run.train.steps
    }

    /// Mean validation loss and token accuracy over [`EVAL_BATCHES`] fixed batches, from one
    /// forward pass each.
    pub fn evaluate<E: Engine + ?Sized>(&self, engine: &mut E) -> (f32, f32) {
        let logits: Vec<Vec<f32>> = self
            .validation_batches()
            .iter()
            .map(|b| engine.logits(&b.inputs, b.batch, b.seq))
            .collect();
        self.score_validation(&logits)
    }

    /// The fixed batches every evaluation scores.
    pub fn validation_batches(&self) -> &[Batch] {
        &self.validation
    }

    /// Mean loss and token accuracy of the logits of [`Self::validation_batches`], in order.
    pub fn score_validation(&self, logits: &[Vec<f32>]) -> (f32, f32) {
        let vocab = self.run.model.vocab_size;
        let (mut loss, mut accuracy) = (0.0, 0.0);
        for (batch, logits) in self.validation.iter().zip(logits) {
            let mut lse = vec![0.0f32; batch.targets.len()];
            loss +=
                cross_entropy_forward(&mut lse, logits, &batch.targets, 0.0).cross_entropy as f32;
            accuracy += token_accuracy(logits, batch, vocab);
        }
        let n = logits.len().max(1) as f32;
        (loss / n, accuracy / n)
    }

    /// The first validation batch, the example whose attention maps are shown.
    pub fn display_batch(&self) -> Batch {
        self.validation[0].clone()
    }

    /// Runs the display example through `engine` and returns every layer's attention
    /// probabilities `[heads, T, T]`.
    pub fn attention_maps<E: Engine + ?Sized>(&self, engine: &mut E) -> Vec<Vec<f32>> {
        let batch = self.display_batch();
        engine.logits(&batch.inputs, batch.batch, batch.seq);
        (0..self.run.model.n_layers)
            .map(|layer| engine.attention(layer))
            .collect()
    }
}
