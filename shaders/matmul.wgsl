// Tiled matrix product: C[M, N] (+)= op(A)[M, K] · op(B)[K, N] (+ bias[N]).
//
// Layout: every matrix is row-major f32, densely packed.
//   A is stored as [M, K], or as [K, M] when TRANS_A (then op(A) = Aᵀ);
//   B is stored as [K, N], or as [N, K] when TRANS_B (then op(B) = Bᵀ).
// Training needs all three forms: forward y = x·Wᵀ (TRANS_B), and backward dx = dy·W and
// dW += dyᵀ·x (TRANS_A, ACCUMULATE so gradients add up across uses).
//
// Two entry points, one algorithm at two sizes (the launcher picks one per shape):
//   `matmul`:       16×16 invocations, a 128×128 tile of C, K in steps of 8;
//   `matmul_small`:  8×8 invocations,  a 64×64 tile of C,   K in steps of 16.
// Each invocation owns an 8×8 block of C in 16 vec4 registers: rows {4ty..4ty+3} and the same
// rows half a tile further down, times columns {4tx..4tx+3} and half a tile further right (so
// neighbouring invocations read neighbouring vec4s of workgroup memory). Per K-step the tiles
// of op(A) and op(B) are staged in workgroup memory as vec4s of 4 rows (A) or 4 columns (B),
// indexed by k first: tile[kk][q] holds rows (or columns) 4q..4q+3 at k = k0 + kk. Each step of
// kk then reads 4 vec4s and does 16 vec4 FMAs (64 multiply-adds): 8 flops per float read.
// Workgroup memory: 2 × 8×32 vec4 (8 KiB) for `matmul`, 2 × 16×16 vec4 (8 KiB) for
// `matmul_small`, within WebGPU's 16 KiB default even counted together.
// Staging loads are scalar (the transposes and any K or N may be unaligned) but ordered so
// that neighbouring invocations read neighbouring addresses of A and B in every layout.
// Loads outside the matrices read zero and stores outside C are skipped, so any M, N, K works.

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

// `matmul`: tile edge, K-step, vec4s per tile row.
const TILE: u32 = 128u;
const TILE_K: u32 = 8u;
const QUADS: u32 = 32u;
// `matmul_small`: the same.
const SMALL_TILE: u32 = 64u;
const SMALL_TILE_K: u32 = 16u;
const SMALL_QUADS: u32 = 16u;

var<workgroup> a_tile: array<array<vec4<f32>, QUADS>, TILE_K>;
var<workgroup> b_tile: array<array<vec4<f32>, QUADS>, TILE_K>;
var<workgroup> a_small: array<array<vec4<f32>, SMALL_QUADS>, SMALL_TILE_K>;
var<workgroup> b_small: array<array<vec4<f32>, SMALL_QUADS>, SMALL_TILE_K>;

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

// op(A) rows row..row+3 at k.
fn load_a4(row: u32, k: u32) -> vec4<f32> {
    return vec4<f32>(load_a(row, k), load_a(row + 1u, k), load_a(row + 2u, k), load_a(row + 3u, k));
}

// op(B) columns col..col+3 at k.
fn load_b4(k: u32, col: u32) -> vec4<f32> {
    return vec4<f32>(load_b(k, col), load_b(k, col + 1u), load_b(k, col + 2u), load_b(k, col + 3u));
}

// The staging slot (quad q, kk) of element e of a tile with `quads` vec4s per k and K-step
// `tile_k`, ordered so that consecutive e walk the stored matrix's contiguous dimension: along
// k when it is contiguous (`along_k`), along rows or columns otherwise.
fn slot(e: u32, quads: u32, tile_k: u32, along_k: bool) -> vec2<u32> {
    if (along_k) {
        return vec2<u32>(e / tile_k, e % tile_k);
    }
    return vec2<u32>(e % quads, e / quads);
}

