//! `shaders/embedding.wgsl` and `shaders/position.wgsl` against `cpu::position`: the token
//! embedding with a learned, a sinusoidal or no position table, its backward without atomics,
//! and RoPE forward and backward.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use archlab::cpu::position::{
    add_sinusoidal, embedding_backward, embedding_forward, rope_backward, rope_forward,
};
use archlab::gpu::embedding::{
    embedding_backward_positions, embedding_backward_tokens, embedding_forward as gpu_forward,
    EmbeddingShape,
};
use archlab::gpu::position::{rope, rope_table, sinusoidal_table, Direction, RopeShape};
use common::{assert_within, gamma, read, run, uniform, U};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Table {
    Learned,
    Sinusoidal,
    None,
}

#[test]
fn embedding_matches_cpu_forward_and_backward() {
    let Some(ctx) = common::gpu() else { return };
    // B = 3, T = 7, C = 10, V = 13: N*C = 210 and V*C = 130, not multiples of 256.
    let (batch, seq, c, vocab) = (3, 7, 10, 13);
    let s = EmbeddingShape {
        rows: batch * seq,
        seq,
        c,
        vocab,
    };
    // Tokens repeat (21 draws from 13), so gradient rows sum several contributions.
    let tokens: Vec<u32> = (0..batch * seq)
        .map(|n| (n as u32 * 7 + 3) % vocab as u32)
        .collect();
    let tok_emb = uniform(1, vocab * c, 1.0);
    let learned = uniform(2, seq * c, 1.0);
    let dout = uniform(3, batch * seq * c, 1.0);
    let dtok0 = uniform(4, vocab * c, 1.0);
    let dpos0 = uniform(5, seq * c, 1.0);
    // Without a table, the token embedding scaled by √C (Gemma's scaled embeddings).
    let sqrt_c = (c as f64).sqrt();
    let tables = [
        (Table::Learned, 1.0),
        (Table::Sinusoidal, 1.0),
        (Table::None, sqrt_c),
    ];
    for (table, scale) in tables {
        let mut cpu_out = vec![0.0f32; batch * seq * c];
        let pos = (table == Table::Learned).then_some(&learned[..]);
        embedding_forward(&mut cpu_out, &tokens, &tok_emb, pos, seq, scale);
        if table == Table::Sinusoidal {
            add_sinusoidal(&mut cpu_out, 0, seq, c);
        }
        let gpu_table = match table {
            Table::Learned => Some(learned.clone()),
            Table::Sinusoidal => Some(sinusoidal_table(seq, c)),
            Table::None => None,
        };
        let b_tokens = ctx.storage_buffer("tokens", &tokens);
        let b_tok = ctx.storage_buffer("tok_emb", &tok_emb);
        let b_table = gpu_table.map(|t| ctx.storage_buffer("pos", &t));
        let b_out = ctx.zeros("out", batch * seq * c);
        let kernel = gpu_forward(
            &ctx,
            "embedding",
            s,
            scale as f32,
            (&b_tokens).into(),
            (&b_tok).into(),
            b_table.as_ref().map(Into::into),
            (&b_out).into(),
        );
        run(&ctx, &[&kernel]);
        // One f32 add of a table value, itself rounded once from f64 (the sinusoidal one): the
        // CPU rounds the sum once (twice with the sinusoidal table), so 2u of |tok| + |pos|.
        let bound = |i: usize| 2.0 * U * (f64::from(cpu_out[i].abs()) + 2.0);
        assert_within(
            &format!("{table:?} out"),
            &read(&ctx, &b_out),
            &cpu_out,
            bound,
        );
    }

    // Without a padding token, then with token 3 (which occurs) as PyTorch's padding_idx and
    // the tokens' gradients scaled by √C.
    for (padding, scale) in [(None, 1.0), (Some(3), sqrt_c)] {
        let (mut cpu_dtok, mut cpu_dpos) = (dtok0.clone(), dpos0.clone());
        embedding_backward(
            &mut cpu_dtok,
            Some(&mut cpu_dpos),
            &dout,
            &tokens,
            seq,
            padding,
            scale,
        );
        let b_tokens = ctx.storage_buffer("tokens", &tokens);
        let b_dout = ctx.storage_buffer("dout", &dout);
        let b_dtok = ctx.storage_buffer("dtok", &dtok0);
        let b_dpos = ctx.storage_buffer("dpos", &dpos0);
        let kernels = [
            embedding_backward_tokens(
                &ctx,
                "dtok",
                s,
                scale as f32,
                (&b_tokens).into(),
                (&b_dout).into(),
                (&b_dtok).into(),
                padding,
            ),
            embedding_backward_positions(&ctx, "dpos", s, (&b_dout).into(), (&b_dpos).into()),
        ];
        run(&ctx, &[&kernels[0], &kernels[1]]);
        // Each gradient element sums at most N = 21 terms of size <= scale onto its initial
        // value, in f32 in both engines: gamma(N + 2) of N scale + 1 (one more rounding for
        // the scale's product). (The token kernel walks rows in the
        // CPU's order, so it agrees exactly; the bound is what any order must meet.)
        let bound = |_| gamma(batch * seq + 2) * ((batch * seq) as f64 * scale + 1.0);
        let gpu_dtok = read(&ctx, &b_dtok);
        assert_within("dtok", &gpu_dtok, &cpu_dtok, bound);
        assert_within("dpos", &read(&ctx, &b_dpos), &cpu_dpos, bound);
        if padding.is_some() {
            // The padding row keeps its initial value exactly.
            assert_eq!(gpu_dtok[3 * c..4 * c], dtok0[3 * c..4 * c]);
        }
    }
}

