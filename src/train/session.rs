//! A training session: one run's data and history, driven on any engine the same way by the
//! command line and the page. [`Session::pump`] records the reports that arrived and submits
//! steps to keep a number in flight, starting each evaluation step's validation reads right
//! after it; a step is recorded once its report and (on evaluation steps) its validation are
//! in, in step order. On the CPU engine everything completes inside `pump`; on the GPU engine
//! the caller awaits the reads it returns (the page between tasks, the command line in
//! [`Session::run_blocking`]). The engine stays outside the session, so the page can await
//! reads while the session goes on.

use std::collections::VecDeque;

use serde::{Deserialize, Deserializer, Serialize};

use super::data::{DataStream, Split};
use super::run::RunConfig;
use crate::contract::engine::now;
use crate::contract::score::{score_batches, Validation};
use crate::contract::{Batch, Engine, EngineError, LayerNorms, Pending, StepReport};

/// Validation batches averaged per evaluation: enough to steady the curve, few enough to be
/// cheap next to the steps between evaluations.
pub const EVAL_BATCHES: u64 = 4;

/// One step's record: what the metrics files and the charts are made of. JSON has no NaN, so
/// a diverged step's non-finite numbers are written as null and read back as NaN (a
/// non-finite validation loss or accuracy as none).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 0-based step.
    pub step: usize,
    /// Training cross-entropy of this step's batch, nats.
    #[serde(deserialize_with = "nan_if_null")]
    pub loss: f32,
    /// The z-loss term added to the objective.
    #[serde(deserialize_with = "nan_if_null")]
    pub z_loss: f32,
    /// Gradient norm before clipping.
    #[serde(deserialize_with = "nan_if_null")]
    pub grad_norm: f32,
    /// Learning rate of the update.
    #[serde(deserialize_with = "nan_if_null")]
    pub lr: f32,
    /// Mean softmax normaliser log Z of this step's batch, nats (recorded without z-loss too).
    #[serde(deserialize_with = "nan_if_null")]
    pub log_z: f32,
    /// Global parameter norm after the update.
    #[serde(deserialize_with = "nan_if_null")]
    pub param_norm: f32,
    /// Gradient norm of each layer's parameters before clipping.
    #[serde(deserialize_with = "nans_if_null")]
    pub layer_grad_norms: Vec<f32>,
    /// Mean validation cross-entropy, on evaluation steps.
    pub val_loss: Option<f32>,
    /// Next-token accuracy on the validation batches' scored positions, on evaluation steps.
    pub val_accuracy: Option<f32>,
    /// The validation loss in bits per character of the text the targets decode to, on
    /// evaluation steps of text data: unlike nats per token it compares across tokenizers.
    /// None for synthetic tasks (and in runs saved before it was recorded).
    #[serde(default)]
    pub val_bpc: Option<f32>,
    /// Largest attention logit per layer in this step's forward.
    #[serde(deserialize_with = "nans_if_null")]
    pub max_attention_logit: Vec<f32>,
    /// RMS of residual stream and branch outputs per layer in this step's forward.
    pub norms: Vec<NormRecord>,
    /// Training tokens per second of this step (forward, backward, update; not evaluation).
    #[serde(deserialize_with = "nan_if_null")]
    pub tokens_per_second: f64,
}

/// [`LayerNorms`] in serialisable form.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NormRecord {
    #[serde(deserialize_with = "nan_if_null")]
    pub residual: f32,
    #[serde(deserialize_with = "nan_if_null")]
    pub attn: f32,
    #[serde(deserialize_with = "nan_if_null")]
    pub mlp: f32,
}

/// A number that serde_json wrote as null (it writes NaN and infinities so) read back as NaN.
fn nan_if_null<'de, D, F>(deserializer: D) -> Result<F, D::Error>
where
    D: Deserializer<'de>,
    F: Deserialize<'de> + From<f32>,
{
    Ok(Option::<F>::deserialize(deserializer)?.unwrap_or_else(|| F::from(f32::NAN)))
}

