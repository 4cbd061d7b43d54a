//! Generation with a KV cache against generation without it on the CPU engine: at temperature
//! 0 the same tokens, and every step's logits within a stated tolerance, for every position
//! encoding, MHA / GQA / MQA, the attention patterns, soft-capping, a parallel block, a prompt
//! longer than the context and generation past it (the re-prefill); and the cache's measured
//! size against the accounting.
#![cfg(not(target_arch = "wasm32"))]

use archlab::contract::engine::{now, sample_token, start_next_token};
use archlab::contract::{Decoding, Engine, KvDecode};
use archlab::cpu::CpuEngine;
use archlab::model::{AttentionPattern, BlockLayout, LayerPattern, ModelConfig, Position};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A small model whose attention is far from uniform (init σ 0.3), so a key at the wrong
/// position or a mask gone wrong moves the logits by much more than the tolerance.
fn base() -> ModelConfig {
    ModelConfig {
        vocab_size: 13,
        context_len: 8,
        d_model: 16,
        n_layers: 2,
        n_heads: 4,
        n_kv_heads: 4,
        init_std: 0.3,
        ..ModelConfig::DEFAULT
    }
}

/// Every setting the decode places differently from a whole-window forward.
fn configs() -> Vec<(&'static str, ModelConfig)> {
    let with = |f: fn(&mut ModelConfig)| {
        let mut c = base();
        f(&mut c);
        c
    };
    vec![
        ("rope", base()),
        ("learned", with(|c| c.position = Position::Learned)),
        ("sinusoidal", with(|c| c.position = Position::Sinusoidal)),
        ("alibi", with(|c| c.position = Position::Alibi)),
        ("no position", with(|c| c.position = Position::None)),
        ("gqa", with(|c| c.n_kv_heads = 2)),
        ("mqa", with(|c| c.n_kv_heads = 1)),
        (
            "sliding window",
            with(|c| c.attention = AttentionPattern::SlidingWindow { window: 3 }),
        ),
        (
            "sparse, global every 2nd layer",
            with(|c| {
                c.attention = AttentionPattern::Sparse {
                    local: 2,
                    stride: 3,
                };
                c.layer_pattern = Some(LayerPattern::GlobalEvery(2));
            }),
        ),
        (
            "soft-caps, qk-norm",
            with(|c| {
                c.attn_logit_softcap = Some(2.0);
                c.final_logit_softcap = Some(3.0);
                c.qk_norm = true;
            }),
        ),
        ("parallel block", with(|c| c.block = BlockLayout::Parallel)),
    ]
}

/// Largest |cached - uncached| logit allowed. Both paths store every activation in f32 and
/// differ only in summation order (one row against the whole window; f64 dot products in the
/// one-query attention against f32 matrix products), a few units of f32 rounding on logits of
/// order 1 (measured: at most 2.2e-6); a key at a wrong position changes them by 1e-2 or more.
const TOLERANCE: f32 = 1e-5;

fn random_tokens(seed: u64, n: usize, vocab: usize) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| (rng.next_u32() as usize % vocab) as u32)
        .collect()
}

/// Generates `n` tokens greedily both ways, checking each step; returns the largest logit
/// difference seen.
fn compare(name: &str, config: &ModelConfig, prompt: &[u32], n: usize) -> f32 {
    let mut engine = CpuEngine::new(config, 7).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut decoding = Decoding::default();
    let mut tokens = prompt.to_vec();
    let mut worst = 0.0f32;
    for step in 0..n {
        let uncached = now(&mut start_next_token(&mut engine, &tokens))
            .unwrap()
            .unwrap();
        let cached = now(&mut decoding.start_next_token(&mut engine, &tokens))
            .unwrap()
            .unwrap();
        for (a, b) in cached.iter().zip(&uncached) {
            let diff = (a - b).abs();
            assert!(
                diff <= TOLERANCE,
                "{name}, step {step} ({} tokens): cached {a} vs uncached {b}",
                tokens.len()
            );
            worst = worst.max(diff);
        }
        let (next, again) = (
            sample_token(&cached, 0.0, 0, &mut rng),
            sample_token(&uncached, 0.0, 0, &mut rng),
        );
        assert_eq!(next, again, "{name}, step {step}: the greedy tokens differ");
        tokens.push(next);
    }
    worst
}

#[test]
fn cached_generation_equals_uncached_on_the_cpu_engine() {
    for (name, config) in configs() {
        // 3-token prompt, 10 new tokens: the cache fills at 8, then re-prefills each token.
        let short = random_tokens(1, 3, config.vocab_size);
        let worst = compare(name, &config, &short, 10);
        // A prompt longer than the context: the last 8 tokens prefill.
        let long = random_tokens(2, 11, config.vocab_size);
        let worst = worst.max(compare(name, &config, &long, 3));
        eprintln!("{name}: largest logit difference {worst:.2e}");
    }
}

/// A decode that dropped the cache or read it at the wrong positions would still agree with
/// itself; this checks the test above can fail: RoPE at position 0 for every token.
#[test]
fn a_wrong_position_is_caught_by_the_tolerance() {
    let config = base();
    let mut engine = CpuEngine::new(&config, 7).unwrap();
    let prompt = random_tokens(1, 4, config.vocab_size);
    let mut decoding = Decoding::default();
    now(&mut decoding.start_next_token(&mut engine, &prompt))
        .unwrap()
        .unwrap();
    // The last prompt token again at position 4 (cached) and at position 0 (fresh prefill).
    let mut longer = prompt.clone();
    longer.push(prompt[3]);
    let at_four = now(&mut decoding.start_next_token(&mut engine, &longer))
        .unwrap()
        .unwrap();
    let at_zero = now(&mut engine.start_prefill(&[prompt[3]]))
        .unwrap()
        .unwrap();
    let largest = at_four
        .iter()
        .zip(&at_zero)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(largest > 100.0 * TOLERANCE, "difference {largest}");
}

#[test]
fn the_cache_size_follows_the_kv_heads() {
    let mut sizes = Vec::new();
    for n_kv_heads in [4, 2, 1] {
        let config = ModelConfig {
            n_kv_heads,
            ..base()
        };
        let mut engine = CpuEngine::new(&config, 7).unwrap();
        assert_eq!(
            engine.kv_cache_bytes(),
            0,
            "nothing before the first prefill"
        );
        let decoder = engine.kv_decode().expect("the CPU engine caches");
        now(&mut decoder.start_prefill(&[1, 2, 3]))
            .unwrap()
            .unwrap();
        let bytes = decoder.kv_cache_bytes();
        // K and V, per layer and KV head, d_head values for each of the context's positions.
        let (layers, d_head, positions) = (2, 16 / 4, 8);
        assert_eq!(bytes, 2 * layers * n_kv_heads * d_head * positions * 4);
        assert_eq!(
            bytes,
            config.kv_cache_bytes_per_token() * config.context_len
        );
        sizes.push(bytes);
    }
    // MHA, GQA (2 KV heads of 4), MQA: 2 KiB, 1 KiB, 512 bytes.
    assert_eq!(sizes, [2048, 1024, 512]);
}
