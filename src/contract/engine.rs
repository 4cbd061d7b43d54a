//! The contract both engines implement, so the page, the command line and the tests drive
//! either the same way: submit a step, collect its report when it arrives; start a read, await
//! its values. The CPU engine completes everything at once (its reads are ready when started);
//! the GPU engine submits work to the device and reads results back asynchronously, so nothing
//! here waits. Natively, [`wait`] is the one place that does.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

use super::batch::Batch;
use super::decode::KvDecode;
use super::step::{OptimizerState, StepInputs, StepReport, ViewStats};
use crate::model::{ConfigError, ModelConfig, ParamLayout};

/// Why an engine could not deliver: a lost device, a failed read-back.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct EngineError(pub String);

/// A result on its way: ready when started on the CPU engine, a read-back on the GPU engine.
/// It borrows nothing, so the page can await it between tasks while training goes on.
pub type Pending<T> = Pin<Box<dyn Future<Output = Result<T, EngineError>>>>;

/// One kernel family's share of a profiled training step.
#[derive(Clone, Debug, PartialEq)]
pub struct FamilyTime {
    /// The shader file, e.g. "norm.wgsl".
    pub family: &'static str,
    /// Summed GPU time of its dispatches, in milliseconds.
    pub ms: f64,
    /// Its dispatches in one training step.
    pub dispatches: usize,
}

/// A result that is already there.
pub fn ready<T: 'static>(value: T) -> Pending<T> {
    Box::pin(std::future::ready(Ok(value)))
}

/// The result of `pending` if it has arrived, without waiting (always, on the CPU engine).
/// Once it returns a result, `pending` is finished and must not be polled again.
pub fn now<T>(pending: &mut Pending<T>) -> Option<Result<T, EngineError>> {
    match pending
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => Some(result),
        Poll::Pending => None,
    }
}

/// Waits for `pending`: natively only (a browser must never block), and the only place that
/// waits for an engine.
#[cfg(not(target_arch = "wasm32"))]
pub fn wait<T>(pending: Pending<T>) -> Result<T, EngineError> {
    pollster::block_on(pending)
}

/// One forward of a sequence as the page shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ForwardViews {
    /// Attention probabilities per layer, `[heads, T, T]` each.
    pub attention: Vec<Vec<f32>>,
    /// Largest attention logits and activation RMS per layer.
    pub views: ViewStats,
}

/// What a checkpoint holds of an engine.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineState {
    /// The flat parameters, in layout order.
    pub params: Vec<f32>,
    pub optimizer: OptimizerState,
}

/// A trainable model behind some compute backend.
pub trait Engine {
    /// The architecture.
    fn config(&self) -> &ModelConfig;

    /// The parameter layout of the parameters, gradients and optimizer state.
    fn layout(&self) -> &ParamLayout;

    /// Which engine on which device, for people ("CPU engine", "WebGPU engine on ...").
    fn describe(&self) -> String;

    /// Whether a submitted step's report and every started read are ready at once (the CPU
    /// engine), so that a caller with a time budget can step it in place.
    fn completes_at_once(&self) -> bool;

    /// Submits one optimizer step on `batch`: forward (with dropout), backward, clipping and
    /// AdamW with `inputs`. Its report arrives through [`Engine::poll_reports`].
    fn submit_step(&mut self, batch: &Batch, inputs: &StepInputs);

    /// Steps submitted whose reports have not been collected.
    fn in_flight(&self) -> usize;

    /// The reports that have arrived, oldest first, without waiting.
    fn poll_reports(&mut self) -> Result<Vec<StepReport>, EngineError>;

    /// Resolves when the oldest step in flight has its report ready for `poll_reports` (at
    /// once if nothing is in flight).
    fn next_report(&self) -> Pending<()>;

    /// Runs the forward of `tokens` `[batch, seq]` (no dropout, no update) after every step
    /// submitted, and reads the logits of the flat positions `rows`, `[rows, V]`.
    fn start_logits(
        &mut self,
        tokens: &[u32],
        batch: usize,
        seq: usize,
        rows: Range<usize>,
    ) -> Pending<Vec<f32>>;

    /// Runs the forward of one sequence and reads its attention maps and view statistics.
    fn start_views(&mut self, tokens: &[u32]) -> Pending<ForwardViews>;

    /// Reads the parameters and the optimizer state as of every step submitted.
    fn start_state(&self) -> Pending<EngineState>;

    /// Mean cross-entropy of `batch` and its gradient for every parameter (layout order),
    /// without dropout, z-loss, clipping or an update: what `archlab eval` reports.
    fn start_gradients(&mut self, batch: &Batch) -> Pending<(f32, Vec<f32>)>;

    /// Runs one real training step with each kernel timed, where the device can: each kernel
    /// family's time and dispatches, largest time first. None where it cannot (the CPU engine).
    fn start_profile(
        &mut self,
        batch: &Batch,
        inputs: &StepInputs,
    ) -> Pending<Option<Vec<FamilyTime>>>;

    /// Replaces the parameters (for import); the optimizer state is kept.
    fn set_params(&mut self, params: &[f32]) -> Result<(), ConfigError>;

