// Tiled matrix product: C[M, N] (+)= op(A)[M, K] · op(B)[K, N] (+ bias[N]).
//
// Layout: every matrix is row-major f32, densely packed.
//   A is stored as [M, K], or as [K, M] when TRANS_A (then op(A) = Aᵀ);
//   B is stored as [K, N], or as [N, K] when TRANS_B (then op(B) = Bᵀ).
// Training needs all three forms: forward y = x·Wᵀ (TRANS_B), and backward dx = dy·W and
// dW += dyᵀ·x (TRANS_A, ACCUMULATE so gradients add up across uses).
//
// Each workgroup of 16×16 invocations computes a 64×64 tile of C; each invocation owns a 4×4
// block of it in registers. K is walked in steps of 16 through two tiles in workgroup memory
// (2 × 64×16 f32 = 8 KiB, within WebGPU's 16 KiB default). Loads outside the matrices read zero
// and stores outside C are skipped, so any M, N, K works.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
// C += product instead of C = product.
override ACCUMULATE: bool = false;

struct Dims {
    m: u32,
    n: u32,
    k: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
// Read only when HAS_BIAS; bind any buffer otherwise.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

const TILE: u32 = 64u;
const TILE_K: u32 = 16u;
const BLOCK: u32 = 4u;

// a_tile[kk][row], b_tile[kk][col]: indexed by k first so each invocation's inner loop reads
// contiguous rows and columns.
var<workgroup> a_tile: array<array<f32, TILE>, TILE_K>;
var<workgroup> b_tile: array<array<f32, TILE>, TILE_K>;

fn load_a(row: u32, kk: u32) -> f32 {
    if (row >= dims.m || kk >= dims.k) {
        return 0.0;
    }
    if (TRANS_A) {
        return a[kk * dims.m + row];
    }
    return a[row * dims.k + kk];
}

fn load_b(kk: u32, col: u32) -> f32 {
    if (kk >= dims.k || col >= dims.n) {
        return 0.0;
    }
    if (TRANS_B) {
        return b[col * dims.k + kk];
    }
    return b[kk * dims.n + col];
}

@compute @workgroup_size(16, 16)
fn matmul(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) flat: u32,
) {
    let row0 = group.y * TILE;
    let col0 = group.x * TILE;
    var acc: array<array<f32, BLOCK>, BLOCK>;

    for (var k0 = 0u; k0 < dims.k; k0 += TILE_K) {
        // 256 invocations load 64×16 elements of each tile: 4 each.
        for (var i = 0u; i < 4u; i++) {
            let e = flat + i * 256u;
            let r = e / TILE_K;
            let kk = e % TILE_K;
            a_tile[kk][r] = load_a(row0 + r, k0 + kk);
            let kb = e / TILE;
            let cb = e % TILE;
            b_tile[kb][cb] = load_b(k0 + kb, col0 + cb);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            var a_reg: array<f32, BLOCK>;
            var b_reg: array<f32, BLOCK>;
            for (var i = 0u; i < BLOCK; i++) {
                a_reg[i] = a_tile[kk][local.y * BLOCK + i];
                b_reg[i] = b_tile[kk][local.x * BLOCK + i];
            }
            for (var i = 0u; i < BLOCK; i++) {
                for (var j = 0u; j < BLOCK; j++) {
                    acc[i][j] = fma(a_reg[i], b_reg[j], acc[i][j]);
                }
            }
        }
        workgroupBarrier();
    }

    for (var i = 0u; i < BLOCK; i++) {
        let row = row0 + local.y * BLOCK + i;
        if (row >= dims.m) {
            continue;
        }
        for (var j = 0u; j < BLOCK; j++) {
            let col = col0 + local.x * BLOCK + j;
            if (col >= dims.n) {
                continue;
            }
            var value = acc[i][j];
            if (HAS_BIAS) {
                value += bias[col];
            }
            if (ACCUMULATE) {
                value += c[row * dims.n + col];
            }
            c[row * dims.n + col] = value;
        }
    }
}
