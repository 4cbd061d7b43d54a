//! Generation with a KV cache: the prompt runs once (the prefill), then each new token runs
//! alone at the next position, its attention reading the keys and values the engine kept of
//! the positions before it. When the cache holds `context_len` positions the last window is
//! prefilled again, which is what the uncached `start_next_token` runs, so both paths see the
//! same tokens at the same positions.

use super::engine::Pending;
use crate::model::ModelConfig;

/// An engine that decodes with a KV cache: per layer `n_kv_heads · positions · d_head` keys and
/// as many values (laid out as the engine reads them).
pub trait KvDecode {
    /// The architecture.
    fn config(&self) -> &ModelConfig;

    /// Empties the cache, runs `tokens` (1 to `context_len` of them) at positions `0..`, keeps
    /// their keys and values, and reads the logits `[V]` that predict the token after them.
    fn start_prefill(&mut self, tokens: &[u32]) -> Pending<Vec<f32>>;

    /// Runs `token` at the position after those cached (fewer than `context_len`), appends its
    /// keys and values, and reads the logits `[V]` that predict the token after it.
    fn start_decode(&mut self, token: u32) -> Pending<Vec<f32>>;

    /// Bytes allocated for the cached keys and values (0 before the first prefill).
    fn kv_cache_bytes(&self) -> usize;
}

/// Where a cached decode stands: the engine's cache holds `tokens[start..start + len]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decoding {
    start: usize,
    len: usize,
}

impl Decoding {
    /// Starts reading the logits `[V]` after `tokens` (non-empty): one decoded token when
    /// `tokens` extends the cached ones by one and the cache has room, else a prefill of the
    /// last `context_len` tokens (the first call, a full context, other tokens).
    pub fn start_next_token(
        &mut self,
        engine: &mut dyn KvDecode,
        tokens: &[u32],
    ) -> Pending<Vec<f32>> {
        assert!(!tokens.is_empty(), "the next token needs a prompt");
        let context = engine.config().context_len;
        let extends = self.len > 0 && self.start + self.len + 1 == tokens.len();
        if extends && self.len < context {
            self.len += 1;
            return engine.start_decode(tokens[tokens.len() - 1]);
        }
        self.start = tokens.len().saturating_sub(context);
        self.len = tokens.len() - self.start;
        engine.start_prefill(&tokens[self.start..])
    }
}