    /// Restores a checkpoint's optimizer state: the next step continues its bias correction
    /// and dropout masks where the saved run stopped.
    fn set_optimizer_state(&mut self, state: OptimizerState) -> Result<(), ConfigError>;

    /// The engine's KV-cached decode, where it has one (both engines have).
    fn kv_decode(&mut self) -> Option<&mut dyn KvDecode>;
}

/// Starts reading the logits `[V]` that predict the token after `tokens` (non-empty). The last
/// `context_len` tokens run right-padded to the full context, so every call has one shape (one
/// GPU plan): causal attention keeps the padding out of the position read.
pub fn start_next_token(engine: &mut dyn Engine, tokens: &[u32]) -> Pending<Vec<f32>> {
    assert!(!tokens.is_empty(), "the next token needs a prompt");
    let context = engine.config().context_len;
    let window = &tokens[tokens.len().saturating_sub(context)..];
    let mut padded = window.to_vec();
    padded.resize(context, 0);
    let last = window.len() - 1;
    engine.start_logits(&padded, 1, context, last..last + 1)
}

/// Samples `n` tokens after `prompt` (which must not be empty), feeding at most the last
/// `context_len` tokens back each time; with the engine's KV cache where it has one.
/// `temperature` 0 picks the most likely token; `top_k` 0 keeps the whole vocabulary. Returns
/// the new tokens only.
#[cfg(not(target_arch = "wasm32"))]
pub fn generate(
    engine: &mut dyn Engine,
    prompt: &[u32],
    n: usize,
    temperature: f32,
    top_k: usize,
    seed: u64,
) -> Result<Vec<u32>, EngineError> {
    let sampling = Sampling {
        n,
        temperature,
        top_k,
        seed,
    };
    match engine.kv_decode() {
        Some(decoder) => {
            let mut decoding = super::decode::Decoding::default();
            sampling.run(prompt, |tokens| {
                wait(decoding.start_next_token(decoder, tokens))
            })
        }
        None => sampling.run(prompt, |tokens| wait(start_next_token(engine, tokens))),
    }
}

/// How many tokens to sample and how.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// New tokens.
    pub n: usize,
    /// 0: the most likely token.
    pub temperature: f32,
    /// 0: the whole vocabulary.
    pub top_k: usize,
    pub seed: u64,
}

impl Sampling {
    /// The new tokens after `prompt` (non-empty), each from the logits `next` gives for the
    /// tokens so far.
    pub fn run(
        &self,
        prompt: &[u32],
        mut next: impl FnMut(&[u32]) -> Result<Vec<f32>, EngineError>,
    ) -> Result<Vec<u32>, EngineError> {
        let mut sampler = self.sampler();
        let mut tokens = prompt.to_vec();
        for _ in 0..self.n {
            let logits = next(&tokens)?;
            tokens.push(sampler.next_token(&logits));
        }
        Ok(tokens.split_off(prompt.len()))
    }

    /// The draws one token at a time, for a loop that awaits each token's logits.
    pub fn sampler(&self) -> Sampler {
        use rand_core::SeedableRng;
        Sampler {
            sampling: *self,
            rng: ChaCha8Rng::seed_from_u64(self.seed),
        }
    }
}

/// A sampling's random stream: the same tokens as `Sampling::run` from the same logits.
#[derive(Clone, Debug)]
pub struct Sampler {
    sampling: Sampling,
    rng: ChaCha8Rng,
}

impl Sampler {
    /// The next token from its `logits` `[V]`.
    pub fn next_token(&mut self, logits: &[f32]) -> u32 {
        let Sampling {
            temperature, top_k, ..
        } = self.sampling;
        sample_token(logits, temperature, top_k, &mut self.rng)
    }
}

/// One token from `logits` `[V]`: the most likely at `temperature` 0, else drawn from the
/// softmax at that temperature over the `top_k` most likely (0: all).
pub fn sample_token(logits: &[f32], temperature: f32, top_k: usize, rng: &mut ChaCha8Rng) -> u32 {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    // Descending by logit; ties keep the lower id first, so argmax is deterministic.
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    if temperature <= 0.0 {
        return order[0] as u32;
    }
    if top_k > 0 {
        order.truncate(top_k);
    }
    let max = f64::from(logits[order[0]]);
    let weights: Vec<f64> = order
        .iter()
        .map(|&i| ((f64::from(logits[i]) - max) / f64::from(temperature)).exp())
        .collect();
    let mut target =
        (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * weights.iter().sum::<f64>();
    for (&i, w) in order.iter().zip(&weights) {
        if target < *w {
            return i as u32;
        }
        target -= w;
    }
    order[order.len() - 1] as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn greedy_and_top_k_sampling() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let logits = [0.0, 3.0, 1.0, 3.0];
        assert_eq!(
            sample_token(&logits, 0.0, 0, &mut rng),
            1,
            "argmax, lowest id on ties"
        );
        // top_k 2 keeps ids 1 and 3 only.
        for _ in 0..100 {
            let token = sample_token(&logits, 1.0, 2, &mut rng);
            assert!(token == 1 || token == 3);
        }
        // top_k 1 is greedy whatever the temperature.
        assert_eq!(sample_token(&logits, 5.0, 1, &mut rng), 1);
    }
}