#[test]
fn rope_matches_cpu_forward_and_backward() {
    let Some(ctx) = common::gpu() else { return };
    // (B, T, heads, D): query-like and key-like head counts, D not a power of two; the 2×33
    // rows reach angles of 32 radians at theta 10 for the first pair.
    for (case, (batch, seq, heads, d)) in [(2, 5, 3, 6), (2, 33, 1, 16), (1, 9, 4, 2)]
        .into_iter()
        .enumerate()
    {
        let theta = [10_000.0, 10.0, 500.0][case];
        let n = batch * seq * heads * d;
        let x = uniform(case as u64, n, 1.0);
        let (mut cpu_fwd, mut cpu_bwd) = (x.clone(), x.clone());
        rope_forward(&mut cpu_fwd, seq, heads, d, theta);
        rope_backward(&mut cpu_bwd, seq, heads, d, theta);
        let s = RopeShape {
            rows: batch * seq,
            seq,
            heads,
            d_head: d,
        };
        let table = ctx.storage_buffer("table", &rope_table(seq, d, theta));
        let b_x = ctx.storage_buffer("x", &x);
        let (b_fwd, b_bwd) = (ctx.zeros("rotated", n), ctx.zeros("dx", n));
        let kernels = [
            rope(
                &ctx,
                "rope",
                s,
                Direction::Forward,
                (&table).into(),
                (&b_x).into(),
                (&b_fwd).into(),
            ),
            rope(
                &ctx,
                "rope.back",
                s,
                Direction::Backward,
                (&table).into(),
                (&b_x).into(),
                (&b_bwd).into(),
            ),
        ];
        run(&ctx, &[&kernels[0], &kernels[1]]);
        // a cos - b sin with cos and sin rounded once from f64: 2 products and a sum, so
        // gamma(4) (|a| + |b|) <= gamma(4) * 2.
        let bound = |_| gamma(4) * 2.0;
        let name = format!("rope {batch}x{seq}x{heads}x{d}");
        assert_within(
            &format!("{name} forward"),
            &read(&ctx, &b_fwd),
            &cpu_fwd,
            bound,
        );
        assert_within(
            &format!("{name} backward"),
            &read(&ctx, &b_bwd),
            &cpu_bwd,
            bound,
        );
    }
}