// acc += op(A) rows (a0, a1) ⊗ op(B) columns (b0, b1) at one k.
fn outer(acc: ptr<function, array<vec4<f32>, 16>>, a0: vec4<f32>, a1: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>) {
    (*acc)[0] = fma(vec4<f32>(a0.x), b0, (*acc)[0]);
    (*acc)[1] = fma(vec4<f32>(a0.x), b1, (*acc)[1]);
    (*acc)[2] = fma(vec4<f32>(a0.y), b0, (*acc)[2]);
    (*acc)[3] = fma(vec4<f32>(a0.y), b1, (*acc)[3]);
    (*acc)[4] = fma(vec4<f32>(a0.z), b0, (*acc)[4]);
    (*acc)[5] = fma(vec4<f32>(a0.z), b1, (*acc)[5]);
    (*acc)[6] = fma(vec4<f32>(a0.w), b0, (*acc)[6]);
    (*acc)[7] = fma(vec4<f32>(a0.w), b1, (*acc)[7]);
    (*acc)[8] = fma(vec4<f32>(a1.x), b0, (*acc)[8]);
    (*acc)[9] = fma(vec4<f32>(a1.x), b1, (*acc)[9]);
    (*acc)[10] = fma(vec4<f32>(a1.y), b0, (*acc)[10]);
    (*acc)[11] = fma(vec4<f32>(a1.y), b1, (*acc)[11]);
    (*acc)[12] = fma(vec4<f32>(a1.z), b0, (*acc)[12]);
    (*acc)[13] = fma(vec4<f32>(a1.z), b1, (*acc)[13]);
    (*acc)[14] = fma(vec4<f32>(a1.w), b0, (*acc)[14]);
    (*acc)[15] = fma(vec4<f32>(a1.w), b1, (*acc)[15]);
}

fn store(row: u32, col: u32, product: f32) {
    if (row >= dims.m || col >= dims.n) {
        return;
    }
    var value = product;
    if (HAS_BIAS) {
        value += bias[col];
    }
    if (ACCUMULATE) {
        value += c[row * dims.n + col];
    }
    c[row * dims.n + col] = value;
}

fn store4(row: u32, col: u32, product: vec4<f32>) {
    store(row, col, product.x);
    store(row, col + 1u, product.y);
    store(row, col + 2u, product.z);
    store(row, col + 3u, product.w);
}

// Writes an invocation's 8×8 block: `row`, `col` its first element, `half` half the tile edge.
fn store_block(acc: ptr<function, array<vec4<f32>, 16>>, row: u32, col: u32, half: u32) {
    for (var i = 0u; i < 8u; i++) {
        let r = row + (i / 4u) * half + i % 4u;
        store4(r, col, (*acc)[2u * i]);
        store4(r, col + half, (*acc)[2u * i + 1u]);
    }
}

@compute @workgroup_size(16, 16)
fn matmul(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) flat: u32,
) {
    let row0 = group.y * TILE;
    let col0 = group.x * TILE;
    var acc: array<vec4<f32>, 16>;
    // 256 invocations stage 32×8 vec4s of each tile: one each.
    let sa = slot(flat, QUADS, TILE_K, !TRANS_A);
    let sb = slot(flat, QUADS, TILE_K, TRANS_B);

    for (var k0 = 0u; k0 < dims.k; k0 += TILE_K) {
        a_tile[sa.y][sa.x] = load_a4(row0 + 4u * sa.x, k0 + sa.y);
        b_tile[sb.y][sb.x] = load_b4(k0 + sb.y, col0 + 4u * sb.x);
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            outer(
                &acc,
                a_tile[kk][local.y],
                a_tile[kk][local.y + QUADS / 2u],
                b_tile[kk][local.x],
                b_tile[kk][local.x + QUADS / 2u],
            );
        }
        workgroupBarrier();
    }
    store_block(&acc, row0 + 4u * local.y, col0 + 4u * local.x, TILE / 2u);
}

@compute @workgroup_size(8, 8)
fn matmul_small(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) flat: u32,
) {
    let row0 = group.y * SMALL_TILE;
    let col0 = group.x * SMALL_TILE;
    var acc: array<vec4<f32>, 16>;

    for (var k0 = 0u; k0 < dims.k; k0 += SMALL_TILE_K) {
        // 64 invocations stage 16×16 vec4s of each tile: four each.
        for (var p = 0u; p < 4u; p++) {
            let e = flat + 64u * p;
            let sa = slot(e, SMALL_QUADS, SMALL_TILE_K, !TRANS_A);
            a_small[sa.y][sa.x] = load_a4(row0 + 4u * sa.x, k0 + sa.y);
            let sb = slot(e, SMALL_QUADS, SMALL_TILE_K, TRANS_B);
            b_small[sb.y][sb.x] = load_b4(k0 + sb.y, col0 + 4u * sb.x);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < SMALL_TILE_K; kk++) {
            outer(
                &acc,
                a_small[kk][local.y],
                a_small[kk][local.y + SMALL_QUADS / 2u],
                b_small[kk][local.x],
                b_small[kk][local.x + SMALL_QUADS / 2u],
            );
        }
        workgroupBarrier();
    }
    store_block(&acc, row0 + 4u * local.y, col0 + 4u * local.x, SMALL_TILE / 2u);
}
