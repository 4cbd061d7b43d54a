// Rotary position embedding (RoPE), Hugging Face "rotate halves" layout, forward and backward.
//
// Layout: inp, out [N, heads, D] with N = B*T rows, row n at position t = n % T;
// table [T, D/2, 2]: (cos, sin) of angle t * theta^(-2i/D), computed once on the CPU in f64
// (`gpu::position::rope_table`), so no f32 angle error grows with t.
// One invocation per pair (n, head, i < D/2): out's (x[i], x[i + D/2]) is inp's turned by
// +angle (forward) or by -angle (backward: a rotation's transpose is its inverse, applied to the
// gradient). Out of place, so the un-rotated q and k stay for QK-norm's backward.
//
// The sinusoidal table of the 2017 Transformer is added by `embedding.wgsl` as a constant
// position table (`gpu::position::sinusoidal_table`).

struct Dims {
    rows: u32,
    seq: u32,
    heads: u32,
    d_head: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read> inp: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn rotate(e: u32, direction: f32) {
    let half = dims.d_head / 2u;
    if (e >= dims.rows * dims.heads * half) {
        return;
    }
    let i = e % half;
    let head_row = e / half;
    let t = (head_row / dims.heads) % dims.seq;
    let base = head_row * dims.d_head;
    let cos_t = table[(t * half + i) * 2u];
    let sin_t = direction * table[(t * half + i) * 2u + 1u];
    let a = inp[base + i];
    let b = inp[base + i + half];
    out[base + i] = a * cos_t - b * sin_t;
    out[base + i + half] = a * sin_t + b * cos_t;
}

@compute @workgroup_size(WG)
fn rope_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    rotate((wid.x + wid.y * nwg.x) * WG + lid, 1.0);
}

@compute @workgroup_size(WG)
fn rope_backward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    rotate((wid.x + wid.y * nwg.x) * WG + lid, -1.0);
}
