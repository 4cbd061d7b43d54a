//! The WGSL matmul against the CPU reference, through wgpu (lavapipe where there is no GPU).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use archlab::contract::matmul::MatmulSpec;
use archlab::lab::kernel_check::check_matmul;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Every variant (transposes, bias, accumulation) on random shapes, most of them not multiples
/// of the 64×64×16 tile, some smaller than one tile and some spanning several.
#[test]
fn matmul_matches_cpu_on_random_shapes() {
    let Some(ctx) = common::gpu() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for variant in 0..16u32 {
        let mut dim = |max: u32| 1 + (rng.next_u32() % max) as usize;
        let spec = MatmulSpec {
            m: dim(150),
            n: dim(150),
            k: dim(200),
            trans_a: variant & 1 != 0,
            trans_b: variant & 2 != 0,
            accumulate: variant & 4 != 0,
        };
        let with_bias = variant & 8 != 0;
        let check = pollster::block_on(check_matmul(&ctx, spec, with_bias, &mut rng)).unwrap();
        // The tolerance is each element's f32 rounding bound γ(K+3)·Σ|terms|; its derivation is
        // on `check_matmul`. A ratio above 1 is an error no summation order explains.
        assert!(
            check.passed(),
            "{}: max error {:e} is {:.2} times its rounding bound",
            check.label,
            check.max_abs_error,
            check.worst_error_to_bound
        );
    }
}

/// Shapes at the edges of the tiling: exact multiples, one past, and a long K.
#[test]
fn matmul_matches_cpu_at_tile_edges() {
    let Some(ctx) = common::gpu() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (m, n, k) in [
        (64, 64, 16),
        (65, 64, 16),
        (64, 65, 17),
        (128, 1, 1000),
        (1, 300, 3),
    ] {
        let spec = MatmulSpec {
            m,
            n,
            k,
            trans_a: false,
            trans_b: true,
            accumulate: false,
        };
        let check = pollster::block_on(check_matmul(&ctx, spec, true, &mut rng)).unwrap();
        // Tolerance: the rounding bound of `check_matmul`, as above.
        assert!(check.passed(), "{check:?}");
    }
}
