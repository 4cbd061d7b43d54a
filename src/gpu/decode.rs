//! The GPU engine's generation with a KV cache (`contract::KvDecode`): per layer a keys and a
//! values buffer `[context_len, n_kv_heads, d_head]`, made at the first prefill; a plan per
//! number of new tokens (the prompt's or the context's for a prefill, one for each decoded
//! token), built by `graph::Builder::decoding` from the training forward's own launches. A run
//! writes its tokens, its position rows and its first position, is one submit, and reads back
//! the logits of its last token only.

use std::collections::HashMap;

use super::attention::set_start;
use super::engine::{values, GpuEngine};
use super::graph::{attention_shape, Builder, DecodeLaunches};
use super::position::{rope_table, sinusoidal_table};
use super::GpuContext;
use crate::contract::{KvDecode, Pending};
use crate::model::{ModelConfig, Position};

/// The keys and values of the positions decoded so far: one buffer each per layer.
pub(super) struct KvCache {
    /// `[context_len, n_kv_heads, d_head]` per layer, after QK-norm and RoPE.
    pub(super) keys: Vec<wgpu::Buffer>,
    /// `[context_len, n_kv_heads, d_head]` per layer.
    pub(super) values: Vec<wgpu::Buffer>,
}

impl KvCache {
    fn new(ctx: &GpuContext, config: &ModelConfig) -> Self {
        let len = config.context_len * config.n_kv_heads * config.d_head();
        let per_layer = |what: &str| {
            (0..config.n_layers)
                .map(|l| ctx.zeros(&format!("L{l}.kv_cache.{what}"), len))
                .collect()
        };
        Self {
            keys: per_layer("keys"),
            values: per_layer("values"),
        }
    }

    /// Bytes of the buffers, as wgpu allocated them.
    fn bytes(&self) -> usize {
        self.keys
            .iter()
            .chain(&self.values)
            .map(|buffer| buffer.size() as usize)
            .sum()
    }
}

/// The launches of `seq` new tokens and where their tokens go in and their logits come out.
struct DecodePlan {
    /// `[seq]` u32.
    tokens: wgpu::Buffer,
    /// `[seq, V]`.
    logits: wgpu::Buffer,
    launches: DecodeLaunches,
}

/// A GPU engine's decode: the cache, the positions it holds, and the plans.
pub(super) struct Decoder {
    cache: KvCache,
    /// Positions the cache holds.
    len: usize,
    /// By number of new tokens: one, and the latest prefill's.
    plans: HashMap<usize, DecodePlan>,
    /// The rows of every position of the context that runs copy theirs from: RoPE's table
    /// `[context_len, D/2, 2]` or the sinusoidal one `[context_len, C]` (empty for the others).
    position_rows: Vec<f32>,
}

impl Decoder {
    fn new(ctx: &GpuContext, config: &ModelConfig) -> Self {
        let context = config.context_len;
        let position_rows = match config.position {
            Position::Rope => rope_table(context, config.d_head(), f64::from(config.rope_theta)),
            Position::Sinusoidal => sinusoidal_table(context, config.d_model),
            Position::Learned | Position::Alibi | Position::None => Vec::new(),
        };
        Self {
            cache: KvCache::new(ctx, config),
            len: 0,
            plans: HashMap::new(),
            position_rows,
        }
    }
}

impl GpuEngine {
    /// Runs `tokens` at positions `start..` after the `start` the cache holds, appending their
    /// keys and values, and reads the logits `[V]` after the last of them.
    fn decode_run(&mut self, tokens: &[u32], start: usize) -> Pending<Vec<f32>> {
        let (ctx, config, layout) = (&self.ctx, &self.config, &self.layout);
        let (seq, c, v) = (tokens.len(), config.d_model, config.vocab_size);
        assert!(
            seq > 0 && start + seq <= config.context_len,
            "{start} cached and {seq} new positions exceed context_len"
        );
        let decoder = self
            .decoder
            .get_or_insert_with(|| Decoder::new(ctx, config));
        if !decoder.plans.contains_key(&seq) {
            decoder.plans.retain(|&n, _| n == 1);
            let mut b = Builder::decoding(
                ctx,
                config,
                layout,
                &self.bufs.params,
                &self.bufs.grads,
                seq,
                &decoder.cache,
            );
            let (tokens, _, _, _, _, logits) = b.logits_forward();
            let plan = DecodePlan {
                tokens,
                logits,
                launches: b.finish_decoding(),
            };
            decoder.plans.insert(seq, plan);
        }
        let plan = &decoder.plans[&seq];
        let launches = &plan.launches;
        ctx.queue
            .write_buffer(&plan.tokens, 0, bytemuck::cast_slice(tokens));
        let shape = attention_shape(config, 1, seq);
        for &i in &launches.start_kernels {
            set_start(ctx, &launches.kernels[i], shape, start);
        }
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("decode"),
            });
        // The positions' rows: RoPE's angles, the embedding's table at start.., or the learned
        // table's rows copied from the parameters.
        let rows_of = |table: &Option<wgpu::Buffer>, width: usize| {
            let table = table
                .as_ref()
                .expect("a plan with this position encoding's rows");
            let rows = &decoder.position_rows[start * width..(start + seq) * width];
            ctx.queue.write_buffer(table, 0, bytemuck::cast_slice(rows));
        };
        match config.position {
            Position::Rope => rows_of(&launches.rope_table, config.d_head()),
            Position::Sinusoidal => rows_of(&launches.embedding_table, c),
            Position::Learned => {
                let table = launches.embedding_table.as_ref().expect("learned rows");
                let pos_emb = &layout.tensors[layout.pos_emb.expect("a learned table")];
                let float = std::mem::size_of::<f32>() as u64;
                let from = (pos_emb.offset + start * c) as u64 * float;
                let bytes = (seq * c) as u64 * float;
                encoder.copy_buffer_to_buffer(&self.bufs.params, from, table, 0, bytes);
            }
            Position::Alibi | Position::None => {}
        }
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("decode"),
                timestamp_writes: None,
            });
            for kernel in &launches.kernels {
                kernel.encode(&mut pass);
            }
        }
        ctx.queue.submit([encoder.finish()]);
        decoder.len = start + seq;
        let read = ctx.start_read(&plan.logits, (seq - 1) * v..seq * v);
        Box::pin(values(read))
    }
}

impl KvDecode for GpuEngine {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn start_prefill(&mut self, tokens: &[u32]) -> Pending<Vec<f32>> {
        self.decode_run(tokens, 0)
    }

    fn start_decode(&mut self, token: u32) -> Pending<Vec<f32>> {
        let start = self
            .decoder
            .as_ref()
            .expect("a decode follows a prefill")
            .len;
        self.decode_run(&[token], start)
    }

    fn kv_cache_bytes(&self) -> usize {
        self.decoder.as_ref().map_or(0, |d| d.cache.bytes())
    }
}