/// [`nan_if_null`] for each number of a list.
fn nans_if_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f32>, D::Error> {
    let values = Vec::<Option<f32>>::deserialize(deserializer)?;
    Ok(values.into_iter().map(|v| v.unwrap_or(f32::NAN)).collect())
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Stopped on purpose before this step: the visitor stopped it, or a newer run took its
    /// engine. The history is kept.
    Halted { step: usize },
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
    /// Characters each token id adds to the text (text data only), for bits per character.
    chars_per_token: Option<Vec<u32>>,
    /// Reports collected but not recorded (their step evaluates and its validation is not
    /// scored yet), each with its throughput.
    waiting: VecDeque<(StepReport, f64)>,
    /// Validations scored before their step's report arrived, by step.
    scored: Vec<(usize, Validation)>,
    /// When the last report arrived (or stepping started after a pause), seconds: a step's
    /// throughput is measured between arrivals.
    last_arrival: f64,
}

/// The validation logits of an evaluation step, on their way back: one read per validation
/// batch, in [`Session::validation_batches`] order. Hand the values to [`Session::validated`].
pub struct PendingValidation {
    pub step: usize,
    pub reads: Vec<Pending<Vec<f32>>>,
}

impl PendingValidation {
    /// Awaits every batch's logits.
    pub async fn wait(self) -> Result<(usize, Vec<Vec<f32>>), EngineError> {
        let mut logits = Vec::with_capacity(self.reads.len());
        for read in self.reads {
            logits.push(read.await?);
        }
        Ok((self.step, logits))
    }
}

