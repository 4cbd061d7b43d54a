//! A page run on the WebGPU engine, driven without ever waiting: steps are submitted ahead,
//! their reports (statistics and the views of their forward) collected as they arrive, and
//! every read the page needs (validation logits, an example's attention maps and norms, the
//! next sample token) is
//! started here and handed to the page's loop to await. Queue order keeps each read consistent:
//! a read's copy is submitted right after the work it reads, before any later step.

use std::collections::VecDeque;

use super::Example;
use crate::gpu::engine::{GpuEngine, PendingViews, StepReport};
use crate::gpu::{GpuError, PendingRead};
use crate::train::session::{RunStatus, Session};

/// The validation logits of an evaluation step, on their way back.
pub struct PendingValidation {
    pub step: usize,
    /// One read per validation batch, in `Session::validation_batches` order.
    pub reads: Vec<PendingRead>,
}

/// An example's forward on its way back: attention per layer, then the view statistics.
pub struct PendingExample {
    tokens: Vec<u32>,
    attention: Vec<PendingRead>,
    views: PendingViews,
}

impl PendingExample {
    pub async fn wait(self) -> Result<Example, GpuError> {
        let mut attention = Vec::with_capacity(self.attention.len());
        for read in self.attention {
            attention.push(read.wait().await?);
        }
        Ok(Example {
            tokens: self.tokens,
            attention,
            norms: self.views.wait().await?.norms,
        })
    }
}

/// The GPU engine of a run and what is still on its way back.
pub struct GpuRun {
    pub engine: GpuEngine,
    /// Reports collected but not recorded: their step evaluates and its validation is pending.
    waiting: VecDeque<(StepReport, f64)>,
    /// Validations scored before their step's report arrived: (step, loss, accuracy).
    scored: Vec<(usize, (f32, f32))>,
    /// When the last report arrived (or stepping started after a pause), seconds: the
    /// throughput of a step is measured between arrivals.
    last_arrival: f64,
}

impl GpuRun {
    pub fn new(engine: GpuEngine) -> Self {
        Self {
            engine,
            waiting: VecDeque::new(),
            scored: Vec::new(),
            last_arrival: 0.0,
        }
    }

    /// The step the next submission trains: those recorded, in flight, or waiting.
    fn next_step(&self, session: &Session) -> usize {
        session.steps_done() + self.engine.in_flight() + self.waiting.len()
    }

    /// Whether steps are in flight or wait for their validation.
    pub fn busy(&self) -> bool {
        self.engine.in_flight() > 0 || !self.waiting.is_empty()
    }

    /// Records the reports that have arrived (in step order, each once its validation is
    /// scored), then submits up to `limit` steps while fewer than `ahead` are in flight.
    /// Returns the validations just started, for the page to await and hand to
    /// [`Self::validated`].
    pub fn pump(
        &mut self,
        session: &mut Session,
        now_seconds: f64,
        ahead: usize,
        limit: usize,
    ) -> Result<Vec<PendingValidation>, GpuError> {
        let arrived = self.engine.poll_stats()?;
        if !arrived.is_empty() {
            // Reports collected together share the time since the previous arrival.
            let seconds = (now_seconds - self.last_arrival).max(1e-9) / arrived.len() as f64;
            let train = &session.run.train;
            let tokens_per_second = (train.batch_size * train.seq_len) as f64 / seconds;
            self.waiting
                .extend(arrived.into_iter().map(|r| (r, tokens_per_second)));
            self.last_arrival = now_seconds;
        }
        self.record_ready(session);

        let mut validations = Vec::new();
        let steps = session.run.train.steps;
        let mut submitted_now = 0;
        while session.status == RunStatus::Training
            && self.next_step(session) < steps
            && self.engine.in_flight() < ahead
            && submitted_now < limit
        {
            if !self.busy() {
                // Stepping (re)starts: a pause before it is not throughput.
                self.last_arrival = now_seconds;
            }
            let step = self.next_step(session);
            self.engine
                .submit_step(&session.train_batch(step), &session.run.train);
            if session.evaluates_at(step) {
                let reads = session
                    .validation_batches()
                    .iter()
                    .map(|b| {
                        self.engine
                            .start_logits(&b.inputs, b.batch, b.seq, 0..b.batch * b.seq)
                    })
                    .collect();
                validations.push(PendingValidation { step, reads });
            }
            submitted_now += 1;
        }
        Ok(validations)
    }

    /// The validation logits of `step` have arrived: scores them and records what is ready.
    pub fn validated(&mut self, session: &mut Session, step: usize, logits: &[Vec<f32>]) {
        self.scored.push((step, session.score_validation(logits)));
        self.record_ready(session);
    }

    /// Records waiting reports in order while each has what it needs.
    fn record_ready(&mut self, session: &mut Session) {
        while let Some((report, _)) = self.waiting.front() {
            let step = report.stats.step;
            let validation = if session.evaluates_at(step) {
                let Some(at) = self.scored.iter().position(|(s, _)| *s == step) else {
                    return;
                };
                Some(self.scored.swap_remove(at).1)
            } else {
                None
            };
            let (report, tokens_per_second) = self.waiting.pop_front().expect("a front report");
            if session.status == RunStatus::Training {
                session.record(report.stats, report.views, validation, tokens_per_second);
            }
        }
    }

    /// Runs `tokens` (one sequence) and starts reading every layer's attention probabilities
    /// and the forward's view statistics.
    pub fn start_example(&mut self, tokens: Vec<u32>) -> PendingExample {
        self.engine.forward(&tokens, 1, tokens.len());
        let attention = (0..self.engine.config().n_layers)
            .map(|layer| self.engine.start_attention(layer))
            .collect();
        let views = self.engine.start_view_stats();
        PendingExample {
            tokens,
            attention,
            views,
        }
    }

    /// Starts reading the logits `[V]` that predict the token after `tokens` (non-empty). The
    /// last `context_len` tokens run right-padded to the full context, so that every sample
    /// token reuses one plan: causal attention keeps the padding out of the positions read.
    pub fn start_next_token(&mut self, tokens: &[u32]) -> PendingRead {
        let context = self.engine.config().context_len;
        let window = &tokens[tokens.len().saturating_sub(context)..];
        let mut padded = window.to_vec();
        padded.resize(context, 0);
        let last = window.len() - 1;
        self.engine
            .start_logits(&padded, 1, context, last..last + 1)
    }
}
