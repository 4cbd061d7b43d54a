//! The WGSL matmul against the CPU reference, through wgpu (lavapipe where there is no GPU).
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use archlab::contract::matmul::MatmulSpec;
use archlab::gpu::matmul::MatmulTile;
use archlab::lab::kernel_check::{check_matmul, KernelCheck};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The product of shape `(m, n, k)` in variant `variant` (0..16): bit 0 transposes A, bit 1 B,
/// bit 2 accumulates into C; and bit 3, whether a bias is added.
fn variant_spec((m, n, k): (usize, usize, usize), variant: u32) -> (MatmulSpec, bool) {
    let spec = MatmulSpec {
        m,
        n,
        k,
        trans_a: variant & 1 != 0,
        trans_b: variant & 2 != 0,
        accumulate: variant & 4 != 0,
    };
    (spec, variant & 8 != 0)
}

/// The tolerance is each element's f32 rounding bound γ(K+3)·Σ|terms|; its derivation is on
/// `check_matmul`. A ratio above 1 is an error no summation order explains.
fn assert_within_rounding(check: &KernelCheck) {
    assert!(
        check.passed(),
        "{}: max error {:e} is {:.2} times its rounding bound",
        check.label,
        check.max_abs_error,
        check.worst_error_to_bound
    );
}

/// Every variant (transposes, bias, accumulation) on random shapes, most of them not multiples
/// of the 64×64×16 or 128×128×8 tiles, some smaller than one tile and some spanning several.
#[test]
fn matmul_matches_cpu_on_random_shapes() {
    let Some(ctx) = common::gpu() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for variant in 0..16u32 {
        let mut dim = |max: u32| 1 + (rng.next_u32() % max) as usize;
        let (spec, with_bias) = variant_spec((dim(150), dim(150), dim(200)), variant);
        let check =
            pollster::block_on(check_matmul(&ctx, spec, with_bias, None, &mut rng)).unwrap();
        assert_within_rounding(&check);
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
        let check = pollster::block_on(check_matmul(&ctx, spec, true, None, &mut rng)).unwrap();
        assert_within_rounding(&check);
    }
}

/// Both entry points, every variant, each dimension in turn at the tile edges (1, 7/8/9 and
/// 15/16/17 around the K-steps, 63/64/65, 127/128/129, 257) with the other two awkward.
#[test]
fn both_tiles_match_cpu_at_every_edge() {
    let Some(ctx) = common::gpu() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let edges = [1, 63, 64, 65, 127, 128, 129, 257];
    let k_edges = [1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 127, 257];
    let mut shapes = Vec::new();
    for &v in &edges {
        shapes.push((v, 65, 17));
        shapes.push((127, v, 9));
    }
    for &v in &k_edges {
        shapes.push((129, 63, v));
    }
    for tile in [MatmulTile::Large, MatmulTile::Small] {
        for (i, &(m, n, k)) in shapes.iter().enumerate() {
            // Every shape in each variant would be 16× as long; rotating the variant across the
            // shapes covers each variant at several edges of every dimension.
            for variant in [i as u32 % 16, (i as u32 * 7 + 3) % 16] {
                let (spec, with_bias) = variant_spec((m, n, k), variant);
                let check =
                    pollster::block_on(check_matmul(&ctx, spec, with_bias, Some(tile), &mut rng))
                        .unwrap();
                assert_within_rounding(&check);
            }
        }
    }
}

/// The tile each shape gets: the large one only where it wastes nothing over the small one
/// and still fills 16 workgroups.
#[test]
fn tile_choice() {
    assert_eq!(MatmulTile::for_shape(1024, 64), MatmulTile::Small);
    assert_eq!(MatmulTile::for_shape(1024, 192), MatmulTile::Small);
    assert_eq!(MatmulTile::for_shape(256, 256), MatmulTile::Small);
    assert_eq!(MatmulTile::for_shape(512, 512), MatmulTile::Large);
    assert_eq!(MatmulTile::for_shape(500, 2048), MatmulTile::Large);
    assert_eq!(MatmulTile::for_shape(513, 512), MatmulTile::Small);
}