impl Session {
    /// A session over `data` (built by `run.build_data`) for a fresh engine.
    pub fn new(run: RunConfig, data: DataStream) -> Self {
        let validation = (0..EVAL_BATCHES)
            .map(|i| data.batch(Split::Validation, i))
            .collect();
        Self {
            run,
            chars_per_token: data.chars_per_token(),
            data,
            first_step: 0,
            history: Vec::new(),
            status: RunStatus::Training,
            validation,
            waiting: VecDeque::new(),
            scored: Vec::new(),
            last_arrival: 0.0,
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

    /// Marks the run stopped by an engine failure after the steps recorded; the history stays.
    pub fn stop(&mut self) {
        self.status = RunStatus::Stopped {
            step: self.steps_done(),
        };
    }

    /// Marks the run stopped on purpose after the steps recorded; the history stays.
    pub fn halt(&mut self) {
        self.status = RunStatus::Halted {
            step: self.steps_done(),
        };
    }

    /// Goes back to `step` (at least `first_step`) for an engine restored to it: the records
    /// from it on go, as do reports and validations on their way from the engine it replaces.
    pub fn rewind(&mut self, step: usize) {
        self.history.truncate(step.saturating_sub(self.first_step));
        self.waiting.clear();
        self.scored.clear();
        self.status = if step >= self.run.train.steps {
            RunStatus::Finished
        } else {
            RunStatus::Training
        };
    }

    /// Steps the run has taken, before this session and in it.
    pub fn steps_done(&self) -> usize {
        self.first_step + self.history.len()
    }

    /// The step the next submission trains: those recorded, in flight on `engine`, or waiting
    /// for their validation (so also the steps an engine's state read now includes).
    pub fn next_step(&self, engine: &dyn Engine) -> usize {
        self.steps_done() + engine.in_flight() + self.waiting.len()
    }

    /// Whether steps are in flight on `engine` or wait for their validation.
    pub fn busy(&self, engine: &dyn Engine) -> bool {
        engine.in_flight() > 0 || !self.waiting.is_empty()
    }

    /// Records the reports that have arrived (in step order, each once its validation is
    /// scored), then submits up to `limit` steps while fewer than `ahead` are in flight, and
    /// records what arrived meanwhile. Returns the validations still on their way, to await and
    /// hand to [`Self::validated`] (none on an engine that completes at once). `clock` gives
    /// seconds; throughput is measured between report arrivals.
    pub fn pump(
        &mut self,
        engine: &mut dyn Engine,
        clock: &dyn Fn() -> f64,
        ahead: usize,
        limit: usize,
    ) -> Result<Vec<PendingValidation>, EngineError> {
        self.collect(engine, clock)?;
        let mut pending = Vec::new();
        let mut submitted = 0;
        while self.status == RunStatus::Training
            && self.next_step(engine) < self.run.train.steps
            && engine.in_flight() < ahead
            && submitted < limit
        {
            if !self.busy(engine) {
                // Stepping (re)starts: a pause before it is not throughput.
                self.last_arrival = clock();
            }
            let step = self.next_step(engine);
            engine.submit_step(&self.train_batch(step), &self.run.train.step_inputs(step));
            submitted += 1;
            if self.evaluates_at(step) {
                let mut validation = PendingValidation {
                    step,
                    reads: (self.validation.iter())
                        .map(|b| engine.start_logits(&b.inputs, b.batch, b.seq, 0..b.batch * b.seq))
                        .collect(),
                };
                match ready_values(&mut validation.reads) {
                    Some(logits) => self.validated(step, &logits?),
                    None => pending.push(validation),
                }
            }
            self.collect(engine, clock)?;
        }
        Ok(pending)
    }

    /// Collects the reports that arrived on `engine` and records those ready.
    fn collect(
        &mut self,
        engine: &mut dyn Engine,
        clock: &dyn Fn() -> f64,
    ) -> Result<(), EngineError> {
        let arrived = engine.poll_reports()?;
        if !arrived.is_empty() {
            let now = clock();
            // Reports collected together share the time since the previous arrival.
            let seconds = (now - self.last_arrival).max(1e-9) / arrived.len() as f64;
            let train = &self.run.train;
            let tokens_per_second = (train.batch_size * train.seq_len) as f64 / seconds;
            self.waiting
                .extend(arrived.into_iter().map(|r| (r, tokens_per_second)));
            self.last_arrival = now;
        }
        self.record_ready();
        Ok(())
    }

    /// The validation logits of `step` have arrived: scores them and records what is ready.
    pub fn validated(&mut self, step: usize, logits: &[Vec<f32>]) {
        self.scored.push((step, self.score_validation(logits)));
        self.record_ready();
    }

    /// Records waiting reports in order while each has what it needs.
    fn record_ready(&mut self) {
        while let Some((report, _)) = self.waiting.front() {
            let step = report.stats.step;
            let validation = if self.evaluates_at(step) {
                let Some(at) = self.scored.iter().position(|(s, _)| *s == step) else {
                    return;
                };
                Some(self.scored.swap_remove(at).1)
            } else {
                None
            };
            let (report, tokens_per_second) = self.waiting.pop_front().expect("a front report");
            if self.status == RunStatus::Training {
                self.record(report, validation, tokens_per_second);
            }
        }
    }

    /// Natively: waits for `validation`'s logits and scores them.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait_validation(&mut self, validation: PendingValidation) -> Result<(), EngineError> {
        let (step, logits) = crate::contract::engine::wait(Box::pin(validation.wait()))?;
        self.validated(step, &logits);
        Ok(())
    }

    /// Natively: trains to the end, keeping `ahead` steps in flight and waiting for each report
    /// and validation as it is needed; `on_progress` sees the session after each pump.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_blocking(
        &mut self,
        engine: &mut dyn Engine,
        ahead: usize,
        clock: &dyn Fn() -> f64,
        mut on_progress: impl FnMut(&Session),
    ) -> Result<(), EngineError> {
        use crate::contract::engine::wait;
        loop {
            for validation in self.pump(engine, clock, ahead, usize::MAX)? {
                self.wait_validation(validation)?;
            }
            on_progress(self);
            if !self.busy(engine) {
                return Ok(());
            }
            if engine.in_flight() > 0 {
                wait(engine.next_report())?;
            }
        }
    }

    /// The training batch of step `step`.
    pub fn train_batch(&self, step: usize) -> Batch {
        self.data.batch(Split::Train, step as u64)
    }

