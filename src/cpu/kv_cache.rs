//! The keys and values generation keeps between tokens: per layer `[n_kv_heads, context_len,
//! d_head]` each, so MQA and GQA shrink it by `n_heads / n_kv_heads`. Allocated whole at the
//! first prefill, so its size is what a full context needs.

use super::real::{zeros, Real};
use crate::model::ModelConfig;

/// Keys and values of the positions decoded so far, in every layer.
pub struct KvCache<R> {
    /// `[layers, n_kv_heads, context_len, d_head]`, after QK-norm and RoPE.
    keys: Vec<R>,
    /// `[layers, n_kv_heads, context_len, d_head]`.
    values: Vec<R>,
    n_kv_heads: usize,
    context_len: usize,
    d_head: usize,
    /// Positions held, the same in every layer once a forward has passed them all.
    len: usize,
}

impl<R: Real> KvCache<R> {
    /// An empty cache with room for `config.context_len` positions in every layer.
    pub fn new(config: &ModelConfig) -> Self {
        let len = config.n_layers * config.n_kv_heads * config.context_len * config.d_head();
        Self {
            keys: zeros(len),
            values: zeros(len),
            n_kv_heads: config.n_kv_heads,
            context_len: config.context_len,
            d_head: config.d_head(),
            len: 0,
        }
    }

    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no position is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every position; the memory stays allocated.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Bytes allocated for keys and values.
    pub fn bytes(&self) -> usize {
        (self.keys.capacity() + self.values.capacity()) * std::mem::size_of::<R>()
    }

    /// Offset of `(layer, kv head, position 0)`.
    fn head_start(&self, layer: usize, kv: usize) -> usize {
        (layer * self.n_kv_heads + kv) * self.context_len * self.d_head
    }

    /// Writes the keys and values of `n` new positions of `layer` after the ones held; `k` and
    /// `v` are `[n, n_kv_heads, d_head]`. The caller moves `len` on with [`KvCache::advance`]
    /// once every layer has its rows.
    pub fn append(&mut self, layer: usize, k: &[R], v: &[R]) {
        let d = self.d_head;
        let n = k.len() / (self.n_kv_heads * d);
        assert!(
            self.len + n <= self.context_len,
            "the cache holds context_len positions"
        );
        for t in 0..n {
            for kv in 0..self.n_kv_heads {
                let at = self.head_start(layer, kv) + (self.len + t) * d;
                let from = (t * self.n_kv_heads + kv) * d;
                self.keys[at..][..d].copy_from_slice(&k[from..][..d]);
                self.values[at..][..d].copy_from_slice(&v[from..][..d]);
            }
        }
    }

    /// Counts `n` positions appended to every layer.
    pub fn advance(&mut self, n: usize) {
        self.len += n;
    }

    /// The keys and values of `layer`'s KV head `kv` at positions `0..positions`, `[positions,
    /// d_head]` each.
    pub fn head(&self, layer: usize, kv: usize, positions: usize) -> (&[R], &[R]) {
        let start = self.head_start(layer, kv);
        let len = positions * self.d_head;
        (&self.keys[start..][..len], &self.values[start..][..len])
    }
}