    /// Records the next step from its report (statistics and the views of its forward), the
    /// validation on evaluation steps, and its throughput. Marks the run
    /// diverged on a non-finite loss, finished after its last step.
    fn record(
        &mut self,
        report: StepReport,
        validation: Option<Validation>,
        tokens_per_second: f64,
    ) -> &StepRecord {
        let (stats, views) = (report.stats, report.views);
        let step = self.steps_done();
        debug_assert_eq!(stats.step, step, "steps are recorded in order");
        let val_loss = validation.map(|v| v.loss);
        self.history.push(StepRecord {
            step,
            loss: stats.loss,
            z_loss: stats.z_loss,
            grad_norm: stats.grad_norm,
            lr: stats.lr,
            log_z: stats.log_z,
            param_norm: stats.param_norm,
            layer_grad_norms: report.layer_grad_norms,
            val_loss,
            val_accuracy: validation.map(|v| v.accuracy),
            val_bpc: validation.and_then(|v| v.bits_per_char),
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

    /// The fixed batches every evaluation scores.
    pub fn validation_batches(&self) -> &[Batch] {
        &self.validation
    }

    /// Loss, token accuracy and (text data) bits per character of the logits of
    /// [`Self::validation_batches`], in order.
    pub fn score_validation(&self, logits: &[Vec<f32>]) -> Validation {
        score_batches(
            &self.validation,
            logits,
            self.run.model.vocab_size,
            self.chars_per_token.as_deref(),
        )
    }

    /// The first validation batch, the example whose attention maps are shown.
    pub fn display_batch(&self) -> Batch {
        self.validation[0].clone()
    }
}

/// The values of `reads` if every one has arrived (always, on an engine that completes at
/// once). Otherwise each read that arrived is replaced by its value, since a finished future
/// cannot be polled again when the rest are awaited.
fn ready_values(reads: &mut [Pending<Vec<f32>>]) -> Option<Result<Vec<Vec<f32>>, EngineError>> {
    let arrived: Vec<_> = reads.iter_mut().map(now).collect();
    if arrived.iter().all(Option::is_some) {
        return Some(arrived.into_iter().flatten().collect());
    }
    for (read, result) in reads.iter_mut().zip(arrived) {
        if let Some(result) = result {
            *read = Box::pin(std::future::ready(result));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::corpus::builtin_corpus;

    /// Bits per character count the characters the validation targets decode to: with uniform
    /// logits every target costs ln(vocab) nats, so the bits per character are known from the
    /// decoded validation text alone.
    #[test]
    fn bits_per_character_count_the_decoded_validation_text() {
        let mut run = RunConfig::default();
        let bpe = r#"{"type": "text", "tokenizer": {"kind": "bpe", "vocab_size": 300}}"#;
        run.set("data.source", bpe).unwrap();
        let data = run
            .build_data(Some(&builtin_corpus().unwrap()[..50_000]))
            .unwrap();
        let session = Session::new(run, data);
        let vocab = session.run.model.vocab_size;
        let tokenizer = session.data.tokenizer().unwrap();
        let (mut tokens, mut chars) = (0, 0);
        for batch in session.validation_batches() {
            for targets in batch.targets.chunks_exact(batch.seq) {
                tokens += targets.len();
                chars += tokenizer
                    .decode(&targets.iter().map(|&t| t as u32).collect::<Vec<_>>())
                    .chars()
                    .count();
            }
        }
        assert!(chars > tokens, "BPE tokens hold more than one character");
        let logits: Vec<Vec<f32>> = (session.validation_batches().iter())
            .map(|b| vec![0.0; b.targets.len() * vocab])
            .collect();
        let scores = session.score_validation(&logits);
        let expected = tokens as f64 * (vocab as f64).ln() / chars as f64 / 2f64.ln();
        let bpc = f64::from(scores.bits_per_char.unwrap());
        assert!(
            (bpc - expected).abs() < 1e-5 * expected,
            "{bpc} vs {expected}"
        );
        assert!((f64::from(scores.loss) - (vocab as f64).ln()).abs() < 1e-5);
    }

    /// A synthetic task has no text: no bits per character.
    #[test]
    fn tasks_have_no_bits_per_character() {
        let mut run = RunConfig::default();
        let copy = r#"{"type": "task", "task": "copy", "length": 4, "symbols": 8}"#;
        run.set("data.source", copy).unwrap();
        run.set("train.seq_len", "10").unwrap();
        let data = run.build_data(None).unwrap();
        let session = Session::new(run, data);
        let vocab = session.run.model.vocab_size;
        let logits: Vec<Vec<f32>> = (session.validation_batches().iter())
            .map(|b| vec![0.0; b.targets.len() * vocab])
            .collect();
        assert_eq!(session.score_validation(&logits).bits_per_char, None);
    }
}
